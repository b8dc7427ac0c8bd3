import type { Context } from '../core/context.js';
import { ExitCode, oneLine } from '../core/errors.js';
import { audited, confirm } from '../core/mutation.js';
import { UsageError } from '../core/errors.js';
import { destructiveMatch, isShellReadingStdin } from './destructive.js';
import { MAX_STDIN_BYTES, readAll, StdinFeed } from './stdin-feed.js';
import { foldNodeSet } from '../remote/nodeset.js';
import type { ExecResult, HostTarget, SshPool } from '../remote/ssh-types.js';

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

/** clush -b: hosts with identical stdout and outcome under one folded node set. */
export function gatherText(results: readonly ExecResult[]): string {
  const groups = new Map<string, { hosts: string[]; stdout: string; label: string }>();
  for (const r of results) {
    // Hosts where nothing ran have no output to show: the failure lines and summary cover them.
    if (r.category !== null && r.category !== 'exit' && r.category !== 'signal' && r.category !== 'command-timeout') continue;
    const label = outcome(r);
    if (label === 'ok' && r.stdout === '') continue;
    const key = `${label}\0${r.stdout}`;
    const g = groups.get(key);
    if (g) g.hosts.push(r.host);
    else groups.set(key, { hosts: [r.host], stdout: r.stdout, label });
  }
  const out: string[] = [];
  for (const g of groups.values()) {
    const head = `${fold(g.hosts)} (${g.hosts.length}${g.label === 'ok' ? '' : `, ${g.label}`})`;
    const dashes = '-'.repeat(Math.max(15, head.length));
    out.push(dashes, head, dashes);
    if (g.stdout !== '') out.push(g.stdout.endsWith('\n') ? g.stdout.slice(0, -1) : g.stdout);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

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
  const script = Buffer.isBuffer(run.stdin) ? run.stdin.toString('utf8') : null;
  const inScript = script === null || destructiveMatch(run.command) ? null : destructiveMatch(script);
  const danger = destructiveMatch(run.command) ?? (inScript ? { name: `${inScript.name}, in the script on stdin` } : null);
  if (danger) await confirm(ctx, destructiveQuestion(run.verb, run.command, danger.name), { yes: Boolean(run.yes) }, names);
  const stdinNote = run.stdin === undefined ? {} : { stdin: Buffer.isBuffer(run.stdin) ? `script, ${run.stdin.length} bytes` : 'streamed' };
  const detail = { command: run.command, ...stdinNote, ...(danger ? { destructive: danger.name } : {}) };
  const results = await audited(ctx, { command: run.verb, targets: names, reason: run.reason, detail }, async () => {
    const rs = await pool.fanout(run.targets, run.command, {
      ...(run.stdin !== undefined ? { stdin: run.stdin } : {}),
      concurrency: run.concurrency,
      timeoutSec: run.commandTimeoutSec,
      signal: ctx.signal,
      // Streamed lines are already on the terminal: keep only a head of each host's output
      // (for the failure line), and pause a host while our stdout or stderr cannot take more.
      ...(stream ? { maxOutputBytes: STREAM_KEEP_BYTES, backpressure: ioBackpressure(io) } : {}),
      ...(stream ? { onLine: (host: string, s: 'stdout' | 'stderr', line: string) => (s === 'stdout' ? io.out : io.err)(`${host}: ${line}\n`) } : {}),
      // Gathered output waits for the end; stderr lines are shown as they come (as clush -b does).
      ...(run.display === 'gather' ? { onLine: (host: string, s: 'stdout' | 'stderr', line: string) => void (s === 'stderr' && io.err(`${host}: ${line}\n`)) } : {}),
      onResult: (r: ExecResult) => {
        if (stream && r.category !== null) io.err(failureLine(r));
      },
    });
    const code = fanoutExitCode(rs, ctx.signal.aborted);
    return { value: rs, ok: code === ExitCode.OK, exitCode: code, detail: { ...detail, outcomes: outcomeSummary(rs) } };
  });
  if (run.display === 'json') io.out(JSON.stringify(results.map(hostRecord), null, 2) + '\n');
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
