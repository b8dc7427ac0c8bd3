import { NotFoundError, UsageError } from '../core/errors.js';
import { editDistance } from '../core/near.js';
import type { Lease } from './lease.js';
import { FINISHED_STEP, type StepRow } from './store.js';
import type { FlowDef, JsonValue, StepRole } from './types.js';
import { firstUnfinished } from './engine.js';

// Operator control of a task besides running it: naming a step, skip, goto. Each change is a
// fenced write under the caller's lease, so it cannot interleave with a runner.

export interface StepView {
  seq: number;
  step: string;
  role: StepRole;
  status: string;
  attempts: number;
  host: string | null;
  duration_ms: number | null;
  started: Date | null;
  finished: Date | null;
  error: string | null;
  skip_reason: string | null;
  detail: string | null;
  result: JsonValue | null;
  timeout_sec: number | null;
  effect: string | null;
  skip_rule: string | null;
}

export function stepViews<C, N>(flow: FlowDef<C, N> | null, rows: StepRow[]): StepView[] {
  return rows.map((r) => {
    const def = flow?.steps[r.seq - 1];
    const same = def && def.name === r.step_name;
    return {
      seq: r.seq,
      step: r.step_name,
      role: r.role,
      status: r.status,
      attempts: r.attempts,
      host: r.host,
      duration_ms: r.gmt_started && r.gmt_finished ? r.gmt_finished.getTime() - r.gmt_started.getTime() : null,
      started: r.gmt_started,
      finished: r.gmt_finished,
      error: r.error,
      skip_reason: r.skip_reason,
      detail: r.detail,
      result: r.result,
      timeout_sec: same ? def.timeoutSec : null,
      effect: same ? def.effect : null,
      skip_rule: same ? def.skipRule ?? null : null,
    };
  });
}

/**
 * A step named by its number (8), its name (do_init), or name:role for names the flow lists
 * twice (do_make_dir:slave). An ambiguous name is refused with the choices.
 */
export function resolveStep(rows: StepRow[], ref: string): number {
  const trimmed = ref.trim();
  if (/^\d{1,4}$/.test(trimmed)) {
    const seq = Number(trimmed);
    if (seq < 1 || seq > rows.length) throw new NotFoundError(`step ${seq} does not exist (this task has steps 1-${rows.length})`);
    return seq;
  }
  const m = /^([a-z0-9_]+)(?::([a-z0-9_]+))?$/.exec(trimmed);
  const hits = m ? rows.filter((r) => r.step_name === m[1] && (!m[2] || r.role === m[2])) : [];
  if (hits.length === 1) return hits[0]!.seq;
  if (hits.length > 1) {
    throw new UsageError(`step ${trimmed} is listed ${hits.length} times: name one of ${hits.map((h) => `${h.seq} (${h.step_name}:${h.role})`).join(', ')}`);
  }
  const name = m ? m[1]! : trimmed;
  // No step name is longer than 64: a longer input gets no suggestions (and no quadratic work).
  const near =
    name.length > 64
      ? []
      : [...new Set(rows.map((r) => r.step_name))]
          .map((n) => ({ n, d: editDistance(name, n) }))
          .filter((x) => x.d <= Math.max(3, Math.floor(name.length / 3)))
          .sort((a, b) => a.d - b.d)
          .map((x) => x.n);
  throw new NotFoundError(`step "${trimmed.length > 80 ? trimmed.slice(0, 80) + '…' : trimmed}" is not in this task's flow`, near);
}

export async function skipStep(lease: Lease, seq: number, reason: string): Promise<void> {
  await lease.apply({
    task: { status: 'paused', error: null },
    steps: [{ seqs: [seq], change: { status: 'skipped', skipReason: reason.slice(0, 255), error: null, finished: 'now' } }],
  });
}

export interface GotoResult {
  direction: 'back' | 'forward' | 'here';
  /** Steps whose state changed. */
  changed: number[];
}

/** Where goto would move the task: back (or here) resets seq.., forward skips the unfinished steps before seq. */
export function gotoDirection(rows: ReadonlyArray<Pick<StepRow, 'status'>>, seq: number): 'back' | 'forward' | 'here' {
  const cur = firstUnfinished(rows);
  const current = cur < 0 ? rows.length + 1 : cur + 1;
  return seq === current ? 'here' : seq < current ? 'back' : 'forward';
}

/**
 * Back: the target and every step after it become pending again, their results forgotten
 * (attempts are kept: a re-run probes first). Forward: the unfinished steps before the target
 * are skipped, with the reason. Either way the task is paused until resume.
 */
export async function gotoStep(lease: Lease, rows: StepRow[], seq: number, reason: string): Promise<GotoResult> {
  const direction = gotoDirection(rows, seq);
  if (direction !== 'forward') {
    const changed = rows.filter((r) => r.seq >= seq && r.status !== 'pending').map((r) => r.seq);
    await lease.apply({
      task: { status: 'paused', error: null, finished: null, currentStep: null },
      steps: [{ seqs: { from: seq }, change: { status: 'pending', error: null, detail: null, skipReason: null, host: null, result: null, started: null, finished: null } }],
    });
    return { direction, changed };
  }
  const cur = firstUnfinished(rows);
  const changed = rows.filter((r) => r.seq >= cur + 1 && r.seq < seq && !FINISHED_STEP.has(r.status)).map((r) => r.seq);
  await lease.apply({
    task: { status: 'paused', error: null },
    steps: changed.length ? [{ seqs: changed, change: { status: 'skipped', skipReason: reason.slice(0, 255), error: null, finished: 'now' } }] : [],
  });
  return { direction, changed };
}
