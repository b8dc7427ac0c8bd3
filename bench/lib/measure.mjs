// Running one command and measuring it: wall time from the parent (spawn to exit), peak RSS of the
// process from GNU time (%M), and the peak summed RSS of its whole process tree sampled from /proc
// (clush and pssh start one ssh per host in flight; rdsctl is one process).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export function haveGnuTime() {
  return fs.existsSync(GNU_TIME);
}

const PAGE_KB = 4;

/**
 * Sum of the RSS (kB) of pid and every descendant. Only processes newer than the root can be its
 * descendants, so a sample reads just those (the lab itself runs a thousand older sshd).
 */
export function treeRssKb(rootPid) {
  const children = new Map();
  const rss = new Map();
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid < rootPid) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command name: state ppid … rss is the 22nd of them.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    rss.set(pid, Number(f[21]) * PAGE_KB);
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const p = stack.pop();
    total += rss.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

/** GNU time's "%M %x" line: peak RSS (kB) and exit status. */
function readTime(file) {
  try {
    const m = /^(\d+) (\d+)$/.exec(fs.readFileSync(file, 'utf8').trim().split('\n').pop() ?? '');
    return m ? { maxRssKb: Number(m[1]), code: Number(m[2]) } : null;
  } catch {
    return null;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/**
 * Run cmd once. stdout is read through a pipe (as a runbook would) and only counted.
 * Returns { wallMs, maxRssKb (with rss), treeRssKb (with tree), code, bytes, errTail }.
 */
export function measure(cmd, args, { env = process.env, tree = false, rss = false, input } = {}) {
  return new Promise((resolve, reject) => {
    // GNU time costs an extra exec (~1-2 ms): only where peak RSS is reported.
    const timeFile = rss ? path.join(os.tmpdir(), `rdsctl-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`) : null;
    const t0 = process.hrtime.bigint();
    const [file, argv] = timeFile ? [GNU_TIME, ['-f', '%M %x', '-o', timeFile, cmd, ...args]] : [cmd, args];
    const child = spawn(file, argv, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin.end(input);
    let bytes = 0;
    let errTail = '';
    child.stdout.on('data', (b) => (bytes += b.length));
    child.stderr.on('data', (b) => (errTail = (errTail + b.toString()).slice(-4000)));
    let peak = 0;
    let timer;
    if (tree) {
      const sample = () => (peak = Math.max(peak, treeRssKb(child.pid)));
      timer = setInterval(sample, 50);
      sample();
    }
    child.once('error', reject);
    child.once('close', (status) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (timer) clearInterval(timer);
      const t = timeFile ? readTime(timeFile) : null;
      resolve({ wallMs, maxRssKb: t?.maxRssKb ?? null, treeRssKb: tree ? peak : null, code: t?.code ?? status, bytes, errTail });
    });
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** 1-minute load average and the number of CPUs, to say how quiet the machine was. */
export function load() {
  return Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/**
 * Measure several commands side by side: one warm-up each, then `runs` rounds in which every
 * command runs once, the order rotating each round so that no command always follows another.
 * A failed run aborts the case: a ratio over failures would mean nothing.
 */
export async function sideBySide(commands, runs, log) {
  const results = Object.fromEntries(commands.map((c) => [c.key, []]));
  const check = (c, r, what) => {
    if (r.code !== 0 && !(c.okCodes ?? [0]).includes(r.code)) throw new Error(`${c.label} ${what} exited ${r.code}: ${r.errTail.trim().split('\n').slice(-3).join(' | ')}`);
    if (c.minBytes !== undefined && r.bytes < c.minBytes) throw new Error(`${c.label} ${what} printed ${r.bytes} bytes, expected at least ${c.minBytes}`);
  };
  for (const c of commands) check(c, await measure(c.cmd, c.args, c.opts), 'warm-up');
  for (let i = 0; i < runs; i++) {
    const order = commands.map((_, k) => commands[(k + i) % commands.length]);
    for (const c of order) {
      const r = await measure(c.cmd, c.args, c.opts);
      check(c, r, `run ${i + 1}`);
      results[c.key].push(r);
    }
    log?.(`  round ${i + 1}/${runs}: ${commands.map((c) => `${c.key} ${results[c.key].at(-1).wallMs.toFixed(0)} ms`).join(', ')}`);
  }
  return results;
}

export function summary(runs) {
  return {
    median_ms: round(median(runs.map((r) => r.wallMs))),
    min_ms: round(Math.min(...runs.map((r) => r.wallMs))),
    max_ms: round(Math.max(...runs.map((r) => r.wallMs))),
    peak_rss_mb: runs.every((r) => r.maxRssKb !== null) ? round(Math.max(...runs.map((r) => r.maxRssKb)) / 1024) : null,
    peak_tree_rss_mb: runs.every((r) => r.treeRssKb !== null) ? round(Math.max(...runs.map((r) => r.treeRssKb)) / 1024) : null,
    runs_ms: runs.map((r) => round(r.wallMs)),
  };
}

export function round(x, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
