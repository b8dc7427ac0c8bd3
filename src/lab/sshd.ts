import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { UnavailableError } from '../core/errors.js';

// Lab SSH hosts on Debian's OpenSSH. One sshd listens on at most 16 addresses (MAX_LISTEN_SOCKS),
// so hosts are served by "units": one sshd per unit, each bound to loopback addresses only.
// `Match LocalAddress` gives every address its own environment: RDS_HOST_ROOT (the host's
// filesystem root) and a PATH that starts with the host's own bin/ (hostname, virsh stand-ins).
// sshd must get an absolute config path or its re-exec fails and connections are reset.

export const MAX_LISTEN_PER_SSHD = 16;

export interface LabHost {
  name: string;
  address: string;
  /** The host's filesystem root on this machine. */
  root: string;
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
export function ensureKeys(dir: string): { hostKey: string; clientKey: string; authorizedKeys: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const clientKey = path.join(dir, 'id_ed25519');
  const authorizedKeys = path.join(dir, 'authorized_keys');
  for (const k of [hostKey, clientKey]) {
    if (!fs.existsSync(k)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rdsctl-lab', '-f', k], { stdio: 'ignore' });
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
    ...unit.hosts.flatMap((h) => [`Match LocalAddress ${h.address}`, `  SetEnv RDS_HOST_ROOT=${h.root} RDS_HOST_NAME=${h.name} PATH=${h.root}/usr/local/bin:${h.root}/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`]),
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
    return true;
  } catch {
    return false;
  }
}

/** Start (or leave running) one unit. Idempotent: a live pid file means it is already up. */
export function startUnit(paths: SshdPaths, unit: SshdUnit): number {
  const conf = unitConfigPath(paths, unit);
  fs.mkdirSync(paths.dir, { recursive: true });
  fs.writeFileSync(conf, renderSshdConfig(paths, unit), { mode: 0o600 });
  const pidFile = unitPidPath(paths, unit);
  const running = readPid(pidFile);
  if (isAlive(running)) return running!;
  // Privilege separation directory; Debian's unit creates it at boot, a container may not have it.
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const log = path.join(paths.dir, `sshd-${unit.id}.log`);
  const r = spawnSync(sshdBinary(), ['-f', path.resolve(conf), '-E', path.resolve(log)], { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr || readTail(log) || `exit ${r.status}`).trim().split('\n').pop();
    throw new UnavailableError(`sshd for ${unit.id} on ${unit.hosts.map((h) => h.address).join(',')}:${unit.port} did not start: ${why}`);
  }
  // sshd daemonizes and writes its pid file after binding; wait for it briefly.
  for (let i = 0; i < 200; i++) {
    const pid = readPid(pidFile);
    if (isAlive(pid)) return pid!;
    spawnSync('sleep', ['0.01']);
  }
  const why = readTail(log).trim().split('\n').pop() || 'no pid file';
  throw new UnavailableError(`sshd for ${unit.id} on port ${unit.port} did not come up: ${why}`);
}

/** Stop one unit by its pid; returns whether it was running. */
export function stopUnit(paths: SshdPaths, unit: Pick<SshdUnit, 'id'>): boolean {
  const pidFile = unitPidPath(paths, unit);
  const pid = readPid(pidFile);
  if (!isAlive(pid)) return false;
  process.kill(pid!, 'SIGTERM');
  for (let i = 0; i < 200 && isAlive(pid); i++) spawnSync('sleep', ['0.01']);
  if (isAlive(pid)) process.kill(pid!, 'SIGKILL');
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
