import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { UnavailableError } from '../core/errors.js';

// Lab SSH hosts on Debian's OpenSSH. One sshd listens on at most 16 addresses (MAX_LISTEN_SOCKS),
// so hosts are served by "units": one sshd per unit, each bound to loopback addresses only.
// `Match LocalAddress` gives every address its own environment: RDS_HOST_ROOT (the host's
// filesystem root), a PATH that starts with the host's own bin/ (hostname, virsh stand-ins), and
// HOME inside the host's root, so sessions read the host's own shell rc files and not the lab
// machine's (root's ~/.bashrc here runs `pyenv init`, seconds per session under fan-out).
// sshd must get an absolute config path or its re-exec fails and connections are reset.

export const MAX_LISTEN_PER_SSHD = 16;

export interface LabHost {
  name: string;
  address: string;
  /** The host's filesystem root on this machine. */
  root: string;
  /** Keys this host accepts instead of the lab's authorized_keys (a backup store also accepts the NCs' backup key). */
  authorizedKeys?: string;
}

export interface SshdUnit {
  /** Unit id, used for file names: "nc-a01", "pool-003". */
  id: string;
  port: number;
  hosts: LabHost[];
}

export interface SshdPaths {
  /** Directory of the lab's sshd files: configs, pid files, logs. */
  dir: string;
  hostKey: string;
  authorizedKeys: string;
}

export function sshdBinary(): string {
  for (const p of ['/usr/sbin/sshd', '/usr/bin/sshd']) if (fs.existsSync(p)) return p;
  throw new UnavailableError('OpenSSH server (sshd) is not installed', { hint: 'apt-get install -y openssh-server' });
}

/** Host key and client key for a lab, created once. Returns nothing new if they exist. */
export function ensureKeys(dir: string, sshKeygen = 'ssh-keygen'): { hostKey: string; clientKey: string; authorizedKeys: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const clientKey = path.join(dir, 'id_ed25519');
  const authorizedKeys = path.join(dir, 'authorized_keys');
  for (const k of [hostKey, clientKey]) {
    if (!fs.existsSync(k) || !fs.existsSync(k + '.pub')) {
      fs.rmSync(k, { force: true });
      execFileSync(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'rdsctl-lab', '-f', k], { stdio: 'ignore' });
    }
  }
  fs.writeFileSync(authorizedKeys, fs.readFileSync(clientKey + '.pub'), { mode: 0o600 });
  return { hostKey, clientKey, authorizedKeys };
}

export function unitConfigPath(paths: SshdPaths, unit: Pick<SshdUnit, 'id'>): string {
  return path.join(paths.dir, `sshd-${unit.id}.conf`);
}

export function unitPidPath(paths: SshdPaths, unit: Pick<SshdUnit, 'id'>): string {
  return path.join(paths.dir, `sshd-${unit.id}.pid`);
}

export function unitLogPath(paths: SshdPaths, unit: Pick<SshdUnit, 'id'>): string {
  return path.join(paths.dir, `sshd-${unit.id}.log`);
}

/** Write a unit's config (also for units started later by someone else, e.g. the virsh stand-in). */
export function writeUnitConfig(paths: SshdPaths, unit: SshdUnit): string {
  const conf = unitConfigPath(paths, unit);
  fs.mkdirSync(paths.dir, { recursive: true });
  fs.writeFileSync(conf, renderSshdConfig(paths, unit), { mode: 0o600 });
  return conf;
}

