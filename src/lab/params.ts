import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, UsageError } from '../core/errors.js';
import { matching, oneOf, wholeNumber } from '../core/flags.js';
import { NET_RE } from './topology.js';

// What a lab is: its directory, profile name, ports, loopback net and size. Chosen at the first
// `lab up` and kept in <dir>/lab.json, so later commands (and tests) find the same lab again.

/** 'lab': every host of the topology is served. 'fleet': the metadb also holds a region of fleet size (fleet.ts). */
export type LabScale = 'lab' | 'fleet';
export const LAB_SCALES: readonly LabScale[] = ['lab', 'fleet'];

export interface LabParams {
  dir: string;
  name: string;
  port: number;
  net: string;
  sshPort: number;
  ncs: number;
  vms: number;
  scale: LabScale;
}

/** <dir>/lab.json. Field names are stable: tests and scripts read them. */
export interface LabFile {
  version: 1;
  name: string;
  dir: string;
  mariadb_port: number;
  net: string;
  ssh_port: number;
  ncs: number;
  vms: number;
  /** Absent in lab files written before fleet scale existed: 'lab'. */
  scale?: LabScale;
  /** The config file the lab's profile was written to. */
  config: string;
  created_at: string;
}

export const LAB_DEFAULTS = { name: 'lab', port: 13306, net: '127.77', sshPort: 2222, ncs: 12, vms: 40 } as const;
// At least 6 NCs: each zone then has two RDS NCs (a primary–standby pair) and an ECS NC.
// The maxima keep NCs and VMs below the reserved octets of the net (8 + 80 octets < 200).
export const LIMITS = { ncs: { min: 6, max: 2000 }, vms: { min: 0, max: 20000 } } as const;
// A fleet lab serves its first NCs over SSH (enough for a 1000-host fan-out) and keeps the rest of
// the region, VMs included, as metadb rows only. Its metadata-only VMs take the two /16 nets after
// its own (fleet.ts), so its net stops two short of the top.
export const FLEET_DEFAULTS = { ncs: 1000, vms: 0, maxNet: 252 } as const;

/** $XDG_DATA_HOME/rdsctl/lab, else ~/.local/share/rdsctl/lab. */
export function defaultLabDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(env.HOME || os.homedir(), '.local', 'share');
  return path.join(base, 'rdsctl', 'lab');
}

export function labFilePath(dir: string): string {
  return path.join(dir, 'lab.json');
}

export interface ParsedFlags {
  ncs?: number;
  vms?: number;
  port?: number;
  net?: string;
  sshPort?: number;
  name?: string;
  scale?: LabScale;
}

/** The argument parsers of `lab up`'s flags (commander runs them while it parses argv). */
export const LAB_FLAG_PARSERS = {
  ncs: wholeNumber('--ncs', LIMITS.ncs.min, LIMITS.ncs.max),
  vms: wholeNumber('--vms', LIMITS.vms.min, LIMITS.vms.max),
  port: wholeNumber('--port', 1, 65535),
  sshPort: wholeNumber('--ssh-port', 1, 65535),
  net: (v: string): string => {
    const m = NET_RE.exec(v);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 254) throw new UsageError(`--net ${v}: expected 127.X with X from 1 to 254 (the lab uses 127.X.0.0/16)`);
    return v;
  },
  name: matching('--name', /^[A-Za-z0-9_.-]{1,64}$/, 'a profile name is 1-64 letters, digits, _ . -'),
  scale: oneOf('--scale', LAB_SCALES),
} as const;

/** What no one flag can check alone: the flags that do not combine. Returns the set flags only. */
export function checkLabFlags(f: ParsedFlags): ParsedFlags {
  const out: ParsedFlags = { ...f };
  for (const k of Object.keys(out) as Array<keyof ParsedFlags>) if (out[k] === undefined) delete out[k];
  if (out.scale === 'fleet') {
    if (out.vms) throw new UsageError(`--vms ${out.vms}: the VMs of a fleet lab are metadb rows only; leave --vms out with --scale fleet`);
    if (out.net && Number(NET_RE.exec(out.net)![1]) > FLEET_DEFAULTS.maxNet) throw new UsageError(`--net ${out.net}: a fleet lab also uses the two nets after its own; pick 127.X with X up to ${FLEET_DEFAULTS.maxNet}`);
  }
  return out;
}

export function readLabFile(dir: string): LabFile | undefined {
  const file = labFilePath(dir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A --dir that is a file, or no directory at all, holds no lab.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ENAMETOOLONG') throw new UsageError(`lab directory ${dir.slice(0, 100)}…: name too long`);
    throw new ConfigError(`cannot read ${file}: ${code ?? (e as Error).message}`);
  }
  try {
    const f = JSON.parse(text) as LabFile;
    if (f.version !== 1 || typeof f.mariadb_port !== 'number' || typeof f.net !== 'string') throw new Error('unexpected content');
    return f;
  } catch (e) {
    throw new ConfigError(`${file} is not a lab file (${(e as Error).message}); remove the directory or pick another --dir`);
  }
}

export function writeLabFile(p: LabParams, config: string, createdAt: Date): void {
  const f: LabFile = { version: 1, name: p.name, dir: p.dir, mariadb_port: p.port, net: p.net, ssh_port: p.sshPort, ncs: p.ncs, vms: p.vms, scale: p.scale, config, created_at: createdAt.toISOString() };
  fs.mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const tmp = labFilePath(p.dir) + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify(f, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, labFilePath(p.dir));
}

export function paramsOf(f: LabFile): LabParams {
  return { dir: f.dir, name: f.name, port: f.mariadb_port, net: f.net, sshPort: f.ssh_port, ncs: f.ncs, vms: f.vms, scale: f.scale ?? 'lab' };
}

const FLAG_OF: Record<keyof ParsedFlags, string> = { ncs: '--ncs', vms: '--vms', port: '--port', net: '--net', sshPort: '--ssh-port', name: '--name', scale: '--scale' };

/**
 * The parameters of `lab up`: an existing lab's own, or the defaults with the flags applied.
 * A flag that contradicts an existing lab is a usage error: its data and addresses were made for
 * the old values.
 */
export function resolveLabParams(dir: string, flags: ParsedFlags, existing: LabFile | undefined): LabParams {
  if (existing) {
    const have = paramsOf(existing);
    const diff = (Object.keys(flags) as Array<keyof ParsedFlags>).filter((k) => flags[k] !== have[k]);
    if (diff.length) {
      const was = diff.map((k) => `${FLAG_OF[k]} ${have[k]}`).join(' ');
      throw new UsageError(`the lab in ${dir} was made with ${was}; to change it run \`rdsctl lab down --purge --dir ${dir}\` first`);
    }
    return { ...have, dir };
  }
  const fleet = flags.scale === 'fleet';
  return {
    dir,
    name: flags.name ?? LAB_DEFAULTS.name,
    port: flags.port ?? LAB_DEFAULTS.port,
    net: flags.net ?? LAB_DEFAULTS.net,
    sshPort: flags.sshPort ?? LAB_DEFAULTS.sshPort,
    ncs: flags.ncs ?? (fleet ? FLEET_DEFAULTS.ncs : LAB_DEFAULTS.ncs),
    vms: flags.vms ?? (fleet ? FLEET_DEFAULTS.vms : LAB_DEFAULTS.vms),
    scale: flags.scale ?? 'lab',
  };
}
