import { InternalError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import type { JsonValue, StepRole, StepStatus, Target, TaskStatus } from './types.js';

// The persisted state of every flow run, behind one interface. MariaDbStore (store-sql.ts) keeps
// it in dbaas.task_queue / task_step; MemoryStore (store-memory.ts) keeps it in process with the
// same rules, so the engine's rules are unit-tested without a database (TaskFlow's memory
// backend beside its SQL one). Every change a runner makes while it works is fenced: it applies
// only while the runner's (owner, token) is the task's current, unexpired lease.

export interface TaskParams {
  [key: string]: unknown;
}

export interface TaskRow {
  id: number;
  /** The instance the task concerns (for instance targets, and for others tied to one), else null. */
  custins_id: number | null;
  target_kind: string;
  target_id: string;
  flow: string;
  flow_version: number;
  status: TaskStatus;
  params: TaskParams;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  fencing_token: number;
  current_step: string | null;
  error: string | null;
  /** Who asked for a cancel the runner has not acted on yet (it stops at its next step boundary). */
  cancel_requested: string | null;
  created_by: string | null;
  gmt_created: Date;
  gmt_started: Date | null;
  gmt_finished: Date | null;
}

export interface StepRow {
  task_id: number;
  seq: number;
  step_name: string;
  role: StepRole;
  status: StepStatus;
  attempts: number;
  host: string | null;
  skip_reason: string | null;
  error: string | null;
  detail: string | null;
  /** The step's JSON result, read by later steps (base.result()). */
  result: JsonValue | null;
  gmt_started: Date | null;
  gmt_finished: Date | null;
}

export interface NewTask {
  target: Target;
  custinsId: number | null;
  flow: string;
  flowVersion: number;
  params: TaskParams;
  createdBy: string;
  steps: ReadonlyArray<{ name: string; role: StepRole }>;
}

export interface TaskListRow extends Omit<TaskRow, 'params'> {
  ins_name: string | null;
  steps_total: number;
  steps_finished: number;
  /** "seq name" of the failed step, the one name used everywhere a failure is shown. */
  failed_step: string | null;
}

export interface TaskFilter {
  status?: TaskStatus;
  custinsId?: number;
  flow?: string;
  kind?: string;
  target?: Target;
  limit: number;
}

/** A task a worker could take, with what `worker --dry-run` shows. */
export interface ClaimableView {
  id: number;
  ins_name: string | null;
  flow: string;
  target_kind: string;
  target_id: string;
  status: TaskStatus;
  /** "seq name:role" of the first step neither done nor skipped, null when none is left. */
  next_step: string | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  /** The lease is unexpired (only offered when its holder may be provably dead). */
  lease_live: boolean;
}

/** The lease a fenced change requires: this owner, this token, not expired. */
export interface Fence {
  taskId: number;
  owner: string;
  token: number;
}

export type ClaimResult =
  | { ok: true; token: number }
  | { ok: false; why: 'missing' }
  | { ok: false; why: 'status'; status: TaskStatus }
  | { ok: false; why: 'held'; status: TaskStatus; owner: string | null; expiresAt: Date | null; token: number };

/** 'now' stamps the store's clock; null clears; 'keep' (for started) stamps only when unset. */
export interface TaskChange {
  status?: TaskStatus;
  error?: string | null;
  currentStep?: string | null;
  started?: 'now' | 'keep';
  finished?: 'now' | null;
  /** Forget a cancel request (it has been acted on). */
  clearCancel?: boolean;
}

export interface StepChange {
  status: StepStatus;
  /** Count one more start. */
  attempt?: boolean;
  host?: string | null;
  error?: string | null;
  detail?: string | null;
  skipReason?: string | null;
  /** undefined keeps the result. */
  result?: JsonValue | null;
  started?: 'now' | null;
  finished?: 'now' | null;
  /** Only steps whose status is not one of these change (goto forward skips the unfinished ones only). */
  unlessStatus?: StepStatus[];
}

/** One atomic change under a fence: the task row, some steps, and the flow's own metadb writes. */
export interface Mutation {
  task?: TaskChange;
  steps?: Array<{ seqs: number[] | { from: number; to?: number }; change: StepChange }>;
}

export interface TaskStore {
  /** The flow hooks' transaction handle (the MariaDB transaction, or the memory store's double). */
  readonly kind: 'mariadb' | 'memory';
  insertTask(t: NewTask): Promise<number>;
  getTask(id: number): Promise<TaskRow>;
  loadSteps(taskId: number): Promise<StepRow[]>;
  listTasks(f: TaskFilter): Promise<TaskListRow[]>;
  /** The newest task of a target (of one flow when given). */
  latestTask(target: Target, flow?: string): Promise<TaskRow | null>;
  /** The newest task concerning an instance, whatever its target (of one flow when given). */
  latestTaskOfCustins(custinsId: number, flow?: string): Promise<TaskRow | null>;
  /** Unfinished tasks (pending, running, paused) concerning an instance or a target. */
  openTasks(q: { custinsId?: number; target?: Target }): Promise<TaskRow[]>;
  /** pending/running tasks whose lease is free or expired; with leased: also those under a live lease. */
  claimable(limit: number, o?: { leased?: boolean }): Promise<ClaimableView[]>;

  /** One conditional change: exactly one of several concurrent claimers gets ok. */
  claim(taskId: number, owner: string, ttlMs: number, allow: readonly TaskStatus[]): Promise<ClaimResult>;
  /** Take the lease from a holder proven dead: only if it still is that holder with that token. */
  takeOver(taskId: number, owner: string, ttlMs: number, from: { owner: string; token: number }): Promise<number | null>;
  /** Extend an unexpired lease; false when it is gone. */
  renew(f: Fence, ttlMs: number): Promise<boolean>;
  /** Owner cleared, token kept (it only ever grows). */
  release(f: Fence): Promise<void>;

  /** Apply m (and then hook, in the same transaction) only under the fence; false when the fence failed. */
  fenced(f: Fence, m: Mutation, hook?: (tx: Db) => Promise<void>): Promise<boolean>;
  /** The flow's metadb writes in a transaction that first checks the fence; FENCE_LOST when it failed. */
  fencedTx<T>(f: Fence, fn: (tx: Db) => Promise<T>): Promise<T | typeof FENCE_LOST>;
  /** Record a cancel request (no lease needed: the runner acts on it at its next step boundary). */
  requestCancel(taskId: number, by: string): Promise<void>;
  /** The pending cancel request of a task, or null. */
  cancelRequested(taskId: number): Promise<string | null>;
  /** The time the store judges leases by. */
  now(): Promise<Date>;
}

export const FENCE_LOST: unique symbol = Symbol('fence lost');

export const FINISHED_STEP: ReadonlySet<StepStatus> = new Set(['done', 'skipped']);
export const OPEN_TASK: readonly TaskStatus[] = ['pending', 'running', 'paused'];

/** Longest JSON a step may record (a result is for small facts, not data). */
export const RESULT_MAX = 64 * 1024;

export function checkTarget(t: Target): Target {
  // A bad target is a bug in the flow that built it (exit 1), not an operator's input.
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(t.kind)) throw new InternalError(`target kind "${t.kind}" is not [a-z][a-z0-9_]{0,31}`);
  if (!t.id || t.id.length > 128 || /[\x00-\x1f\x7f]/.test(t.id)) throw new InternalError(`target id "${t.id.slice(0, 40)}" is empty, longer than 128 or has control characters`);
  return t;
}

/** "seq name" of a failed step: how every command names the step a task failed at. */
export function failedStepName(rows: ReadonlyArray<Pick<StepRow, 'seq' | 'step_name' | 'status'>>): string | null {
  const f = rows.find((r) => r.status === 'failed');
  return f ? `${f.seq} ${f.step_name}` : null;
}
