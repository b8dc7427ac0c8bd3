import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { fileSafeHost } from './copy.js';
import { ExitCode, oneLine } from '../core/errors.js';
import { audited, confirm } from '../core/mutation.js';
import { UsageError } from '../core/errors.js';
import { destructiveMatch, isShellReadingStdin } from './destructive.js';
import { MAX_STDIN_BYTES, readAll, StdinFeed } from './stdin-feed.js';
import { foldNodeSet } from '../remote/nodeset.js';
import type { ExecResult, HostTarget, SshPool } from '../remote/ssh-types.js';
import { jsonText } from '../core/output.js';

// One operator command on one or many hosts, shown the way clush shows it: lines streamed as
// `host: line`, or (-b) identical output folded under one node set, or JSON records; a summary
// of what failed on stderr; one exit code. Every run is audited with its per-host outcome.

export type FanoutDisplay = 'stream' | 'gather' | 'json';

export interface RemoteRun {
  /** The audited command name: go2nc, go2vm. */
  verb: string;
  targets: HostTarget[];
  command: string;
  display: FanoutDisplay;
  concurrency: number;
  commandTimeoutSec: number;
  reason: string | null;
  /** --yes: no question for a command matching a destructive pattern. */
  yes?: boolean;
  /** Local stdin for every host: a script read in full (checked like the command), or streamed. */
  stdin?: Buffer | StdinFeed;
  /** stdin is a payload (a --copy archive), not a script: not checked, audited as `detail`. */
  stdinIsPayload?: boolean;
  /** More audit detail (what --copy/--rcopy moved). */
  detail?: Record<string, unknown>;
  /** pssh -o/-e: each host's stdout/stderr also written to DIR/HOST. */
  outdir?: string;
  errdir?: string;
  /**
   * Each host's stdout is data for the caller (--rcopy), not for the terminal: it is kept (up to
   * this many bytes), handed to onHost and not shown.
   */
  captureStdoutBytes?: number;
  /** stderr lines starting with this are rdsctl's own protocol (--rcopy's tar status): not shown. */
  hiddenStderrPrefix?: string;
  /** Called once per finished host before anything is shown; may turn a success into a failure. */
  onHost?: (r: ExecResult) => void;
}

/** Write a host's output files (pssh's --outdir/--errdir layout: DIR/HOST). */
function writeHostFiles(run: RemoteRun, r: ExecResult): void {
  const write = (dir: string | undefined, text: string): void => {
    if (dir === undefined) return;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, fileSafeHost(r.host)), text);
  };
  write(run.outdir, r.stdout);
  write(run.errdir, r.stderr);
}

/**
 * What go2nc/go2vm forward on stdin, as clush does: nothing when stdin is a terminal or with
 * --no-stdin; a script read in full when the command is a shell reading stdin (`-- bash`), so it
 * is checked for destructive commands before any host runs it; otherwise streamed as it comes.
 */
export async function forwardedStdin(ctx: Context, enabled: boolean, command: string): Promise<Buffer | StdinFeed | undefined> {
  if (!enabled || ctx.io.stdinIsTTY) return undefined;
  if (!isShellReadingStdin(command)) return new StdinFeed(ctx.io.stdin);
  const script = await readAll(ctx.io.stdin);
  if (script === null) throw new UsageError(`the script on stdin is larger than ${MAX_STDIN_BYTES / 1024 / 1024} MiB: copy it with --copy and run it from there`);
  return script;
}

/** The JSON record per host (`-o json`): field names are a documented API. */
export interface HostRecord {
  host: string;
  address: string;
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  category: string | null;
  error: string | null;
  truncated: boolean;
}

export function hostRecord(r: ExecResult): HostRecord {
  return {
    host: r.host,
    address: r.address,
    exit_code: r.exitCode,
    signal: r.signal,
    stdout: r.stdout,
    stderr: r.stderr,
    duration_ms: Math.round(r.durationMs),
    category: r.category,
    error: r.error ?? null,
    truncated: Boolean(r.truncated),
  };
}

/** "ok", "exit 2", "signal KILL", or the ssh failure category. */
export function outcome(r: ExecResult): string {
  if (r.category === null) return 'ok';
  if (r.category === 'exit') return `exit ${r.exitCode}`;
  if (r.category === 'signal') return `signal ${r.signal ?? '?'}`;
  return r.category;
}

