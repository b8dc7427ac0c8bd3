import fs from 'node:fs';
import path from 'node:path';

// Finding and stopping every process of a lab. A process belongs to the lab when
//   - its command line names a path inside the lab dir (the hosts' power processes, `unshare …
//     host-init <dir>/run/<host>`, and MariaDB's --datadir=<dir>/…), or
//   - it descends from one of those: everything inside a host (its init, sshd, sessions,
//     mysqld servers of RDS instances, its VMs) descends from the host's power process, since
//     orphans of a pid namespace are reparented to the namespace's init, or
//   - MariaDB's pid file names it and its working directory is inside the lab dir.
// Pid files the hosts write (under hosts/) count pids of their own namespaces and are not read.
// The process running this code and its ancestors are never included.

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** argv joined by spaces (sshd rewrites its title into argv[0]). */
  cmdline: string;
  cwd?: string;
}

export function readProcTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      // "pid (comm) S ppid …": comm may hold spaces and parentheses, so parse after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z' || rest[0] === 'X') continue;
      const info: ProcInfo = { pid, ppid: Number(rest[1]), cmdline: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim() };
      try {
        info.cwd = fs.readlinkSync(`/proc/${d}/cwd`);
      } catch {
        // same
      }
      out.push(info);
    } catch {
      continue; // exited while we looked
    }
  }
  return out;
}

function inside(p: string | undefined, dir: string): boolean {
  return p !== undefined && (p === dir || p.startsWith(dir + '/'));
}

/** Does a command line name the lab dir or a path under it? */
export function cmdlineReferences(cmdline: string, dir: string): boolean {
  return cmdline.split(/[\s=]/).some((w) => inside(w, dir)) || cmdline.includes(dir + '/');
}

/** Pids written in pid files under dir (the lab's own daemons: <lab>/mariadb). */
export function pidFilePids(dir: string, maxDepth = 2): number[] {
  const out: number[] = [];
  const walk = (d: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < maxDepth) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.pid')) {
        const n = Number(fs.readFileSync(p, 'utf8').trim());
        if (Number.isInteger(n) && n > 1) out.push(n);
      }
    }
  };
  walk(dir, 0);
  return out;
}

/** The lab's processes in a process table (pure: tests feed it a table). */
export function selectLabProcesses(dir: string, table: ProcInfo[], opts: { self: number; pidFiles?: number[] }): ProcInfo[] {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const protectedPids = new Set<number>();
  for (let p: ProcInfo | undefined = byPid.get(opts.self), n = 0; p && n < 64; p = byPid.get(p.ppid), n++) protectedPids.add(p.pid);
  protectedPids.add(opts.self);
  const chosen = new Set<number>();
  for (const p of table) {
    if (cmdlineReferences(p.cmdline, dir)) chosen.add(p.pid);
  }
  for (const pid of opts.pidFiles ?? []) {
    const p = byPid.get(pid);
    if (p && inside(p.cwd, dir)) chosen.add(pid);
  }
  // Descendants: session processes of a listener, children of a session shell.
  const children = new Map<number, number[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const stack = [...chosen];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      if (!chosen.has(c)) {
        chosen.add(c);
        stack.push(c);
      }
    }
  }
  return table.filter((p) => chosen.has(p.pid) && !protectedPids.has(p.pid));
}

export function labProcesses(dir: string): ProcInfo[] {
  return selectLabProcesses(dir, readProcTable(), { self: process.pid, pidFiles: pidFilePids(path.join(dir, 'mariadb')) });
}

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * SIGTERM, wait up to graceMs (MariaDB flushes and exits), then SIGKILL what is left.
 * Returns the pids that were still running after SIGKILL (normally none).
 */
export async function stopProcesses(pids: number[], graceMs = 8000): Promise<number[]> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = pids.filter(isRunning);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter(isRunning);
  }
  for (const pid of left) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 2000;
  while (left.length && Date.now() < killDeadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter(isRunning);
  }
  return left;
}
