import type { Context } from '../core/context.js';

// One smoke check: a small function that looks at one system and says ok, warn or fail, and why.
// Adding a check is one file exporting a Check, plus its line in checks.ts.

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckOutcome {
  status: CheckStatus;
  /** One line: what was found. */
  reason: string;
  /** What a runbook may want to read: counts, the failing hosts or rows. */
  details: Record<string, unknown>;
}

export interface CheckResult extends CheckOutcome {
  name: string;
  duration_ms: number;
  /** The check could not evaluate (metadb down, timeout) rather than finding a problem. */
  error: boolean;
}

export interface CheckEnv {
  ctx: Context;
  /** Aborted at the check's timeout or on Ctrl-C; long work should stop when it fires. */
  signal: AbortSignal;
  /** Seconds the check has in all; a check passes a smaller share to its own network waits. */
  timeoutSec: number;
  /** --live: checks that read a metadb also probe what it describes (lb_node, proxy). */
  live: boolean;
}

export interface Check {
  name: string;
  summary: string;
  run(env: CheckEnv): Promise<CheckOutcome>;
}