export function renderSshdConfig(paths: SshdPaths, unit: SshdUnit): string {
  if (unit.hosts.length > MAX_LISTEN_PER_SSHD) throw new Error(`sshd unit ${unit.id}: ${unit.hosts.length} addresses, at most ${MAX_LISTEN_PER_SSHD}`);
  const lines = [
    `# rdsctl lab sshd unit ${unit.id} (generated; rewritten by \`rdsctl lab up\`)`,
    ...unit.hosts.map((h) => `ListenAddress ${h.address}:${unit.port}`),
    `HostKey ${paths.hostKey}`,
    `PidFile ${unitPidPath(paths, unit)}`,
    `AuthorizedKeysFile ${paths.authorizedKeys}`,
    'StrictModes no',
    'UsePAM no',
    'UseDNS no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PrintMotd no',
    'PrintLastLog no',
    'AllowTcpForwarding yes',
    'PermitOpen any',
    // Fan-out of a thousand hosts opens many handshakes at once; the default 10:30:100 drops them.
    'MaxStartups 1000:30:2000',
    'MaxSessions 64',
    'LogLevel ERROR',
    ...unit.hosts.flatMap((h) => [
      `Match LocalAddress ${h.address}`,
      `  SetEnv RDS_HOST_ROOT=${h.root} RDS_HOST_NAME=${h.name} HOME=${h.root}/root PATH=${h.root}/usr/local/bin:${h.root}/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      ...(h.authorizedKeys ? [`  AuthorizedKeysFile ${h.authorizedKeys}`] : []),
    ]),
  ];
  return lines.join('\n') + '\n';
}

export function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); in a container whose pid 1 does not reap, a stopped sshd
  // stays one forever. Its state letter in /proc/<pid>/stat (after the ")" of the name) is Z.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The unit's pid when its sshd runs from this unit's config (a stale pid file names nobody). */
export function unitPid(paths: SshdPaths, unit: Pick<SshdUnit, 'id'>): number | undefined {
  const pid = readPid(unitPidPath(paths, unit));
  if (!isAlive(pid)) return undefined;
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(path.resolve(unitConfigPath(paths, unit))) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function prepareStart(paths: SshdPaths, unit: SshdUnit): { conf: string; log: string } {
  const conf = writeUnitConfig(paths, unit);
  fs.rmSync(unitPidPath(paths, unit), { force: true });
  // Privilege separation directory; Debian's unit creates it at boot, a container may not have it.
  // Only root can make it, and only root's sshd needs it.
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  return { conf: path.resolve(conf), log: path.resolve(unitLogPath(paths, unit)) };
}

function startFailure(unit: SshdUnit, log: string, detail: string): UnavailableError {
  const why = (detail || readTail(log)).trim().split('\n').pop();
  return new UnavailableError(`sshd for ${unit.id} on ${unit.hosts.map((h) => h.address).join(',')}:${unit.port} did not start: ${why}`);
}

/** Start (or leave running) one unit. Idempotent: a live unit is left as it is. */
/**
 * A running unit whose rendered config changed (a new lab version) is told to reload: sshd
 * re-executes itself on SIGHUP with the same pid and re-reads its config; sessions stay up.
 */
function reloadIfChanged(paths: SshdPaths, unit: SshdUnit, pid: number): number {
  const conf = unitConfigPath(paths, unit);
  let old = '';
  try {
    old = fs.readFileSync(conf, 'utf8');
  } catch {
    // no config on disk: write it below and reload
  }
  if (old !== renderSshdConfig(paths, unit)) {
    writeUnitConfig(paths, unit);
    process.kill(pid, 'SIGHUP');
  }
  return pid;
}

export function startUnit(paths: SshdPaths, unit: SshdUnit, bin: string = sshdBinary()): number {
  const running = unitPid(paths, unit);
  if (running) return reloadIfChanged(paths, unit, running);
  const { conf, log } = prepareStart(paths, unit);
  const r = spawnSync(bin, ['-f', conf, '-E', log], { encoding: 'utf8' });
  if (r.status !== 0) throw startFailure(unit, log, r.stderr || `exit ${r.status}`);
  // sshd binds before it daemonizes and writes its pid file after; wait for it briefly.
  for (let i = 0; i < 200; i++) {
    const pid = unitPid(paths, unit);
    if (pid) return pid;
    spawnSync('sleep', ['0.01']);
  }
  throw startFailure(unit, log, 'no pid file');
}

/** startUnit without blocking the event loop, for starting many units side by side. */
export async function startUnitAsync(paths: SshdPaths, unit: SshdUnit, bin: string): Promise<number> {
  const running = unitPid(paths, unit);
  if (running) return reloadIfChanged(paths, unit, running);
  const { conf, log } = prepareStart(paths, unit);
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(bin, ['-f', conf, '-E', log], { encoding: 'utf8' }, (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }));
  });
  if (r.code !== 0) throw startFailure(unit, log, r.stderr || `exit ${r.code}`);
  for (let i = 0; i < 400; i++) {
    const pid = unitPid(paths, unit);
    if (pid) return pid;
    await new Promise((res) => setTimeout(res, 5));
  }
  throw startFailure(unit, log, 'no pid file');
}

/** Stop one unit by its pid; returns whether it was running. */
export function stopUnit(paths: SshdPaths, unit: Pick<SshdUnit, 'id'>): boolean {
  const pidFile = unitPidPath(paths, unit);
  const pid = unitPid(paths, unit);
  if (!pid) return false;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && isAlive(pid); i++) spawnSync('sleep', ['0.01']);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(pidFile, { force: true });
  return true;
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

/** A known_hosts line for every lab address ([addr]:port form when the port is not 22). */
export function knownHostsLines(hostKeyPub: string, units: SshdUnit[]): string {
  const key = fs.readFileSync(hostKeyPub, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  return units.flatMap((u) => u.hosts.map((h) => `${u.port === 22 ? h.address : `[${h.address}]:${u.port}`} ${key}`)).join('\n') + '\n';
}
