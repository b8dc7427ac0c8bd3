import type { Context } from '../core/context.js';
import type { Db } from '../remote/mysql.js';
import { describeError, ExitCode, InternalError, InterruptedError, RemoteError, oneLine } from '../core/errors.js';
import { flowBase } from './base.js';
import { LeaseLostError, type Lease } from './lease.js';
import type { AnyFlow } from './registry.js';
import { FINISHED_STEP, RESULT_MAX, type StepRow, type TaskRow, type TaskStore } from './store.js';
import type { JsonValue, StepDef, StepOutcome, StepScope, TaskStatus } from './types.js';
import { UnknownFlowError } from './registry.js';

// The runner: executes a task's steps in flow order under a lease, persisting each transition
// through the store. Resume = start at the first step that is neither done nor skipped (a step
// found 'running' was cut off by a dead runner and runs again: steps are idempotent, and remote
// steps probe first on a re-run). A failed step fails the task and nothing after it runs. At every
// step boundary the runner asks the store whether a cancel was requested and stops there if so.

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

export interface FailedStep {
  seq: number;
  name: string;
  host: string | null;
  error: string;
  exitCode: number;
}

export interface RunResult {
  status: TaskStatus;
  /** Steps executed or skipped in this run. */
  ran: number;
  failed?: FailedStep;
  /** Who cancelled it, when this run stopped on a cancel request. */
  cancelledBy?: string;
}

export interface RunEnv {
  ctx: Context;
  db: Db;
  store: TaskStore;
  task: TaskRow;
  lease: Lease;
}

/** A step that ran past its timeout. */
export class StepTimeoutError extends RemoteError {
  constructor(name: string, sec: number, host: string | null) {
    super(`${name} timed out after ${sec}s`, host ? { host } : {});
  }
}

const DETAIL_MAX = 1024;

