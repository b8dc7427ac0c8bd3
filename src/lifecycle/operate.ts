import type { Context } from '../core/context.js';
import { ConflictError, UnhealthyError } from '../core/errors.js';
import { enqueue } from '../flow/enqueue.js';
import type { FlowDef } from '../flow/types.js';
import { sqlStore } from '../flow/store-sql.js';
import { loadPair, probeServer, switchoverPrecheck, unfinishedTask, type Pair } from '../ha/operate.js';
import type { Db } from '../remote/mysql.js';
import { instanceRows } from '../rds/custins.js';
import type { Node } from '../rds/layout.js';
import { restartFlow, startFlow, stopFlow, type PowerCtx, type PowerParams, type PowerVerb } from './power.js';

// Before a start/stop/restart task is written: the refusals that leave everything as it was
// (another unfinished task, a node marked failed, a master that does not answer for a standby
// restart, a standby not fit for the switchover of a rolling restart), then the task in one
// transaction that locks the custins row and checks for another task again.

export const POWER_FLOWS: Record<PowerVerb, FlowDef<PowerCtx, Node>> = { start: startFlow, stop: stopFlow, restart: restartFlow };

export async function refuseIfBusy(db: Db, p: Pair): Promise<void> {
  const busy = await unfinishedTask(db, p.custins.id);
  if (busy) throw new ConflictError(`instance ${p.custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`, { hint: `finish or cancel it first: rdsctl task show ${busy.id}` });
}

export async function powerPrecheck(ctx: Context, verb: PowerVerb, p: Pair, params: PowerParams): Promise<void> {
  const db = ctx.db('dbaas');
  await refuseIfBusy(db, p);
  const failed = (await instanceRows(db, p.custins.id)).filter((r) => r.status === 'failed' || r.status === 'creating');
  if (failed.length) throw new ConflictError(`instance ${p.custins.ins_name}: instance ${failed[0]!.id} on ${failed[0]!.host_name} is ${failed[0]!.status}; rebuild it first (rdsctl instance rebuild-standby ${p.custins.ins_name})`);
  if (verb !== 'restart') return;
  if (params.scope !== 'standby' && params.switchover) {
    await switchoverPrecheck(ctx, p);
    return;
  }
  if (params.scope === 'standby') {
    const m = await probeServer(ctx, p, p.master);
    if (m instanceof Error) throw new UnhealthyError(`restart of the standby of ${p.custins.ins_name} refused: the master ${p.master.host} does not answer (${m.message})`);
  }
}

export { loadPair };

export async function enqueuePower(db: Db, verb: PowerVerb, p: Pair, params: PowerParams, o: { createdBy: string; reason: string | null }): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [p.custins.id]);
    await refuseIfBusy(tx, p);
    return enqueue(
      sqlStore(tx),
      POWER_FLOWS[verb],
      { kind: 'instance', id: String(p.custins.id) },
      { from_instance_id: p.master.instanceId, to_instance_id: p.slave.instanceId, scope: params.scope, switchover: params.switchover, requested_by: o.createdBy, ...(o.reason ? { reason: o.reason } : {}) },
      { createdBy: o.createdBy },
    );
  });
}
