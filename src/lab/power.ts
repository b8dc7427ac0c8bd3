import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { UnavailableError } from '../core/errors.js';
import { HOST_INIT, runDirOf, SESSION_CAPS } from './hosts.js';
import { tcpProbe } from './net.js';
import { readProcTable, type ProcInfo } from './procs.js';
import type { LabHostSpec } from './topology.js';

// Running lab hosts from the jump host: boot one (its namespaces, via unshare and host-init),
// find its processes, stop and start its sshd, freeze it, run a command inside it (nsenter).
//
// A top-level host is held by its "power" process: `unshare … --kill-child -- bash host-init RUN`,
// whose one child is the host's init (pid 1 inside). Killing the power process kills the init
// and with it every process of the host's pid namespace. A VM's power process is the same kind
// of unshare, started by its NC's init inside the NC (virsh start), so it is one of the NC's
// processes. Pids written by hosts are never trusted here: a host's processes are found from
// /proc, as descendants of its power process.

/** The environment of a host's init: nothing of the operator's. */
const INIT_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

export function powerPidPath(labDir: string, h: Pick<LabHostSpec, 'name'>): string {
  return path.join(runDirOf(labDir, h), 'power.pid');
}

function argvOf(p: ProcInfo): string {
  return p.cmdline;
}

/** Is this the power process of the host whose run dir (as its starter saw it) is run? */
function isPowerOf(p: ProcInfo, run: string): boolean {
  const c = argvOf(p);
  return /(^|\/)unshare /.test(c) && c.endsWith(`host-init ${run}`);
}

export interface ProcTree {
  table: ProcInfo[];
  byPid: Map<number, ProcInfo>;
  children: Map<number, number[]>;
}

export function procTree(table: ProcInfo[] = readProcTable()): ProcTree {
  const children = new Map<number, number[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  return { table, byPid: new Map(table.map((p) => [p.pid, p])), children };
}

/** pid and every descendant of it, parents first. */
export function descendantsOf(t: ProcTree, pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    if (!t.byPid.has(p)) continue;
    out.push(p);
    stack.push(...(t.children.get(p) ?? []));
  }
  return out;
}

/** The power process of a host (top-level: from its pid file, checked; VM: found in its NC). */
export function powerPid(labDir: string, h: LabHostSpec, t: ProcTree): number | undefined {
  if (h.nc) {
    const ncPower = powerPid(labDir, { name: h.nc, kind: 'nc', address: '' }, t);
    if (!ncPower) return undefined;
    const run = `/rdsctl-lab/host/vms/${h.name}`;
    return descendantsOf(t, ncPower).find((pid) => isPowerOf(t.byPid.get(pid)!, run));
  }
  let pid: number;
  try {
    pid = Number(fs.readFileSync(powerPidPath(labDir, h), 'utf8').trim());
  } catch {
    return undefined;
  }
  const p = t.byPid.get(pid);
  return p && isPowerOf(p, runDirOf(labDir, h)) ? pid : undefined;
}

/** The host's init (pid 1 inside it): the power process's one child. */
export function initPid(t: ProcTree, power: number): number | undefined {
  return t.children.get(power)?.[0];
}

/** The host's listening sshd, if it runs. */
export function sshdPid(t: ProcTree, power: number): number | undefined {
  const init = initPid(t, power);
  if (!init) return undefined;
  return (t.children.get(init) ?? []).find((pid) => /^sshd: .*\[listener\]/.test(t.byPid.get(pid)!.cmdline));
}

/** Every process of a host, its power process first. */
export function hostPids(labDir: string, h: LabHostSpec, t: ProcTree = procTree()): number[] {
  const power = powerPid(labDir, h, t);
  return power ? descendantsOf(t, power) : [];
}

/**
 * Can this process make the namespaces of a lab host? A cheap trial of the same unshare call;
 * the error says what is missing.
 */
export function checkIsolation(unshare: string): void {
  if (process.getuid?.() !== 0) {
    throw new UnavailableError('lab up: lab hosts are Linux namespaces (mount, pid, uts, ipc) and need root to make them; this user is not root', {
      hint: 'run `rdsctl lab up` as root (CI does)',
    });
  }
  const r = spawnSync(unshare, ['--mount', '--uts', '--ipc', '--pid', '--fork', '--propagation', 'private', '--', 'true'], { encoding: 'utf8', env: INIT_ENV });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop();
    throw new UnavailableError(`lab up: cannot make the namespaces of a lab host (${why}); needs CAP_SYS_ADMIN and kernel namespace support`, {
      hint: 'run as root outside a restricted container (or give the container CAP_SYS_ADMIN)',
    });
  }
}

/** MariaDB instances on lab NCs run as mysql, as in production: the user must exist (hosts share the jump host's /etc/passwd below their own). */
export function checkMysqlUser(passwd = '/etc/passwd'): void {
  let text = '';
  try {
    text = fs.readFileSync(passwd, 'utf8');
  } catch {
    // unreadable: reported as missing below
  }
  if (!/^mysql:/m.test(text)) {
    throw new UnavailableError('lab up: no user mysql on this machine; MariaDB instances on lab NCs run as mysql', { hint: 'apt-get install -y mariadb-server (it creates the user), or run scripts/setup' });
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-3).join('; ');
  } catch {
    return '';
  }
}

