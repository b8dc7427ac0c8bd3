import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { sh } from '../remote/quote.js';

// clush --copy / --rcopy over the fan-out's own SSH connections: one exec per host, the files as
// a tar stream on the channel's stdin (copy) or stdout (rcopy, base64 so the text-based output
// sink carries it intact). One exec per host keeps the window, timeouts, failure categories,
// summary and audit of a command fan-out, and needs nothing on the host but tar and base64.

export interface CopyPlan {
  /** The remote command (audited and shown by --dry-run). */
  command: string;
  /** What goes to every host's stdin: the tar archive of the sources. */
  payload: Buffer;
  sources: string[];
  dest: string;
  bytes: number;
}

function checkDest(dest: string): void {
  if (!path.isAbsolute(dest)) throw new UsageError(`--dest ${JSON.stringify(dest)}: must be an absolute directory on the hosts`);
}

/** Local sources → a tar archive (GNU tar), and the command that unpacks it on each host. */
export function planCopy(sources: string[], dest: string): CopyPlan {
  if (sources.length === 0) throw new UsageError('--copy needs at least one local file or directory');
  checkDest(dest);
  const entries: string[] = [];
  for (const src of sources) {
    const abs = path.resolve(src);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      throw new UsageError(`--copy ${JSON.stringify(src)}: no such local file or directory`);
    }
    if (!st.isFile() && !st.isDirectory()) throw new UsageError(`--copy ${JSON.stringify(src)}: not a regular file or directory`);
    if (abs === '/') throw new UsageError('--copy /: refusing to copy the whole filesystem');
    // One -C per source so names are stored relative to their own directory; ./ so a name
    // starting with "-" is never an option.
    entries.push('-C', path.dirname(abs), `./${path.basename(abs)}`);
  }
  const args = ['-cf', '-', '--numeric-owner', ...entries];
  const r = spawnSync('tar', args, { maxBuffer: 1024 * 1024 * 1024 });
  if (r.error || r.status !== 0) throw new UsageError(`--copy: local tar failed: ${(r.stderr?.toString() || r.error?.message || '').trim().split('\n')[0]}`);
  const payload = r.stdout;
  return {
    command: sh`mkdir -p -- ${dest} && tar -xf - --no-same-owner -C ${dest}`,
    payload,
    sources,
    dest,
    bytes: payload.length,
  };
}

export interface RcopyPlan {
  command: string;
  sources: string[];
  dest: string;
}

/** Remote sources → `tar | base64` on each host; the archive is unpacked as DEST/NAME.HOST. */
export function planRcopy(sources: string[], dest: string): RcopyPlan {
  if (sources.length === 0) throw new UsageError('--rcopy needs at least one remote file or directory');
  const words: string[] = [];
  for (const src of sources) {
    if (!path.isAbsolute(src)) throw new UsageError(`--rcopy ${JSON.stringify(src)}: must be an absolute path on the hosts`);
    const norm = path.posix.normalize(src).replace(/\/+$/, '');
    if (norm === '' || norm === '/') throw new UsageError('--rcopy /: refusing to copy the whole filesystem');
    words.push('-C', path.posix.dirname(norm), `./${path.posix.basename(norm)}`);
  }
  const names = sources.map((s) => path.posix.basename(path.posix.normalize(s).replace(/\/+$/, '')));
  if (new Set(names).size !== names.length) throw new UsageError('--rcopy: two sources have the same name; copy them in separate runs');
  // A pipeline's status is base64's, so tar's own status is reported on stderr (POSIX sh has no pipefail).
  return { command: `{ ${sh`tar -cf - --numeric-owner ${words}`}; echo "${RCOPY_MARK}$?" >&2; } | base64 -w0`, sources, dest };
}

export const RCOPY_MARK = 'rdsctl-rcopy-tar-exit=';

/** tar's exit status on the host, read back from the marker line, and stderr without it. */
export function rcopyStatus(stderr: string): { tarExit: number | null; stderr: string } {
  const m = new RegExp(`(?:^|\\n)${RCOPY_MARK}(\\d+)\\n?`).exec(stderr);
  if (!m) return { tarExit: null, stderr };
  return { tarExit: Number(m[1]), stderr: stderr.slice(0, m.index) + (m.index > 0 ? '\n' : '') + stderr.slice(m.index + m[0].length) };
}

/** A host name safe as a file-name suffix (it came from a metadb). */
export function fileSafeHost(name: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(name) || name === '.' || name === '..') throw new UsageError(`host name ${JSON.stringify(name)} cannot be used in a file name`);
  return name;
}

/**
 * Unpack one host's archive (base64 text) into `dest`: each source's top entry becomes
 * NAME.HOST, as clush --rcopy names them. Returns the paths written.
 */
export function unpackRcopy(plan: RcopyPlan, host: string, base64: string): string[] {
  const suffix = fileSafeHost(host);
  fs.mkdirSync(plan.dest, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(plan.dest, `.rcopy-${suffix}-`));
  try {
    const r = spawnSync('tar', ['-xf', '-', '--no-same-owner', '-C', tmp], { input: Buffer.from(base64, 'base64'), maxBuffer: 1024 * 1024 });
    if (r.status !== 0) throw new Error(`tar: ${r.stderr.toString().trim().split('\n')[0]}`);
    const out: string[] = [];
    for (const src of plan.sources) {
      const name = path.posix.basename(path.posix.normalize(src).replace(/\/+$/, ''));
      const from = path.join(tmp, name);
      if (!fs.existsSync(from)) continue;
      const to = path.join(plan.dest, `${name}.${suffix}`);
      fs.rmSync(to, { recursive: true, force: true });
      fs.renameSync(from, to);
      out.push(to);
    }
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
