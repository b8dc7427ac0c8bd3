import type { Context } from '../core/context.js';
import { ConflictError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import { runTask, type Progress, type RunMode, type RunResult } from './engine.js';
import { flowByName } from './flows.js';
import { Lease, newOwner } from './lease.js';
import { getTask, type TaskRow } from './store.js';
import type { TaskStatus } from './types.js';

// Claim a task and run it: what `instance create`, `instance step` and `worker` share.

export const DEFAULT_LEASE_TTL_SEC = 30;

/** Which task states each way of running accepts. */
export const CLAIMABLE: Record<'worker' | 'resume' | 'run' | 'retry' | 'control', TaskStatus[]> = {
  worker: ['pending', 'running'],
  resume: ['pending', 'running', 'failed', 'paused'],
  run: ['pending', 'running', 'failed', 'paused', 'done'],
  retry: ['failed', 'paused', 'running'],
  control: ['pending', 'running', 'failed', 'paused', 'done'],
};

export async function claim(db: Db, task: TaskRow, allow: TaskStatus[], ttlSec: number): Promise<Lease> {
  return Lease.claim(db, task.id, { owner: newOwner(), ttlSec, allow });
}

/** Claim, then run under the lease (released at the end whatever happens). */
export async function claimAndRun(ctx: Context, taskId: number, o: { allow: TaskStatus[]; mode: RunMode; ttlSec: number; progress?: Progress }): Promise<{ task: TaskRow; result: RunResult }> {
  const db = ctx.db('dbaas');
  const lease = await Lease.claim(db, taskId, { owner: newOwner(), ttlSec: o.ttlSec, allow: o.allow });
  let task: TaskRow;
  try {
    task = await getTask(db, taskId);
  } catch (e) {
    await lease.release();
    throw e;
  }
  const flow = flowByName(task.flow);
  const result = await runTask(flow, { ctx, db, task, lease }, o.mode, o.progress);
  return { task, result };
}

/** Under a short lease: for operator changes that do not run steps (skip, goto). */
export async function withLease<T>(db: Db, task: TaskRow, ttlSec: number, fn: (lease: Lease) => Promise<T>): Promise<T> {
  if (task.status === 'cancelled') throw new ConflictError(`task ${task.id} is cancelled`);
  const lease = await claim(db, task, CLAIMABLE.control, ttlSec);
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}
