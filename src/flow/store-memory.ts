import { InternalError, NotFoundError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Db } from '../remote/mysql.js';
import {
  FENCE_LOST,
  FINISHED_STEP,
  OPEN_TASK,
  type ClaimResult,
  type ClaimableView,
  type Fence,
  type Mutation,
  type NewTask,
  type StepChange,
  type StepRow,
  type TaskFilter,
  type TaskListRow,
  type TaskRow,
  type TaskStore,
} from './store.js';
import type { Target, TaskStatus } from './types.js';

// The TaskStore in process memory, with the MariaDB store's rules (one claim winner, fences
// judged by the clock, a fenced change all or nothing). It exists so the engine's rules are
// unit-tested without a database; leases expire by the injected clock, so a test moves time
// instead of sleeping. Nothing survives the process: it is not for production use.

/** A Db for flow hooks in memory-store tests: every call is a surprise unless the test gives one. */
export function refusingDb(): Db {
  const no = (what: string) => (): never => {
    throw new InternalError(`MemoryStore: the flow called db.${what}() but this test gave the store no Db`);
  };
  return { name: 'memory', where: 'memory', query: no('query'), execute: no('execute'), transaction: no('transaction'), stream: no('stream'), close: async () => undefined } as Db;
}

export class MemoryStore implements TaskStore {
  readonly kind = 'memory' as const;
  private readonly tasks = new Map<number, TaskRow>();
  private readonly steps = new Map<number, StepRow[]>();
  private nextId = 1;
  private readonly db: Db;

  constructor(
    private readonly clock: Clock,
    o: { db?: Db } = {},
  ) {
    this.db = o.db ?? refusingDb();
  }

  private stamp(): Date {
    return new Date(this.clock.now().getTime());
  }

  private row(id: number): TaskRow {
    const t = this.tasks.get(id);
    if (!t) throw new NotFoundError(`task ${id} does not exist in the memory store`);
    return t;
  }

  private live(t: TaskRow): boolean {
    return t.lease_owner !== null && t.lease_expires_at !== null && t.lease_expires_at.getTime() > this.clock.now().getTime();
  }

  private holds(f: Fence): boolean {
    const t = this.tasks.get(f.taskId);
    return !!t && t.lease_owner === f.owner && t.fencing_token === f.token && this.live(t);
  }

  async insertTask(n: NewTask): Promise<number> {
    const id = this.nextId++;
    this.tasks.set(id, {
      id,
      custins_id: n.custinsId,
      target_kind: n.target.kind,
      target_id: n.target.id,
      flow: n.flow,
      flow_version: n.flowVersion,
      status: 'pending',
      params: structuredClone(n.params),
      lease_owner: null,
      lease_expires_at: null,
      fencing_token: 0,
      current_step: null,
      error: null,
      cancel_requested: null,
      created_by: n.createdBy,
      gmt_created: this.stamp(),
      gmt_started: null,
      gmt_finished: null,
    });
    this.steps.set(
      id,
      n.steps.map((s, i) => ({ task_id: id, seq: i + 1, step_name: s.name, role: s.role, status: 'pending', attempts: 0, host: null, skip_reason: null, error: null, detail: null, result: null, gmt_started: null, gmt_finished: null })),
    );
    return id;
  }

  async getTask(id: number): Promise<TaskRow> {
    return structuredClone(this.row(id));
  }

  async loadSteps(taskId: number): Promise<StepRow[]> {
    return structuredClone(this.steps.get(taskId) ?? []);
  }

  private matches(t: TaskRow, target: Target): boolean {
    return t.target_kind === target.kind && t.target_id === target.id;
  }

  async listTasks(f: TaskFilter): Promise<TaskListRow[]> {
    return [...this.tasks.values()]
      .filter((t) => (!f.status || t.status === f.status) && (f.custinsId === undefined || t.custins_id === f.custinsId) && (!f.flow || t.flow === f.flow) && (!f.kind || t.target_kind === f.kind) && (!f.target || this.matches(t, f.target)))
      .sort((a, b) => b.id - a.id)
      .slice(0, f.limit)
      .map(({ params: _p, ...t }) => {
        const st = this.steps.get(t.id) ?? [];
        const failed = st.find((s) => s.status === 'failed');
        return { ...structuredClone(t), ins_name: null, steps_total: st.length, steps_finished: st.filter((s) => FINISHED_STEP.has(s.status)).length, failed_step: failed ? `${failed.seq} ${failed.step_name}` : null };
      });
  }

  async latestTask(target: Target, flow?: string): Promise<TaskRow | null> {
    const hit = [...this.tasks.values()].filter((t) => this.matches(t, target) && (!flow || t.flow === flow)).sort((a, b) => b.id - a.id)[0];
    return hit ? structuredClone(hit) : null;
  }

  async latestTaskOfCustins(custinsId: number, flow?: string): Promise<TaskRow | null> {
    const hit = [...this.tasks.values()].filter((t) => t.custins_id === custinsId && (!flow || t.flow === flow)).sort((a, b) => b.id - a.id)[0];
    return hit ? structuredClone(hit) : null;
  }

  async openTasks(q: { custinsId?: number; target?: Target }): Promise<TaskRow[]> {
    return [...this.tasks.values()]
      .filter((t) => OPEN_TASK.includes(t.status) && (q.custinsId === undefined || t.custins_id === q.custinsId) && (!q.target || this.matches(t, q.target)))
      .sort((a, b) => a.id - b.id)
      .map((t) => structuredClone(t));
  }

