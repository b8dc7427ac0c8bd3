import type { Context } from '../core/context.js';
import type { Db } from '../remote/mysql.js';
import { describeError, ExitCode, InterruptedError, RdsctlError, RemoteError, oneLine } from '../core/errors.js';
import { LeaseLostError, type Lease } from './lease.js';
import { loadSteps, type StepRow, type TaskRow } from './store.js';
import type { FlowDef, StepDef, StepScope, TaskStatus } from './types.js';

// The runner: executes a task's steps in flow order under a lease, persisting each transition in
// task_step. Resume = start at the first step that is neither done nor skipped (a step found
// 'running' was cut off by a dead runner and runs again: steps are idempotent, and remote steps
// probe first on a re-run). A failed step fails the task and nothing after it runs.

export interface StepEvent {
  seq: number;
  total: number;
  name: string;
  host: string | null;
  status: 'done' | 'skipped' | 'failed';
  ms: number;
  elapsedMs: number;
  detail?: string | null;
}

export interface Progress {
  step(e: StepEvent): void;
}

/** resume: to the end; next: the first unfinished step only; only: one named step (by seq), whatever its state. */
export type RunMode = { kind: 'resume' } | { kind: 'next' } | { kind: 'only'; seq: number };

export interface RunResult {
  status: TaskStatus;
  /** Steps executed or skipped in this run. */
  ran: number;
  failed?: { seq: number; name: string; host: string | null; error: string; exitCode: number };
}

class StepTimeout extends RdsctlError {
  constructor(name: string, sec: number) {
    super(`${name} timed out after ${sec}s`, ExitCode.REMOTE);
  }
}

const FINISHED = new Set(['done', 'skipped']);
const DETAIL_MAX = 1024;

