import { ConflictError } from '../core/errors.js';
import { insertTask } from '../flow/store.js';
import type { Db } from '../remote/mysql.js';
import type { StepRole } from '../flow/types.js';
import type { CustinsRow } from '../rds/custins.js';
import { BACKUP_FLOW, BACKUP_FLOW_NAME } from './backup-flow.js';

// A backup task for an instance: what `instance backup` and the worker's schedule write. One
// unfinished backup task per instance at a time; another is refused (resume it instead).

export interface QueuedBackup {
  taskId: number;
}

export async function unfinishedTask(db: Db, custinsId: number): Promise<{ id: number; flow: string; status: string } | null> {
  return (await db.query<{ id: number; flow: string; status: string }>("SELECT id, flow, status FROM task_queue WHERE custins_id = ? AND status IN ('pending','running','paused') ORDER BY id LIMIT 1", [custinsId]))[0] ?? null;
}

export async function enqueueFlow(tx: Db, custins: CustinsRow, flow: { name: string; steps: ReadonlyArray<{ name: string; role: StepRole }> }, o: { createdBy: string; params: Record<string, unknown> }): Promise<number> {
  if (custins.status !== 'running') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}; only a running instance can take a ${flow.name} task`);
  await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [custins.id]);
  const busy = await unfinishedTask(tx, custins.id);
  if (busy) throw new ConflictError(`instance ${custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`, { hint: `finish it first: rdsctl instance step ${custins.ins_name} resume` });
  return insertTask(tx, { custinsId: custins.id, flow: flow.name, params: o.params, createdBy: o.createdBy, steps: flow.steps.map((s) => ({ name: s.name, role: s.role })) });
}

export async function enqueueBackup(tx: Db, custins: CustinsRow, o: { createdBy: string; reason: string | null; scheduled: boolean }): Promise<QueuedBackup> {
  if (custins.status !== 'running') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}; only a running instance is backed up`);
  // Locks the custins row: two enqueuers of one instance serialise here.
  await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [custins.id]);
  const busy = await unfinishedTask(tx, custins.id);
  if (busy) throw new ConflictError(`instance ${custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`, { hint: `finish it first: rdsctl instance step ${custins.ins_name} resume` });
  const taskId = await insertTask(tx, {
    custinsId: custins.id,
    flow: BACKUP_FLOW_NAME,
    params: { kind: 'full', scheduled: o.scheduled, requested_by: o.createdBy, ...(o.reason ? { reason: o.reason } : {}) },
    createdBy: o.createdBy,
    steps: BACKUP_FLOW.map((s) => ({ name: s.name, role: s.role })),
  });
  return { taskId };
}