  async claimable(limit: number, o: { leased?: boolean } = {}): Promise<ClaimableView[]> {
    return [...this.tasks.values()]
      .filter((t) => (t.status === 'pending' || t.status === 'running') && (o.leased || !this.live(t)))
      .sort((a, b) => a.id - b.id)
      .slice(0, limit)
      .map((t) => {
        const next = (this.steps.get(t.id) ?? []).find((s) => !FINISHED_STEP.has(s.status));
        return {
          id: t.id,
          ins_name: null,
          flow: t.flow,
          target_kind: t.target_kind,
          target_id: t.target_id,
          status: t.status,
          next_step: next ? `${next.seq} ${next.step_name}:${next.role}` : null,
          lease_owner: t.lease_owner,
          lease_expires_at: t.lease_expires_at,
          lease_live: this.live(t),
        };
      });
  }

  async claim(taskId: number, owner: string, ttlMs: number, allow: readonly TaskStatus[]): Promise<ClaimResult> {
    const t = this.tasks.get(taskId);
    if (!t) return { ok: false, why: 'missing' };
    if (!allow.includes(t.status)) return { ok: false, why: 'status', status: t.status };
    if (this.live(t)) return { ok: false, why: 'held', status: t.status, owner: t.lease_owner, expiresAt: t.lease_expires_at, token: t.fencing_token };
    t.lease_owner = owner;
    t.lease_expires_at = new Date(this.clock.now().getTime() + ttlMs);
    t.fencing_token += 1;
    return { ok: true, token: t.fencing_token };
  }

  async takeOver(taskId: number, owner: string, ttlMs: number, from: { owner: string; token: number }): Promise<number | null> {
    const t = this.tasks.get(taskId);
    if (!t || t.lease_owner !== from.owner || t.fencing_token !== from.token) return null;
    t.lease_owner = owner;
    t.lease_expires_at = new Date(this.clock.now().getTime() + ttlMs);
    t.fencing_token += 1;
    return t.fencing_token;
  }

  async renew(f: Fence, ttlMs: number): Promise<boolean> {
    if (!this.holds(f)) return false;
    this.row(f.taskId).lease_expires_at = new Date(this.clock.now().getTime() + ttlMs);
    return true;
  }

  async release(f: Fence): Promise<void> {
    const t = this.tasks.get(f.taskId);
    if (t && t.lease_owner === f.owner && t.fencing_token === f.token) {
      t.lease_owner = null;
      t.lease_expires_at = null;
    }
  }

  async fenced(f: Fence, m: Mutation, hook?: (tx: Db) => Promise<void>): Promise<boolean> {
    if (!this.holds(f)) return false;
    // All or nothing, like the SQL transaction: work on copies, keep them only if the hook succeeds.
    const task = structuredClone(this.row(f.taskId));
    const steps = structuredClone(this.steps.get(f.taskId) ?? []);
    const now = this.stamp();
    if (m.task) {
      const c = m.task;
      if (c.status !== undefined) task.status = c.status;
      if (c.error !== undefined) task.error = c.error;
      if (c.currentStep !== undefined) task.current_step = c.currentStep;
      if (c.started === 'now' || (c.started === 'keep' && !task.gmt_started)) task.gmt_started = now;
      if (c.finished !== undefined) task.gmt_finished = c.finished === 'now' ? now : null;
      if (c.clearCancel) task.cancel_requested = null;
    }
    for (const st of m.steps ?? []) {
      const pick = Array.isArray(st.seqs) ? (s: StepRow) => (st.seqs as number[]).includes(s.seq) : (s: StepRow) => s.seq >= (st.seqs as { from: number }).from && ((st.seqs as { to?: number }).to === undefined || s.seq <= (st.seqs as { to: number }).to);
      for (const s of steps) if (pick(s) && !st.change.unlessStatus?.includes(s.status)) applyStep(s, st.change, now);
    }
    if (hook) await hook(this.db);
    if (!this.holds(f)) return false;
    this.tasks.set(f.taskId, { ...task, lease_owner: this.row(f.taskId).lease_owner, lease_expires_at: this.row(f.taskId).lease_expires_at, fencing_token: this.row(f.taskId).fencing_token, cancel_requested: m.task?.clearCancel ? null : this.row(f.taskId).cancel_requested });
    this.steps.set(f.taskId, steps);
    return true;
  }

  async fencedTx<T>(f: Fence, fn: (tx: Db) => Promise<T>): Promise<T | typeof FENCE_LOST> {
    if (!this.holds(f)) return FENCE_LOST;
    return fn(this.db);
  }

  async requestCancel(taskId: number, by: string): Promise<void> {
    this.row(taskId).cancel_requested = by.slice(0, 255);
  }

  async cancelRequested(taskId: number): Promise<string | null> {
    return this.row(taskId).cancel_requested;
  }

  async now(): Promise<Date> {
    return this.stamp();
  }

  /** For tests: change a task row as another process (or a crash) would. */
  poke(taskId: number, change: Partial<TaskRow>): void {
    Object.assign(this.row(taskId), change);
  }
}

function applyStep(s: StepRow, c: StepChange, now: Date): void {
  s.status = c.status;
  if (c.attempt) s.attempts += 1;
  if (c.host !== undefined) s.host = c.host;
  if (c.error !== undefined) s.error = c.error;
  if (c.detail !== undefined) s.detail = c.detail;
  if (c.skipReason !== undefined) s.skip_reason = c.skipReason;
  if (c.result !== undefined) s.result = structuredClone(c.result);
  if (c.started !== undefined) s.gmt_started = c.started === 'now' ? now : null;
  if (c.finished !== undefined) s.gmt_finished = c.finished === 'now' ? now : null;
}