function clip(s: string, n = DETAIL_MAX): string {
  const one = oneLine(s);
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

/** How every command names the step a task failed at: "step 13 do_init_mysql_db_slave on nc-a02: …". */
export function failureText(f: Pick<FailedStep, 'seq' | 'name' | 'host' | 'error'>): string {
  return `step ${f.seq} ${f.name}${f.host ? ` on ${f.host}` : ''}: ${f.error}`;
}

export function firstUnfinished(states: ReadonlyArray<Pick<StepRow, 'status'>>): number {
  return states.findIndex((s) => !FINISHED_STEP.has(s.status));
}

/** The steps that run together starting at index i: one step, or its consecutive group. */
export function batchAt<C, N>(steps: ReadonlyArray<StepDef<C, N>>, states: ReadonlyArray<Pick<StepRow, 'status'>>, i: number): number[] {
  const out = [i];
  const g = steps[i]!.group;
  if (!g) return out;
  for (let j = i + 1; j < steps.length && steps[j]!.group === g && !FINISHED_STEP.has(states[j]!.status); j++) out.push(j);
  return out;
}

function outcomeOf(o: StepOutcome): { detail: string | null; result: JsonValue | undefined } {
  if (o === undefined || o === null) return { detail: null, result: undefined };
  if (typeof o === 'string') return { detail: o, result: undefined };
  if (o.result !== undefined) {
    const size = JSON.stringify(o.result).length;
    // A result is for small facts; a bigger one is a bug in the flow (exit 1), not a remote failure.
    if (size > RESULT_MAX) throw new InternalError(`step result is ${size} bytes of JSON; at most ${RESULT_MAX}`);
  }
  return { detail: o.detail ?? null, result: o.result };
}

/** Mark a task cancelled under a lease the caller holds (the runner at a step boundary, or `task cancel`). */
export async function cancelUnderLease(lease: Lease, flow: AnyFlow | null, task: TaskRow, by: string): Promise<void> {
  await lease.apply({ task: { status: 'cancelled', error: clip(`cancelled by ${by}`), currentStep: null, finished: 'now', clearCancel: true } }, flow?.onCancel ? (tx) => flow.onCancel!(tx, task) : undefined);
}

export async function runTask(flow: AnyFlow, env: RunEnv, mode: RunMode, progress?: Progress): Promise<RunResult> {
  const { ctx, store, task, lease } = env;
  const clock = ctx.clock;
  const run = new AbortController();
  const onInterrupt = (): void => run.abort(new InterruptedError(`interrupted during task ${task.id}`));
  if (ctx.signal.aborted) onInterrupt();
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });
  lease.onLost((why) => run.abort(new LeaseLostError(task.id, why)));
  lease.startRenewal();
  const t0 = clock.now().getTime();
  const since = (t: number): number => clock.now().getTime() - t;
  let ran = 0;
  try {
    const states = await store.loadSteps(task.id);
    checkShape(flow, task, states);
    const cancelled = async (): Promise<RunResult | null> => {
      const by = await store.cancelRequested(task.id);
      if (by === null) return null;
      await cancelUnderLease(lease, flow, task, by);
      return { status: 'cancelled', ran, cancelledBy: by };
    };
    const early = await cancelled();
    if (early) return early;

    const base = flowBase({ ctx, db: env.db, store, task, lease, signal: run.signal, steps: () => states });
    const c = await flow.load({ ctx, db: env.db, store, task, lease, signal: run.signal, base });
    await lease.apply({ task: { status: 'running', error: null, started: 'keep', finished: null } }, flow.onRun ? (tx) => flow.onRun!(c, tx) : undefined);

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
      const stop = await cancelled();
      if (stop) return stop;
      const failure = await runBatch(batch);
      ran += batch.length;
      if (failure) return failure;
    }

    if (firstUnfinished(states) < 0) {
      await lease.apply({ task: { status: 'done', currentStep: null, error: null, finished: 'now', clearCancel: true } }, (tx) => flow.onDone(c, tx));
      return { status: 'done', ran };
    }
    // Driven by hand (step run): workers must leave the task alone until `resume`.
    await lease.apply({ task: { status: 'paused' } });
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
        const why = clip(reason, 255);
        await lease.apply({ steps: [{ seqs: [i + 1], change: { status: 'skipped', skipReason: why, error: null, detail: null, host: null, started: 'now', finished: 'now' } }] });
        Object.assign(states[i]!, { status: 'skipped', skip_reason: why });
        progress?.step({ seq: i + 1, total, name: def.name, host: null, status: 'skipped', ms: 0, elapsedMs: since(t0), detail: reason });
      }
      if (!live.length) return null;
      const outcomes = await Promise.all(live.map((i) => runOne(i)));
      const lost = outcomes.find((o): o is LeaseLostError => o instanceof LeaseLostError);
      if (lost) throw lost;
      // Several steps of a group may fail at once: the task is named after the first of them, the
      // same step everywhere (the command's message, task list, instance show).
      const failed = outcomes.filter((o): o is FailedStep => o !== null && !(o instanceof LeaseLostError)).sort((a, b) => a.seq - b.seq)[0];
      if (!failed) return null;
      const taskError = clip(failureText(failed));
      await lease.apply({ task: { status: 'failed', error: taskError, currentStep: `${failed.seq} ${failed.name}`, finished: 'now' } }, flow.onFail ? (tx) => flow.onFail!(c, tx, taskError) : undefined);
      return { status: 'failed', ran: ran + batch.length, failed };
    }

    async function runOne(i: number): Promise<FailedStep | LeaseLostError | null> {
      const def = flow.steps[i]!;
      const st = states[i]!;
      const nodes = flow.nodesOf(c, def.role);
      const host = nodes.length ? nodes.map((n: unknown) => flow.hostName(n)).join(',') : null;
      const attempt = st.attempts;
      await lease.apply({
        task: { currentStep: `${i + 1} ${def.name}` },
        steps: [{ seqs: [i + 1], change: { status: 'running', attempt: true, host, error: null, detail: null, skipReason: null, started: 'now', finished: null } }],
      });
      Object.assign(st, { status: 'running', attempts: attempt + 1, host });
      const s0 = clock.now().getTime();
      const stepAc = new AbortController();
      const relay = (): void => stepAc.abort(run.signal.reason);
      if (run.signal.aborted) relay();
      run.signal.addEventListener('abort', relay, { once: true });
      const timerAc = new AbortController();
      clock.sleep(def.timeoutSec * 1000, timerAc.signal).then(
        () => stepAc.abort(new StepTimeoutError(def.name, def.timeoutSec, host)),
        () => undefined,
      );
      const scope: StepScope = { signal: stepAc.signal, attempt };
      let out: { detail: string | null; result: JsonValue | undefined } = { detail: null, result: undefined };
      let error: unknown = null;
      try {
        const work = (async () => {
          if (attempt > 0 && def.probe && (await def.probe(c, nodes, scope))) return outcomeOf('already done (probe)');
          return outcomeOf(await def.run(c, nodes, scope));
        })();
        out = await abortable(work, stepAc.signal);
      } catch (e) {
        error = stepAc.signal.aborted ? (stepAc.signal.reason ?? e) : e;
      } finally {
        timerAc.abort();
        run.signal.removeEventListener('abort', relay);
      }
      const ms = since(s0);
      if (error instanceof LeaseLostError || lease.isLost()) return error instanceof LeaseLostError ? error : new LeaseLostError(task.id, 'lost during the step');
      if (error === null) {
        const detail = out.detail === null ? null : clip(out.detail);
        await lease.apply({ steps: [{ seqs: [i + 1], change: { status: 'done', detail, finished: 'now', ...(out.result !== undefined ? { result: out.result } : {}) } }] });
        Object.assign(st, { status: 'done', detail, ...(out.result !== undefined ? { result: out.result } : {}) });
        progress?.step({ seq: i + 1, total, name: def.name, host, status: 'done', ms, elapsedMs: since(t0), detail });
        return null;
      }
      const d = describeError(error);
      const where = error instanceof RemoteError && error.host ? error.host : host;
      const message = clip(d.message || String(error));
      await lease.apply({ steps: [{ seqs: [i + 1], change: { status: 'failed', error: message, finished: 'now' } }] });
      Object.assign(st, { status: 'failed', error: message });
      progress?.step({ seq: i + 1, total, name: def.name, host, status: 'failed', ms, elapsedMs: since(t0), detail: message });
      // The step's own code: a program error stays exit 1, a remote failure 5, Ctrl-C 130.
      const exitCode = error instanceof InterruptedError ? ExitCode.INTERRUPTED : d.exitCode;
      return { seq: i + 1, name: def.name, host: where, error: message, exitCode };
    }
  } finally {
    ctx.signal.removeEventListener('abort', onInterrupt);
    await lease.release();
  }
}

/** The step's own promise, or the abort reason as soon as its signal fires (the step may not notice). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
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

/** A task's rows must be its flow version's table: anything else is refused, not guessed at. */
function checkShape(flow: AnyFlow, task: TaskRow, states: StepRow[]): void {
  const steps = flow.steps as ReadonlyArray<StepDef<unknown, unknown>>;
  const same = states.length === steps.length && states.every((s, i) => s.seq === i + 1 && s.step_name === steps[i]!.name && s.role === steps[i]!.role);
  if (!same) throw new UnknownFlowError(task, `its ${states.length} steps do not match flow ${flow.name} version ${task.flow_version} (${steps.length} steps) of this rdsctl`);
}
