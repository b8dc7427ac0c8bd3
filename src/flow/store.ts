import type { Db } from '../remote/mysql.js';
import { NotFoundError, RdsctlError } from '../core/errors.js';
import type { StepRole, StepStatus, TaskStatus } from './types.js';

// task_queue and task_step: the persisted state of every flow run. Reads are plain; every write
// a runner makes while it works goes through Lease (fenced by the lease's token), except the
// inserts that create a task, which happen in the caller's allocation transaction.

export interface TaskParams {
  [key: string]: unknown;
}

export interface TaskRow {
  id: number;
  custins_id: number;
  flow: string;
  status: TaskStatus;
  params: TaskParams;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  fencing_token: number;
  current_step: string | null;
  error: string | null;
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
  gmt_started: Date | null;
  gmt_finished: Date | null;
}

const TASK_COLS = 'id, custins_id, flow, status, params, lease_owner, lease_expires_at, fencing_token, current_step, error, created_by, gmt_created, gmt_started, gmt_finished';
const STEP_COLS = 'task_id, seq, step_name, role, status, attempts, host, skip_reason, error, detail, gmt_started, gmt_finished';

function parseTask(r: Omit<TaskRow, 'params'> & { params: string }): TaskRow {
  let params: TaskParams;
  try {
    params = JSON.parse(r.params) as TaskParams;
  } catch {
    throw new RdsctlError(`task_queue ${r.id}: params is not JSON`, 1);
  }
  return { ...r, params };
}

/** A new task and its steps, all pending, in the caller's transaction. */
export async function insertTask(tx: Db, t: { custinsId: number; flow: string; params: TaskParams; createdBy: string; steps: Array<{ name: string; role: StepRole }> }): Promise<number> {
  const r = await tx.execute('INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, ?, ?, ?, ?)', [t.custinsId, t.flow, 'pending', JSON.stringify(t.params), t.createdBy]);
  const rows = t.steps.map((s, i) => [r.insertId, i + 1, s.name, s.role]);
  // One multi-row insert: 80 single inserts would be most of the cost of a create's metadb work.
  await tx.execute('INSERT INTO task_step (task_id, seq, step_name, role) VALUES ?', [rows]);
  return r.insertId;
}

export async function getTask(db: Db, id: number): Promise<TaskRow> {
  const rows = await db.query<Omit<TaskRow, 'params'> & { params: string }>(`SELECT ${TASK_COLS} FROM task_queue WHERE id = ?`, [id]);
  if (!rows[0]) throw new NotFoundError(`task ${id} does not exist in dbaas.task_queue`);
  return parseTask(rows[0]);
}

/** The newest task of an instance (of one flow when given). */
export async function latestTask(db: Db, custinsId: number, flow?: string): Promise<TaskRow | null> {
  const rows = await db.query<Omit<TaskRow, 'params'> & { params: string }>(
    `SELECT ${TASK_COLS} FROM task_queue WHERE custins_id = ? ${flow ? 'AND flow = ?' : ''} ORDER BY id DESC LIMIT 1`,
    flow ? [custinsId, flow] : [custinsId],
  );
  return rows[0] ? parseTask(rows[0]) : null;
}

export async function loadSteps(db: Db, taskId: number): Promise<StepRow[]> {
  return db.query<StepRow>(`SELECT ${STEP_COLS} FROM task_step WHERE task_id = ? ORDER BY seq`, [taskId]);
}

export interface TaskListRow extends Omit<TaskRow, 'params'> {
  ins_name: string | null;
  steps_total: number;
  steps_finished: number;
}

export interface TaskFilter {
  status?: string;
  custinsId?: number;
  flow?: string;
  limit: number;
}

export async function listTasks(db: Db, f: TaskFilter): Promise<TaskListRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.status) {
    where.push('q.status = ?');
    params.push(f.status);
  }
  if (f.custinsId !== undefined) {
    where.push('q.custins_id = ?');
    params.push(f.custinsId);
  }
  if (f.flow) {
    where.push('q.flow = ?');
    params.push(f.flow);
  }
  params.push(f.limit);
  return db.query<TaskListRow>(
    `SELECT ${TASK_COLS.split(', ').filter((c) => c !== 'params').map((c) => 'q.' + c).join(', ')}, c.ins_name,
            (SELECT COUNT(*) FROM task_step s WHERE s.task_id = q.id) AS steps_total,
            (SELECT COUNT(*) FROM task_step s WHERE s.task_id = q.id AND s.status IN ('done', 'skipped')) AS steps_finished
       FROM task_queue q LEFT JOIN custins c ON c.id = q.custins_id
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY q.id DESC LIMIT ?`,
    params,
  );
}

/** Tasks a worker may take: never started, or running under a lease that has expired (same rule as claimableDetail). */
export async function claimableTasks(db: Db, limit: number): Promise<Array<{ id: number }>> {
  return db.query<{ id: number }>(
    `SELECT id FROM task_queue
      WHERE status IN ('pending', 'running') AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < NOW(3))
      ORDER BY id LIMIT ?`,
    [limit],
  );
}

export interface ClaimableView {
  id: number;
  ins_name: string | null;
  flow: string;
  status: TaskStatus;
  /** "seq name:role" of the first step neither done nor skipped, null when none is left. */
  next_step: string | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
}

/** What `worker --dry-run` shows: the tasks claimableTasks() would offer, with their next step and lease. */
export async function claimableDetail(db: Db, limit: number): Promise<ClaimableView[]> {
  return db.query<ClaimableView>(
    `SELECT q.id, c.ins_name, q.flow, q.status, q.lease_owner, q.lease_expires_at,
            (SELECT CONCAT(s.seq, ' ', s.step_name, ':', s.role) FROM task_step s
              WHERE s.task_id = q.id AND s.status NOT IN ('done', 'skipped') ORDER BY s.seq LIMIT 1) AS next_step
       FROM task_queue q LEFT JOIN custins c ON c.id = q.custins_id
      WHERE q.status IN ('pending', 'running') AND (q.lease_owner IS NULL OR q.lease_expires_at IS NULL OR q.lease_expires_at < NOW(3))
      ORDER BY q.id LIMIT ?`,
    [limit],
  );
}
