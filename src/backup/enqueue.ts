import { ConflictError } from '../core/errors.js';
import { enqueue } from '../flow/enqueue.js';
import { sqlStore } from '../flow/store-sql.js';
import type { Db } from '../remote/mysql.js';
import type { AnyFlow } from '../flow/registry.js';
import type { CustinsRow } from '../rds/custins.js';
import { backupFlow } from './backup-flow.js';

// A backup task for an instance: what `instance backup` and the worker's schedule write. One
// unfinished backup task per instance at a time; another is refused (resume it instead).

export interface QueuedBackup {
  taskId: number;
}

export async function unfinishedTask(db: Db, custinsId: number): Promise<{ id: number; flow: string; status: string } | null> {
  return (await db.query<{ id: number; flow: string; status: string }>("SELECT id, flow, status FROM task_queue WHERE custins_id = ? AND status IN ('pending','running','paused') ORDER BY id LIMIT 1", [custinsId]))[0] ?? null;
}

export async function enqueueFlow(tx: Db, custins: CustinsRow, flow: AnyFlow, o: { createdBy: string; params: Record<string, unknown> }): Promise<number> {
  if (custins.status !== 'running') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}; only a running instance can take a ${flow.name} task`);
  await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [custins.id]);
  const busy = await unfinishedTask(tx, custins.id);
  if (busy) throw new ConflictError(`instance ${custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`, { hint: `finish it first: rdsctl instance step ${custins.ins_name} resume` });
  return enqueue(sqlStore(tx), flow, { kind: 'instance', id: String(custins.id) }, o.params, { createdBy: o.createdBy });
}

export async function enqueueBackup(tx: Db, custins: CustinsRow, o: { createdBy: string; reason: string | null; scheduled: boolean }): Promise<QueuedBackup> {
  if (custins.status !== 'running') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}; only a running instance is backed up`);
  // Locks the custins row: two enqueuers of one instance serialise here.
  await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [custins.id]);
  const busy = await unfinishedTask(tx, custins.id);
  if (busy) throw new ConflictError(`instance ${custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`, { hint: `finish it first: rdsctl instance step ${custins.ins_name} resume` });
  const taskId = await enqueue(sqlStore(tx), backupFlow, { kind: 'instance', id: String(custins.id) }, { kind: 'full', scheduled: o.scheduled, requested_by: o.createdBy, ...(o.reason ? { reason: o.reason } : {}) }, { createdBy: o.createdBy });
  return { taskId };
}