/** The exit code of a run: 0 all ok; one host passes its remote code through; else REMOTE. */
export function fanoutExitCode(results: readonly ExecResult[], interrupted: boolean): number {
  if (interrupted || results.some((r) => r.category === 'interrupted')) return ExitCode.INTERRUPTED;
  if (results.length === 1) {
    const r = results[0]!;
    if (r.category === null) return ExitCode.OK;
    return r.category === 'exit' && r.exitCode !== null ? r.exitCode : ExitCode.REMOTE;
  }
  return results.every((r) => r.category === null) ? ExitCode.OK : ExitCode.REMOTE;
}

export function fold(names: readonly string[]): string {
  try {
    return foldNodeSet(names);
  } catch {
    return names.join(',');
  }
}

/** Hosts by outcome, folded: the audit's per-host result summary, small at any scale. */
export function outcomeSummary(results: readonly ExecResult[]): Record<string, string> {
  const by = new Map<string, string[]>();
  for (const r of results) {
    const k = outcome(r);
    by.set(k, [...(by.get(k) ?? []), r.host]);
  }
  return Object.fromEntries([...by].map(([k, hosts]) => [k, fold(hosts)]));
}

function failureLine(r: ExecResult): string {
  const why = r.category === 'exit' || r.category === 'signal' ? outcome(r) : `${r.category}${r.error ? `: ${r.error}` : ''}`;
  return oneLine(`${r.host}: ${why}${r.truncated ? ' (output truncated)' : ''}`) + '\n';
}

/**
 * clush -b's layout: a block per group of hosts with identical stdout and outcome, under a header
 * of 15 dashes, the folded node set, " (N)" when N > 1, and 15 dashes; blocks ordered as clush
 * orders them (by return code, ok first; then the bigger group; then the group's first host in
 * ClusterShell's sorted order). rdsctl adds the outcome to the header of a group that did not
 * succeed: "nc-a03 (exit 3)", "nc-a[04-05] (2, command-timeout)". Hosts with no output are left
 * out, as in clush; the failure lines and the summary on stderr name them.
 */