/** Wait until address:port accepts connections, or give up when check() says it never will. */
async function waitListening(address: string, port: number, timeoutMs: number, check: () => string | undefined): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tcpProbe(address, port, 500)) return undefined;
    const dead = check();
    if (dead) return dead;
    if (Date.now() > deadline) return `no sshd on ${address}:${port} after ${timeoutMs / 1000}s`;
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Boot a top-level host: its namespaces, its mounts, its sshd. Resolves with the power pid once sshd answers. */
export async function bootHost(labDir: string, h: LabHostSpec, sshPort: number, unshare: string, timeoutMs = 90_000): Promise<number> {
  const run = runDirOf(labDir, h);
  const consoleLog = path.join(run, 'console.log');
  const fd = fs.openSync(consoleLog, 'a');
  const child = spawn(unshare, ['--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--propagation', 'private', '--', '/bin/bash', HOST_INIT, run], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: INIT_ENV,
  });
  fs.closeSync(fd);
  let exited: string | undefined;
  child.once('exit', (code, sig) => (exited = `exit ${code ?? sig}`));
  child.once('error', (e) => (exited = e.message));
  child.unref();
  const pid = child.pid;
  if (!pid) throw new UnavailableError(`${h.name}: could not start unshare`);
  fs.writeFileSync(powerPidPath(labDir, h), `${pid}\n`);
  const why = await waitListening(h.address, sshPort, timeoutMs, () => exited);
  if (why) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
    throw new UnavailableError(`lab host ${h.name} did not come up: ${why}${tail(consoleLog) ? ` (${tail(consoleLog)})` : ''}`);
  }
  return pid;
}

export interface HostExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run argv inside a running host: its mount, uts, ipc and pid namespaces (nsenter) with the
 * capabilities of a session there (setpriv). A command that daemonizes stays in the host.
 */
export function hostExec(labDir: string, h: LabHostSpec, argv: string[], o: { input?: string; timeoutMs?: number; nsenter?: string } = {}): Promise<HostExecResult> {
  const t = procTree();
  const power = powerPid(labDir, h, t);
  const init = power ? initPid(t, power) : undefined;
  if (!init) return Promise.reject(new UnavailableError(`lab host ${h.name} is not running`));
  return new Promise((resolve) => {
    const c = execFile(o.nsenter ?? 'nsenter', nsenterArgs(init, argv), { encoding: 'utf8', env: { ...INIT_ENV, HOME: '/root' }, timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    // A command that does not read its input may exit before it is written.
    c.stdin?.on('error', () => undefined);
    c.stdin?.end(o.input ?? '');
  });
}

function nsenterArgs(init: number, argv: string[]): string[] {
  return ['--target', String(init), '--mount', '--uts', '--ipc', '--pid', '--', 'setpriv', `--bounding-set=${SESSION_CAPS}`, '--inh-caps=-all', '--', ...argv];
}

/**
 * Start the host's sshd again (after stopSshd), inside the running host. sshd listens before it
 * daemonizes, so the host answers when this returns. Synchronous: tests call it between steps.
 */
export function startSshd(labDir: string, h: LabHostSpec): void {
  const t = procTree();
  const power = powerPid(labDir, h, t);
  const init = power ? initPid(t, power) : undefined;
  if (!power || !init) throw new UnavailableError(`lab host ${h.name} is not running`);
  if (sshdPid(t, power)) return;
  const r = spawnSync('nsenter', nsenterArgs(init, ['/usr/sbin/sshd', '-f', '/etc/ssh/sshd_config', '-E', '/var/log/sshd.log']), { encoding: 'utf8', env: INIT_ENV, timeout: 30_000 });
  if (r.status !== 0) throw new UnavailableError(`sshd of ${h.name} did not start: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

/** Stop the host's listening sshd (sessions and everything else keep running); returns whether it ran. */
export function stopSshd(labDir: string, h: LabHostSpec): boolean {
  const t = procTree();
  const power = powerPid(labDir, h, t);
  const pid = power ? sshdPid(t, power) : undefined;
  if (!pid) return false;
  signal(pid, 'SIGTERM');
  for (let i = 0; i < 300 && alive(pid); i++) spawnSync('sleep', ['0.01']);
  if (alive(pid)) signal(pid, 'SIGKILL');
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/**
 * "NC loss": SIGSTOP every process of the host's pid namespace (its init and, on an NC, its VMs
 * too). TCP connections to it still complete in the kernel, then nothing answers. Returns the
 * number of processes stopped. Repeats until no new process appears (a fork in flight).
 */
export function freezeHost(labDir: string, h: LabHostSpec): number {
  const stopped = new Set<number>();
  for (let round = 0; round < 10; round++) {
    const t = procTree();
    const power = powerPid(labDir, h, t);
    const init = power ? initPid(t, power) : undefined;
    if (!init) break;
    const fresh = descendantsOf(t, init).filter((p) => !stopped.has(p));
    if (!fresh.length) break;
    for (const p of fresh) {
      signal(p, 'SIGSTOP');
      stopped.add(p);
    }
  }
  if (!stopped.size) throw new UnavailableError(`lab host ${h.name} is not running`);
  return stopped.size;
}

/** Undo freezeHost: SIGCONT every process of the host. Returns the number of processes. */
export function thawHost(labDir: string, h: LabHostSpec): number {
  const pids = hostPids(labDir, h);
  for (const p of pids) signal(p, 'SIGCONT');
  return pids.length;
}
