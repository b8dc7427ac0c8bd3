// The fan-out window (ClusterShell's Task scheduling side): the same command on many hosts, at
// most `limit` in flight, results in target order, per-line callbacks fed by a splitter per stream.
import { mapLimit } from '../core/concurrency.js';
import type { Execute } from './ssh-exec.js';
import { notStarted } from './ssh-exec.js';
import { LineSplitter } from './ssh-output.js';
import type { ExecResult, FanoutOptions, HostTarget } from './ssh-types.js';

export async function fanout(execute: Execute, targets: HostTarget[], command: string, o: FanoutOptions, defaultConcurrency: number, signals: AbortSignal[]): Promise<ExecResult[]> {
  const keep = Boolean(o.keepConnections);
  return mapLimit(targets, o.concurrency ?? defaultConcurrency, async (t) => {
    let r: ExecResult;
    if (signals.some((s) => s.aborted)) r = notStarted(t, 'interrupted', 'interrupted before it started');
    else if (o.onLine) r = await withLines(execute, t, command, o, o.onLine, keep);
    else r = await execute(t, command, o, keep);
    o.onResult?.(r);
    return r;
  });
}

async function withLines(execute: Execute, t: HostTarget, command: string, o: FanoutOptions, onLine: NonNullable<FanoutOptions['onLine']>, keep: boolean): Promise<ExecResult> {
  const lo = new LineSplitter((line) => onLine(t.name, 'stdout', line));
  const le = new LineSplitter((line) => onLine(t.name, 'stderr', line));
  const r = await execute(
    t,
    command,
    {
      ...o,
      onStdout: (b) => {
        o.onStdout?.(b);
        lo.push(b);
      },
      onStderr: (b) => {
        o.onStderr?.(b);
        le.push(b);
      },
    },
    keep,
  );
  lo.end();
  le.end();
  return r;
}
