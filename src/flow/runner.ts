import type { Context } from '../core/context.js';
import { runTask, type Progress, type RunMode, type RunResult } from './engine.js';
import { flows } from './flows.js';
import { Lease, newOwner, type TaskBusyError, type TaskStateError } from './lease.js';
import type { FlowRegistry } from './registry.js';
import { sqlStore } from './store-sql.js';
import type { TaskRow, TaskStore } from './store.js';
import type { TaskStatus } from './types.js';

// Claim a task and run it: what `instance create`, `task run|retry|resume`, `instance step` and
// `worker` share.

export const DEFAULT_LEASE_TTL_SEC = 30;

/** Which task states each way of running accepts. */
export const CLAIMABLE: Record<'worker' | 'resume' | 'run' | 'retry' | 'control', TaskStatus[]> = {
  worker: ['pending', 'running'],
  resume: ['pending', 'running', 'failed', 'paused'],
  run: ['pending', 'running', 'failed', 'paused', 'done'],
  retry: ['failed', 'paused', 'running'],
  control: ['pending', 'running', 'failed', 'paused', 'done'],
};

export interface RunOptions {
  allow: readonly TaskStatus[];
  mode: RunMode;
  ttlSec: number;
  progress?: Progress;
  /** Defaults: the dbaas store and the flows of this binary. */
  store?: TaskStore;
  registry?: FlowRegistry;
}

export function taskStore(ctx: Context): TaskStore {
  return sqlStore(ctx.db('dbaas'));
}

/** Claim, then run under the lease (released at the end whatever happens). Another runner holding it: null with why. */
export async function tryClaimAndRun(ctx: Context, taskId: number, o: RunOptions): Promise<{ task: TaskRow; result: RunResult } | { busy: TaskBusyError | TaskStateError }> {
  const store = o.store ?? taskStore(ctx);
  // A task this binary cannot run is refused before its lease is touched.
  const flow = (o.registry ?? flows).forTask(await store.getTask(taskId));
  const r = await Lease.tryClaim(store, taskId, { owner: newOwner(), ttlSec: o.ttlSec, allow: o.allow, clock: ctx.clock });
  if (!('lease' in r)) return { busy: 'busy' in r ? r.busy : r.state };
  let task: TaskRow;
  try {
    task = await store.getTask(taskId);
  } catch (e) {
    await r.lease.release();
    throw e;
  }
  const result = await runTask(flow, { ctx, db: ctx.db('dbaas'), store, task, lease: r.lease }, o.mode, o.progress);
  return { task, result };
}

/** tryClaimAndRun for commands: a busy task is a ConflictError (exit 9). */
export async function claimAndRun(ctx: Context, taskId: number, o: RunOptions): Promise<{ task: TaskRow; result: RunResult }> {
  const r = await tryClaimAndRun(ctx, taskId, o);
  if ('busy' in r) throw r.busy;
  return r;
}

/** Under a short lease: for operator changes that do not run steps (skip, goto, cancel). */
export async function withLease<T>(ctx: Context, store: TaskStore, taskId: number, o: { ttlSec: number; allow?: readonly TaskStatus[] }, fn: (lease: Lease) => Promise<T>): Promise<T> {
  const lease = await Lease.claim(store, taskId, { owner: newOwner(), ttlSec: o.ttlSec, allow: o.allow ?? CLAIMABLE.control, clock: ctx.clock });
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}
