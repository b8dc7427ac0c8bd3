import { NotFoundError, ConfigError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import {
  FENCE_LOST,
  OPEN_TASK,
  type ClaimResult,
  type ClaimableView,
  type Fence,
  type Mutation,
  type NewTask,
  type StepChange,
  type StepRow,
  type TaskChange,
  type TaskFilter,
  type TaskListRow,
  type TaskRow,
  type TaskStore,
} from './store.js';
import type { JsonValue, Target, TaskStatus } from './types.js';

// The TaskStore on dbaas.task_queue / task_step. The claim is one conditional UPDATE (MariaDB's
// row lock picks the one winner); every fenced change is a transaction that first locks the task
// row under the fence (owner, token, unexpired by the metadb's clock) and changes nothing when it
// no longer holds. Leases are judged by the metadb's NOW(3), the one clock all runners share.

const TASK_COLS =
  'q.id, q.custins_id, q.target_kind, q.target_id, q.flow, q.flow_version, q.status, q.params, q.lease_owner, q.lease_expires_at, q.fencing_token, q.current_step, q.error, q.cancel_requested, q.created_by, q.gmt_created, q.gmt_started, q.gmt_finished';
const STEP_COLS = 'task_id, seq, step_name, role, status, attempts, host, skip_reason, error, detail, result, gmt_started, gmt_finished';
const FENCE_SQL = 'id = ? AND lease_owner = ? AND fencing_token = ? AND lease_expires_at > NOW(3)';

type RawTask = Omit<TaskRow, 'params' | 'target_id' | 'fencing_token' | 'flow_version'> & { params: string; target_id: string | null; fencing_token: number | string; flow_version: number | null };
type RawStep = Omit<StepRow, 'result'> & { result: string | null };

function parseTask(r: RawTask): TaskRow {
  let params: TaskRow['params'];
  try {
    params = JSON.parse(r.params) as TaskRow['params'];
  } catch {
    throw new ConfigError(`dbaas.task_queue ${r.id}: params is not JSON`);
  }
  // Rows written before targets existed are instance tasks: their target is their custins.
  const target_id = r.target_id ?? (r.custins_id === null ? '' : String(r.custins_id));
  return { ...r, params, target_id, target_kind: r.target_kind ?? 'instance', flow_version: Number(r.flow_version ?? 1), fencing_token: Number(r.fencing_token) };
}

function parseStep(r: RawStep): StepRow {
  let result: JsonValue | null = null;
  if (r.result !== null && r.result !== undefined) {
    try {
      result = JSON.parse(r.result) as JsonValue;
    } catch {
      throw new ConfigError(`dbaas.task_step ${r.task_id}/${r.seq}: result is not JSON`);
    }
  }
  return { ...r, attempts: Number(r.attempts), result };
}

/** Instance targets are found by custins_id (indexed, and filled on rows older than targets). */
function targetWhere(t: Target): { sql: string; params: unknown[] } {
  if (t.kind === 'instance' && /^\d{1,10}$/.test(t.id)) return { sql: "q.target_kind = 'instance' AND q.custins_id = ?", params: [Number(t.id)] };
  return { sql: 'q.target_kind = ? AND q.target_id = ?', params: [t.kind, t.id] };
}

function taskSet(c: TaskChange): { sql: string[]; params: unknown[] } {
  const sql: string[] = [];
  const params: unknown[] = [];
  if (c.status !== undefined) (sql.push('status = ?'), params.push(c.status));
  if (c.error !== undefined) (sql.push('error = ?'), params.push(c.error));
  if (c.currentStep !== undefined) (sql.push('current_step = ?'), params.push(c.currentStep));
  if (c.started === 'now') sql.push('gmt_started = NOW()');
  if (c.started === 'keep') sql.push('gmt_started = COALESCE(gmt_started, NOW())');
  if (c.finished === 'now') sql.push('gmt_finished = NOW()');
  if (c.finished === null) sql.push('gmt_finished = NULL');
  if (c.clearCancel) sql.push('cancel_requested = NULL');
  return { sql, params };
}

function stepSet(c: StepChange): { sql: string[]; params: unknown[] } {
  const sql = ['status = ?'];
  const params: unknown[] = [c.status];
  if (c.attempt) sql.push('attempts = attempts + 1');
  if (c.host !== undefined) (sql.push('host = ?'), params.push(c.host));
  if (c.error !== undefined) (sql.push('error = ?'), params.push(c.error));
  if (c.detail !== undefined) (sql.push('detail = ?'), params.push(c.detail));
  if (c.skipReason !== undefined) (sql.push('skip_reason = ?'), params.push(c.skipReason));
  if (c.result !== undefined) (sql.push('result = ?'), params.push(c.result === null ? null : JSON.stringify(c.result)));
  if (c.started === 'now') sql.push('gmt_started = NOW(3)');
  if (c.started === null) sql.push('gmt_started = NULL');
  if (c.finished === 'now') sql.push('gmt_finished = NOW(3)');
  if (c.finished === null) sql.push('gmt_finished = NULL');
  return { sql, params };
}

export class MariaDbStore implements TaskStore {
  readonly kind = 'mariadb' as const;
  constructor(readonly db: Db) {}

  async insertTask(t: NewTask): Promise<number> {
    const r = await this.db.execute('INSERT INTO task_queue (custins_id, target_kind, target_id, flow, flow_version, status, params, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      t.custinsId,
      t.target.kind,
      t.target.id,
      t.flow,
      t.flowVersion,
      'pending',
      JSON.stringify(t.params),
      t.createdBy,
    ]);
    // One multi-row insert: 80 single inserts would be most of the cost of a create's metadb work.
    await this.db.execute('INSERT INTO task_step (task_id, seq, step_name, role) VALUES ?', [t.steps.map((s, i) => [r.insertId, i + 1, s.name, s.role])]);
    return r.insertId;
  }

  async getTask(id: number): Promise<TaskRow> {
    const rows = await this.db.query<RawTask>(`SELECT ${TASK_COLS} FROM task_queue q WHERE q.id = ?`, [id]);
    if (!rows[0]) throw new NotFoundError(`task ${id} does not exist in dbaas.task_queue`);
    return parseTask(rows[0]);
  }

  async loadSteps(taskId: number): Promise<StepRow[]> {
    return (await this.db.query<RawStep>(`SELECT ${STEP_COLS} FROM task_step WHERE task_id = ? ORDER BY seq`, [taskId])).map(parseStep);
  }

  async listTasks(f: TaskFilter): Promise<TaskListRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.status) (where.push('q.status = ?'), params.push(f.status));
    if (f.custinsId !== undefined) (where.push('q.custins_id = ?'), params.push(f.custinsId));
    if (f.flow) (where.push('q.flow = ?'), params.push(f.flow));
    if (f.kind) (where.push('q.target_kind = ?'), params.push(f.kind));
    if (f.target) {
      const t = targetWhere(f.target);
      where.push(t.sql);
      params.push(...t.params);
    }
    params.push(f.limit);
    const rows = await this.db.query<RawTask & { ins_name: string | null; steps_total: number; steps_finished: number; failed_step: string | null }>(
      `SELECT ${TASK_COLS}, c.ins_name,
              (SELECT COUNT(*) FROM task_step s WHERE s.task_id = q.id) AS steps_total,
              (SELECT COUNT(*) FROM task_step s WHERE s.task_id = q.id AND s.status IN ('done', 'skipped')) AS steps_finished,
              (SELECT CONCAT(s.seq, ' ', s.step_name) FROM task_step s WHERE s.task_id = q.id AND s.status = 'failed' ORDER BY s.seq LIMIT 1) AS failed_step
         FROM task_queue q LEFT JOIN custins c ON c.id = q.custins_id
        ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
        ORDER BY q.id DESC LIMIT ?`,
      params,
    );
    return rows.map((r) => {
      const { params: _p, ...rest } = parseTask(r);
      return { ...rest, ins_name: r.ins_name, steps_total: Number(r.steps_total), steps_finished: Number(r.steps_finished), failed_step: r.failed_step };
    });
  }

  async latestTask(target: Target, flow?: string): Promise<TaskRow | null> {
    const t = targetWhere(target);
    const rows = await this.db.query<RawTask>(`SELECT ${TASK_COLS} FROM task_queue q WHERE ${t.sql} ${flow ? 'AND q.flow = ?' : ''} ORDER BY q.id DESC LIMIT 1`, flow ? [...t.params, flow] : t.params);
    return rows[0] ? parseTask(rows[0]) : null;
  }

  async latestTaskOfCustins(custinsId: number, flow?: string): Promise<TaskRow | null> {
    const rows = await this.db.query<RawTask>(`SELECT ${TASK_COLS} FROM task_queue q WHERE q.custins_id = ? ${flow ? 'AND q.flow = ?' : ''} ORDER BY q.id DESC LIMIT 1`, flow ? [custinsId, flow] : [custinsId]);
    return rows[0] ? parseTask(rows[0]) : null;
  }

  async openTasks(q: { custinsId?: number; target?: Target }): Promise<TaskRow[]> {
    const where: string[] = ['q.status IN (?)'];
    const params: unknown[] = [OPEN_TASK];
    if (q.custinsId !== undefined) (where.push('q.custins_id = ?'), params.push(q.custinsId));
    if (q.target) {
      const t = targetWhere(q.target);
      where.push(t.sql);
      params.push(...t.params);
    }
    return (await this.db.query<RawTask>(`SELECT ${TASK_COLS} FROM task_queue q WHERE ${where.join(' AND ')} ORDER BY q.id`, params)).map(parseTask);
  }

  async claimable(limit: number, o: { leased?: boolean } = {}): Promise<ClaimableView[]> {
    const rows = await this.db.query<Omit<ClaimableView, 'lease_live' | 'target_id'> & { lease_live: number; target_id: string | null; custins_id: number | null }>(
      `SELECT q.id, c.ins_name, q.flow, q.target_kind, q.target_id, q.custins_id, q.status, q.lease_owner, q.lease_expires_at,
              (q.lease_owner IS NOT NULL AND q.lease_expires_at IS NOT NULL AND q.lease_expires_at >= NOW(3)) AS lease_live,
              (SELECT CONCAT(s.seq, ' ', s.step_name, ':', s.role) FROM task_step s
                WHERE s.task_id = q.id AND s.status NOT IN ('done', 'skipped') ORDER BY s.seq LIMIT 1) AS next_step
         FROM task_queue q LEFT JOIN custins c ON c.id = q.custins_id
        WHERE q.status IN ('pending', 'running')
          ${o.leased ? '' : 'AND (q.lease_owner IS NULL OR q.lease_expires_at IS NULL OR q.lease_expires_at < NOW(3))'}
        ORDER BY q.id LIMIT ?`,
      [limit],
    );
    return rows.map(({ custins_id, ...r }) => ({ ...r, target_id: r.target_id ?? String(custins_id ?? ''), lease_live: Boolean(Number(r.lease_live)) }));
  }

  async claim(taskId: number, owner: string, ttlMs: number, allow: readonly TaskStatus[]): Promise<ClaimResult> {
    const r = await this.db.execute(CLAIM_SQL, [owner, Math.round(ttlMs * 1000), taskId, allow]);
    if (r.affectedRows === 1) {
      const rows = await this.db.query<{ fencing_token: number | string }>('SELECT fencing_token FROM task_queue WHERE id = ? AND lease_owner = ?', [taskId, owner]);
      // Taken over in between (only possible with a TTL shorter than one round trip): a busy task.
      if (rows[0]) return { ok: true, token: Number(rows[0].fencing_token) };
    }
    const rows = await this.db.query<{ status: TaskStatus; lease_owner: string | null; lease_expires_at: Date | null; fencing_token: number | string }>(
      'SELECT status, lease_owner, lease_expires_at, fencing_token FROM task_queue WHERE id = ?',
      [taskId],
    );
    const t = rows[0];
    if (!t) return { ok: false, why: 'missing' };
    if (!allow.includes(t.status)) return { ok: false, why: 'status', status: t.status };
    return { ok: false, why: 'held', status: t.status, owner: t.lease_owner, expiresAt: t.lease_expires_at, token: Number(t.fencing_token) };
  }

  async takeOver(taskId: number, owner: string, ttlMs: number, from: { owner: string; token: number }): Promise<number | null> {
    const r = await this.db.execute(
      `UPDATE task_queue SET lease_owner = ?, lease_expires_at = NOW(3) + INTERVAL ? MICROSECOND, fencing_token = fencing_token + 1
        WHERE id = ? AND lease_owner = ? AND fencing_token = ?`,
      [owner, Math.round(ttlMs * 1000), taskId, from.owner, from.token],
    );
    return r.affectedRows === 1 ? from.token + 1 : null;
  }

  async renew(f: Fence, ttlMs: number): Promise<boolean> {
    const r = await this.db.execute(`UPDATE task_queue SET lease_expires_at = NOW(3) + INTERVAL ? MICROSECOND WHERE ${FENCE_SQL}`, [Math.round(ttlMs * 1000), f.taskId, f.owner, f.token]);
    return r.affectedRows === 1;
  }

  async release(f: Fence): Promise<void> {
    await this.db.execute('UPDATE task_queue SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND fencing_token = ?', [f.taskId, f.owner, f.token]);
  }

  async fenced(f: Fence, m: Mutation, hook?: (tx: Db) => Promise<void>): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if (!(await lockFenced(tx, f))) return false;
      if (m.task) {
        const s = taskSet(m.task);
        if (s.sql.length) await tx.execute(`UPDATE task_queue SET ${s.sql.join(', ')} WHERE id = ?`, [...s.params, f.taskId]);
      }
      for (const st of m.steps ?? []) {
        const s = stepSet(st.change);
        const which = Array.isArray(st.seqs) ? { sql: 'seq IN (?)', params: [st.seqs] } : { sql: st.seqs.to === undefined ? 'seq >= ?' : 'seq >= ? AND seq <= ?', params: st.seqs.to === undefined ? [st.seqs.from] : [st.seqs.from, st.seqs.to] };
        if (Array.isArray(st.seqs) && !st.seqs.length) continue;
        const unless = st.change.unlessStatus?.length ? { sql: ' AND status NOT IN (?)', params: [st.change.unlessStatus] } : { sql: '', params: [] };
        await tx.execute(`UPDATE task_step SET ${s.sql.join(', ')} WHERE task_id = ? AND ${which.sql}${unless.sql}`, [...s.params, f.taskId, ...which.params, ...unless.params]);
      }
      if (hook) await hook(tx);
      return true;
    });
  }

  async fencedTx<T>(f: Fence, fn: (tx: Db) => Promise<T>): Promise<T | typeof FENCE_LOST> {
    return this.db.transaction(async (tx) => ((await lockFenced(tx, f)) ? fn(tx) : FENCE_LOST));
  }

  async requestCancel(taskId: number, by: string): Promise<void> {
    await this.db.execute('UPDATE task_queue SET cancel_requested = ? WHERE id = ?', [by.slice(0, 255), taskId]);
  }

  async cancelRequested(taskId: number): Promise<string | null> {
    const rows = await this.db.query<{ cancel_requested: string | null }>('SELECT cancel_requested FROM task_queue WHERE id = ?', [taskId]);
    return rows[0]?.cancel_requested ?? null;
  }

  async now(): Promise<Date> {
    const rows = await this.db.query<{ now: Date }>('SELECT NOW(3) AS now');
    return rows[0]!.now;
  }
}

async function lockFenced(tx: Db, f: Fence): Promise<boolean> {
  const ok = await tx.query(`SELECT id FROM task_queue WHERE ${FENCE_SQL} FOR UPDATE`, [f.taskId, f.owner, f.token]);
  return ok.length > 0;
}

/**
 * The claim: one UPDATE that only a free or expired lease lets through, so of two runners exactly
 * one sees affectedRows = 1. Params: owner, ttl (microseconds), task id, the accepted statuses (a list).
 * `worker --dry-run` prints this same statement.
 */
export const CLAIM_SQL = `UPDATE task_queue SET lease_owner = ?, lease_expires_at = NOW(3) + INTERVAL ? MICROSECOND, fencing_token = fencing_token + 1
        WHERE id = ? AND status IN (?) AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < NOW(3))`;

export function sqlStore(db: Db): MariaDbStore {
  return new MariaDbStore(db);
}
