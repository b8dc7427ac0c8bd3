import os from 'node:os';
import type { Context } from '../../core/context.js';
import { ConfigError, describeError, ExitCode, InternalError, PermissionError, RdsctlError, UsageError } from '../../core/errors.js';
import type { IO } from '../../core/io.js';
import { termSafe } from '../../core/output.js';

// `--watch [SECONDS]` on the status views (lb_node/proxy status, instance list, task list, check):
// the view is run again every SECONDS until Ctrl-C, like watch(1) or `kubectl get -w`. On a
// terminal each round is drawn whole and then replaces the screen in one write (no flicker, no
// half-drawn table); into a pipe or file each round is appended after a stderr header, so a log
// keeps the history and `-o json` stays a stream of documents that jq reads one by one.
// The view's own code is untouched: it runs with an IO that collects what it prints.

export const DEFAULT_WATCH_SEC = 2;
const MIN_WATCH_SEC = 0.1;
const MAX_WATCH_SEC = 3600;

/** The help line of `--watch [sec]`; each view declares the option where its other flags are. */
export const WATCH_HELP = `run again every SEC seconds (default ${DEFAULT_WATCH_SEC}) until Ctrl-C; on a terminal the screen is redrawn in place`;

/** Commander's parser for --watch's optional value; the bare flag arrives as `true`. */
export function parseWatch(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < MIN_WATCH_SEC || n > MAX_WATCH_SEC) throw new UsageError(`--watch ${v}: expected seconds from ${MIN_WATCH_SEC} to ${MAX_WATCH_SEC}`);
  return n;
}

/** The parsed option as the action gets it: undefined (no watch), true (bare flag) or seconds. */
export function watchSeconds(v: number | boolean | undefined): number | undefined {
  if (v === undefined || v === false) return undefined;
  return v === true ? DEFAULT_WATCH_SEC : v;
}

/**
 * Errors that a later round can outlive (a metadb restart, an SSH hiccup) are shown in the frame
 * and the watch goes on, as watch(1) keeps going when its command fails. Errors no retry can fix
 * (bad input, bad configuration, no permission) end the watch with their own exit code.
 */
function fatal(err: unknown): boolean {
  return !(err instanceof RdsctlError) || err instanceof UsageError || err instanceof ConfigError || err instanceof PermissionError || err instanceof InternalError;
}

interface Captured {
  io: IO;
  text(): string;
}

/** An IO like ctx.io whose out and err go, in order, into one buffer: the frame of one round. */
function capture(io: IO): Captured {
  let buf = '';
  return { io: { ...io, out: (t: string) => void (buf += t), err: (t: string) => void (buf += t) }, text: () => buf };
}

const CLEAR = '\x1b[H\x1b[2J';

/** The command line as typed, for the header: rdsctl's own flags only, never a secret (none of the watched views takes one). */
export function watchTitle(argv: readonly string[] = process.argv.slice(2)): string {
  return ['rdsctl', ...argv].join(' ');
}

/** The verb's work as run(): as is without --watch, inside watch() with it. One place for all the views. */
export function watching(v: number | boolean | undefined, round: (ctx: Context) => Promise<number | void>): (ctx: Context) => Promise<number | void> {
  const every = watchSeconds(v);
  return every === undefined ? round : (ctx) => watch(ctx, { intervalSec: every, title: watchTitle() }, round);
}

export interface WatchOptions {
  intervalSec: number;
  /** The command as typed, for the header ("rdsctl lb_node status --live"). */
  title: string;
}

/**
 * Runs `round` every interval until ctx.signal aborts, then returns 130 (the house rule for an
 * interrupted command, the same as `task show --follow`). A fatal error is thrown on.
 */
export async function watch(ctx: Context, o: WatchOptions, round: (ctx: Context) => Promise<number | void>): Promise<number> {
  const tty = ctx.io.stdoutIsTTY;
  const every = `Every ${o.intervalSec}s: ${termSafe(o.title)}`;
  for (;;) {
    const header = `${every}    ${os.hostname()}: ${ctx.clock.now().toISOString()}`;
    if (tty) {
      const c = capture(ctx.io);
      await runRound({ ...ctx, io: c.io }, round);
      if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
      ctx.io.out(`${CLEAR}${header}\n\n${c.text()}`);
    } else {
      ctx.io.err(`${header}\n`);
      await runRound(ctx, round);
      if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
    }
    try {
      await ctx.clock.sleep(o.intervalSec * 1000, ctx.signal);
    } catch {
      return ExitCode.INTERRUPTED;
    }
  }
}

/** One round; a transient error becomes a line in the frame, a fatal one ends the watch (cli.ts reports it). */
async function runRound(ctx: Context, round: (ctx: Context) => Promise<number | void>): Promise<void> {
  try {
    await round(ctx);
  } catch (err) {
    if (ctx.signal.aborted) return;
    if (fatal(err)) throw err;
    ctx.io.err(`rdsctl: ${describeError(err).message}\n`);
  }
}
