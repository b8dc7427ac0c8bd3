// The fan-out window (ClusterShell's Task scheduling side): the same command on many hosts, at
// most `limit` in flight, results in target order, per-line callbacks fed by a splitter per stream.
import type { Execute } from './ssh-exec.js';
import { notStarted } from './ssh-exec.js';
import { LineSplitter } from './ssh-output.js';
import type { ExecResult, FanoutOptions, HostTarget } from './ssh-types.js';

export async function fanout(execute: Execute, targets: HostTarget[], command: string, o: FanoutOptions, defaultConcurrency: number, signals: AbortSignal[]): Promise<ExecResult[]> {
  const limit = Math.max(1, Math.min(o.concurrency ?? defaultConcurrency, targets.length || 1));
  const results: ExecResult[] = new Array<ExecResult>(targets.length);
  const keep = Boolean(o.keepConnections);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const i = next++;
      const t = targets[i]!;
      let r: ExecResult;
      if (signals.some((s) => s.aborted)) r = notStarted(t, 'interrupted', 'interrupted before it started');
      else if (o.onLine) r = await withLines(execute, t, command, o, o.onLine, keep);
      else r = await execute(t, command, o, keep);
      results[i] = r;
      o.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
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