function clip(s: string, n = DETAIL_MAX): string {
  const one = oneLine(s);
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

export function firstUnfinished(states: StepRow[]): number {
  return states.findIndex((s) => !FINISHED.has(s.status));
}

/** The steps that run together starting at index i: one step, or its consecutive group. */
export function batchAt<C, N>(steps: ReadonlyArray<StepDef<C, N>>, states: StepRow[], i: number): number[] {
  const out = [i];
  const g = steps[i]!.group;
  if (!g) return out;
  for (let j = i + 1; j < steps.length && steps[j]!.group === g && !FINISHED.has(states[j]!.status); j++) out.push(j);
  return out;
}

export async function runTask<C, N>(flow: FlowDef<C, N>, env: { ctx: Context; db: Db; task: TaskRow; lease: Lease }, mode: RunMode, progress?: Progress): Promise<RunResult> {
  const { ctx, db, task, lease } = env;
  const run = new AbortController();
  const onInterrupt = (): void => run.abort(new InterruptedError(`interrupted during task ${task.id}`));
  if (ctx.signal.aborted) onInterrupt();
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });
  lease.onLost((why) => run.abort(new LeaseLostError(task.id, why)));
  lease.startRenewal();
  const t0 = Date.now();
  let ran = 0;
  try {
    const c = await flow.load({ ctx, db, task, lease, signal: run.signal });
    const states = await loadSteps(db, task.id);
    checkShape(flow, task, states);
    await lease.tx(async (tx) => {
      await tx.execute("UPDATE task_queue SET status = 'running', error = NULL, gmt_started = COALESCE(gmt_started, NOW()), gmt_finished = NULL WHERE id = ?", [task.id]);
      await flow.onRun?.(c, tx);
    });

    const total = flow.steps.length;
    for (;;) {
      let batch: number[];
      if (mode.kind === 'only') {
        if (ran > 0) break;
        batch = [mode.seq - 1];
      } else {
        const i = firstUnfinished(states);
        if (i < 0) break;
        if (mode.kind === 'next' && ran > 0) break;
        batch = mode.kind === 'next' ? [i] : batchAt(flow.steps, states, i);
      }
      const failure = await runBatch(batch);
      ran += batch.length;
      if (failure) return failure;
    }

    if (firstUnfinished(states) < 0) {
      await lease.tx(async (tx) => {
        await tx.execute("UPDATE task_queue SET status = 'done', current_step = NULL, error = NULL, gmt_finished = NOW() WHERE id = ?", [task.id]);
        await flow.onDone(c, tx);
      });
      return { status: 'done', ran };
    }
    // Driven by hand (step run): workers must leave the task alone until `resume`.
    await lease.tx((tx) => tx.execute("UPDATE task_queue SET status = 'paused' WHERE id = ?", [task.id]));
    return { status: 'paused', ran };

    async function runBatch(batch: number[]): Promise<RunResult | null> {
      const live: number[] = [];
      for (const i of batch) {
        const def = flow.steps[i]!;
        const reason = def.skip?.(c) ?? null;
        if (reason === null) {
          live.push(i);
          continue;
        }
        await lease.write(
          `UPDATE task_step s JOIN task_queue q ON q.id = s.task_id
              SET s.status = 'skipped', s.skip_reason = ?, s.error = NULL, s.detail = NULL, s.host = NULL, s.gmt_started = NOW(3), s.gmt_finished = NOW(3)
            WHERE s.task_id = ? AND s.seq = ? AND ${lease.fence().sql}`,
          [clip(reason, 255), task.id, i + 1, ...lease.fence().params],
        );
        Object.assign(states[i]!, { status: 'skipped', skip_reason: reason });
        progress?.step({ seq: i + 1, total, name: def.name, host: null, status: 'skipped', ms: 0, elapsedMs: Date.now() - t0, detail: reason });
      }
      if (!live.length) return null;
      const outcomes = await Promise.all(live.map((i) => runOne(i)));
      const bad = outcomes.find((o) => o !== null);
      if (!bad) return null;
      if (bad instanceof LeaseLostError) throw bad;
      return bad;
    }

    async function runOne(i: number): Promise<RunResult | LeaseLostError | null> {
      const def = flow.steps[i]!;
      const st = states[i]!;
      const nodes = flow.nodesOf(c, def.role);
      const host = nodes.length ? nodes.map((n) => flow.hostName(n)).join(',') : null;
      const attempt = st.attempts;
      await lease.write(
        `UPDATE task_step s JOIN task_queue q ON q.id = s.task_id
            SET s.status = 'running', s.attempts = s.attempts + 1, s.host = ?, s.error = NULL, s.detail = NULL, s.skip_reason = NULL,
                s.gmt_started = NOW(3), s.gmt_finished = NULL, q.current_step = ?
          WHERE s.task_id = ? AND s.seq = ? AND ${lease.fence().sql}`,
        [host, def.name, task.id, i + 1, ...lease.fence().params],
      );
      Object.assign(st, { status: 'running', attempts: attempt + 1, host });
      const s0 = Date.now();
      const stepAc = new AbortController();
      const relay = (): void => stepAc.abort(run.signal.reason);
      if (run.signal.aborted) relay();
      run.signal.addEventListener('abort', relay, { once: true });
      const timer = setTimeout(() => stepAc.abort(new StepTimeout(def.name, def.timeoutSec)), def.timeoutSec * 1000);
      const scope: StepScope = { signal: stepAc.signal, attempt };
      let detail: string | null = null;
      let error: unknown = null;
      try {
        const work = (async () => {
          if (attempt > 0 && def.probe && (await def.probe(c, nodes, scope))) return 'already done (probe)';
          return (await def.run(c, nodes, scope)) ?? null;
        })();
        detail = await abortable(work, stepAc.signal);
      } catch (e) {
        error = stepAc.signal.aborted ? (stepAc.signal.reason ?? e) : e;
      } finally {
        clearTimeout(timer);
        run.signal.removeEventListener('abort', relay);
      }
      const ms = Date.now() - s0;
      if (error instanceof LeaseLostError || lease.isLost()) return error instanceof LeaseLostError ? error : new LeaseLostError(task.id, 'lost during the step');
      if (error === null) {
        await lease.write(
          `UPDATE task_step s JOIN task_queue q ON q.id = s.task_id SET s.status = 'done', s.detail = ?, s.gmt_finished = NOW(3)
            WHERE s.task_id = ? AND s.seq = ? AND ${lease.fence().sql}`,
          [detail === null ? null : clip(detail), task.id, i + 1, ...lease.fence().params],
        );
        Object.assign(st, { status: 'done', detail });
        progress?.step({ seq: i + 1, total, name: def.name, host, status: 'done', ms, elapsedMs: Date.now() - t0, detail });
        return null;
      }
      const d = describeError(error);
      const where = error instanceof RemoteError && error.host ? error.host : host;
      const message = clip(d.message || String(error));
      await lease.write(
        `UPDATE task_step s JOIN task_queue q ON q.id = s.task_id SET s.status = 'failed', s.error = ?, s.gmt_finished = NOW(3)
          WHERE s.task_id = ? AND s.seq = ? AND ${lease.fence().sql}`,
        [message, task.id, i + 1, ...lease.fence().params],
      );
      Object.assign(st, { status: 'failed', error: message });
      const taskError = clip(`step ${i + 1} ${def.name}${where ? ` on ${where}` : ''}: ${message}`);
      await lease.tx(async (tx) => {
        await tx.execute("UPDATE task_queue SET status = 'failed', error = ?, gmt_finished = NOW() WHERE id = ?", [taskError, task.id]);
        await flow.onFail?.(c, tx, taskError);
      });
      progress?.step({ seq: i + 1, total, name: def.name, host, status: 'failed', ms, elapsedMs: Date.now() - t0, detail: message });
      const exitCode = error instanceof InterruptedError ? ExitCode.INTERRUPTED : d.exitCode === ExitCode.GENERAL ? ExitCode.REMOTE : d.exitCode;
      return { status: 'failed', ran: ran + 1, failed: { seq: i + 1, name: def.name, host: where, error: message, exitCode } };
    }
  } finally {
    ctx.signal.removeEventListener('abort', onInterrupt);
    await lease.release();
  }
}

/** The step's own promise, or the abort reason as soon as its signal fires (the step may not notice). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** A task's rows must be this flow's table: a task written by another rdsctl version is refused, not guessed at. */
function checkShape<C, N>(flow: FlowDef<C, N>, task: TaskRow, states: StepRow[]): void {
  const same = states.length === flow.steps.length && states.every((s, i) => s.seq === i + 1 && s.step_name === flow.steps[i]!.name && s.role === flow.steps[i]!.role);
  if (!same) throw new RdsctlError(`task ${task.id}: its ${states.length} steps do not match flow ${flow.name} (${flow.steps.length} steps) of this rdsctl`, ExitCode.CONFLICT);
}