export function gatherText(results: readonly ExecResult[]): string {
  const groups = new Map<string, { hosts: string[]; stdout: string; label: string; rank: number }>();
  for (const r of results) {
    // Hosts where nothing ran have no output to show: the failure lines and summary cover them.
    // An interrupted host's partial output is kept: -b on Ctrl-C/SIGTERM prints what was gathered.
    if (r.category !== null && r.category !== 'exit' && r.category !== 'signal' && r.category !== 'command-timeout' && r.category !== 'interrupted') continue;
    const label = outcome(r);
    if (r.stdout === '') continue;
    const key = `${label}\0${r.stdout}`;
    const g = groups.get(key);
    if (g) g.hosts.push(r.host);
    else groups.set(key, { hosts: [r.host], stdout: r.stdout, label, rank: r.category === null ? 0 : r.category === 'exit' ? (r.exitCode ?? 255) : 1000 });
  }
  const first = (hosts: string[]): string => [...hosts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0]!;
  const ordered = [...groups.values()].sort((a, b) => a.rank - b.rank || a.label.localeCompare(b.label) || b.hosts.length - a.hosts.length || (first(a.hosts) < first(b.hosts) ? -1 : 1));
  const out: string[] = [];
  for (const g of ordered) {
    const n = g.hosts.length;
    const extra = [...(n > 1 ? [String(n)] : []), ...(g.label === 'ok' ? [] : [g.label])];
    out.push(GATHER_SEP, `${fold(g.hosts)}${extra.length ? ` (${extra.join(', ')})` : ''}`, GATHER_SEP);
    out.push(g.stdout.endsWith('\n') ? g.stdout.slice(0, -1) : g.stdout);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

const GATHER_SEP = '-'.repeat(15);

export function summaryLine(results: readonly ExecResult[]): string {
  const failed = results.filter((r) => r.category !== null).map((r) => r.host);
  return `${results.length - failed.length} ok, ${failed.length} failed${failed.length ? `: ${fold(failed)}` : ''}\n`;
}

const STREAM_KEEP_BYTES = 64 * 1024;

/** Blocked while either output stream has more buffered than it wants; resumes on its 'drain'. */
export function ioBackpressure(io: Pick<Context['io'], 'stdout' | 'stderr'>): { blocked(): boolean; wait(): Promise<void> } {
  const full = (w: NodeJS.WritableStream & { writableNeedDrain?: boolean }): boolean => Boolean(w.writableNeedDrain);
  return {
    blocked: () => full(io.stdout) || full(io.stderr),
    wait: async () => {
      for (const w of [io.stdout, io.stderr]) if (full(w)) await new Promise<void>((r) => w.once('drain', () => r()));
    },
  };
}

export async function runRemote(ctx: Context, pool: SshPool, run: RemoteRun): Promise<number> {
  const io = ctx.io;
  const names = run.targets.map((t) => t.name);
  const stream = run.display === 'stream';
  const script = Buffer.isBuffer(run.stdin) && !run.stdinIsPayload ? run.stdin.toString('utf8') : null;
  const inScript = script === null || destructiveMatch(run.command) ? null : destructiveMatch(script);
  const danger = destructiveMatch(run.command) ?? (inScript ? { name: `${inScript.name}, in the script on stdin` } : null);
  if (danger) await confirm(ctx, destructiveQuestion(run.verb, run.command, danger.name), { yes: Boolean(run.yes) }, names);
  const stdinNote = run.stdin === undefined || run.stdinIsPayload ? {} : { stdin: Buffer.isBuffer(run.stdin) ? `script, ${run.stdin.length} bytes` : 'streamed' };
  const detail = { command: run.command, ...stdinNote, ...(run.detail ?? {}), ...(danger ? { destructive: danger.name } : {}) };
  const capture = run.captureStdoutBytes !== undefined;
  const hidden = run.hiddenStderrPrefix;
  const shownErr = (line: string): boolean => hidden === undefined || !line.startsWith(hidden);
  const files = run.outdir !== undefined || run.errdir !== undefined;
  // Streamed lines are already on the terminal: keep only a head of each host's output (for the
  // failure line) unless it is wanted whole (--outdir/--errdir, --rcopy).
  const keep = capture ? { maxOutputBytes: run.captureStdoutBytes } : stream && !files ? { maxOutputBytes: STREAM_KEEP_BYTES } : {};
  const results = await audited(ctx, { command: run.verb, targets: names, reason: run.reason, detail }, async () => {
    const rs = await pool.fanout(run.targets, run.command, {
      ...(run.stdin !== undefined ? { stdin: run.stdin } : {}),
      concurrency: run.concurrency,
      timeoutSec: run.commandTimeoutSec,
      signal: ctx.signal,
      // Pause a host while our stdout or stderr cannot take more.
      ...keep,
      ...(stream ? { backpressure: ioBackpressure(io) } : {}),
      ...(stream ? { onLine: (host: string, s: 'stdout' | 'stderr', line: string) => (s === 'stdout' ? !capture && io.out(`${host}: ${line}\n`) : shownErr(line) && io.err(`${host}: ${line}\n`)) } : {}),
      // Gathered output waits for the end; stderr lines are shown as they come (as clush -b does).
      ...(run.display === 'gather' ? { onLine: (host: string, s: 'stdout' | 'stderr', line: string) => void (s === 'stderr' && shownErr(line) && io.err(`${host}: ${line}\n`)) } : {}),
      onResult: (r: ExecResult) => {
        if (files) {
          try {
            writeHostFiles(run, r);
          } catch (e) {
            r.category ??= 'error';
            r.error = `output file: ${(e as Error).message}`;
          }
        }
        run.onHost?.(r);
        if (stream && r.category !== null) io.err(failureLine(r));
      },
    });
    const code = fanoutExitCode(rs, ctx.signal.aborted);
    return { value: rs, ok: code === ExitCode.OK, exitCode: code, detail: { ...detail, outcomes: outcomeSummary(rs) } };
  });
  if (run.display === 'json') io.out(jsonText(results.map(hostRecord)));
  if (run.display === 'gather') {
    io.out(gatherText(results));
    // A gathered host's output is held in memory up to a cap; say so when a host went past it.
    for (const r of results) {
      if (r.category !== null) io.err(failureLine(r));
      else if (r.truncated) io.err(`${r.host}: output truncated (more than rdsctl keeps per host; without -b it is streamed)\n`);
    }
  }
  if (results.length > 1) io.err(summaryLine(results));
  if (run.stdin instanceof StdinFeed) {
    run.stdin.close();
    if (run.stdin.overflow) throw new UsageError(`stdin was larger than ${MAX_STDIN_BYTES / 1024 / 1024} MiB: the hosts got it cut short; send big files with --copy`);
  }
  return fanoutExitCode(results, ctx.signal.aborted);
}

/** The confirmation question for a destructive fan-out; the command is shown as one quoted line. */
export function destructiveQuestion(verb: string, command: string, pattern: string): string {
  const shown = command.length > 200 ? `${command.slice(0, 200)}…` : command;
  return `${verb}: ${JSON.stringify(shown)} matches the destructive pattern "${pattern}"`;
}

/** The --dry-run note for a command that would ask first. */
export function destructiveNote(command: string): string[] {
  const danger = destructiveMatch(command);
  return danger ? [`the command matches the destructive pattern "${danger.name}": it asks for confirmation (--yes without a TTY)`] : [];
}
