import type { Context } from '../core/context.js';
import { describeError, UsageError } from '../core/errors.js';
import { lbNodeCheck, proxyCheck } from './slb.js';
import { rdsCheck } from './rds.js';
import { ncCheck } from './nc.js';
import { tianjiCheck } from './tianji.js';
import { panguCheck } from './pangu.js';
import type { Check, CheckResult } from './types.js';

// The checks `rdsctl check` knows, in the order they are reported, and the runner that gives
// each one its own timeout. Checks run concurrently: each waits on a different system.

export const CHECKS: readonly Check[] = [lbNodeCheck, proxyCheck, rdsCheck, ncCheck, tianjiCheck, panguCheck];

export function selectChecks(names: readonly string[]): Check[] {
  if (names.length === 0) return [...CHECKS];
  const known = CHECKS.map((c) => c.name);
  for (const n of names) {
    if (!known.includes(n)) throw new UsageError(`unknown check "${n}" (known: ${known.join(', ')})`);
  }
  return CHECKS.filter((c) => names.includes(c.name));
}

async function runOne(ctx: Context, check: Check, timeoutSec: number, live: boolean): Promise<CheckResult> {
  const started = performance.now();
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();
  const timer = setTimeout(() => ac.abort(new Error('timeout')), timeoutSec * 1000);
  const stopped = new Promise<never>((_, reject) => {
    const fail = (): void => reject(new Error(ctx.signal.aborted ? 'interrupted' : `timed out after ${timeoutSec}s`));
    if (ac.signal.aborted) fail();
    else ac.signal.addEventListener('abort', fail, { once: true });
  });
  try {
    const out = await Promise.race([check.run({ ctx, signal: ac.signal, timeoutSec, live }), stopped]);
    return { name: check.name, ...out, duration_ms: Math.round(performance.now() - started), error: false };
  } catch (e) {
    const d = describeError(e);
    return { name: check.name, status: 'fail', reason: d.message, details: {}, duration_ms: Math.round(performance.now() - started), error: true };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

export async function runChecks(ctx: Context, checks: readonly Check[], timeoutSec: number, live = false): Promise<CheckResult[]> {
  return Promise.all(checks.map((c) => runOne(ctx, c, timeoutSec, live)));
}
