import type { Context } from '../core/context.js';
import { ConflictError, InternalError, RdsctlError, UnhealthyError } from '../core/errors.js';
import { enqueue } from '../flow/enqueue.js';
import type { FlowDef } from '../flow/types.js';
import { sqlStore } from '../flow/store-sql.js';
import { loadPair, probeServer, switchoverPrecheck, unfinishedTask, type Pair } from '../ha/operate.js';
import type { Db } from '../remote/mysql.js';
import { instanceRows } from '../rds/custins.js';
import type { Node } from '../rds/layout.js';
import { migrateFlow, type PlaceParams } from './migrate.js';
import { reserveTarget, type Placement, type TargetChoice } from './placement.js';
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

/** What a migration of the standby will use: refusals first, then the target held in the task's transaction. */
export interface MigratePlan {
  need: { cpu: number; mem_mb: number; disk_gb: number };
  old: PlaceParams;
  placement: Placement;
}

export async function migratePrecheck(ctx: Context, p: Pair, toNc: string | null, moving: 'standby' | 'master' = 'standby', room?: { cpu: number; memMb: number; diskGb: number }): Promise<MigratePlan> {
  const db = ctx.db('dbaas');
  await refuseIfBusy(db, p);
  const rows = await instanceRows(db, p.custins.id);
  const bad = rows.find((r) => r.status !== 'running');
  if (bad) throw new ConflictError(`instance ${p.custins.ins_name}: instance ${bad.id} on ${bad.host_name} is ${bad.status}; migrate needs both servers running`);
  const m = await probeServer(ctx, p, p.master);
  if (m instanceof Error) throw new UnhealthyError(`migrate of ${p.custins.ins_name} refused: the master ${p.master.host} does not answer (${m.message})`);
  if (m.readOnly) throw new UnhealthyError(`migrate of ${p.custins.ins_name} refused: the master ${p.master.host} is read-only`);
  // A master moves as the standby it becomes after the switchover: its peer is then the standby of now.
  const node = moving === 'master' ? p.master : p.slave;
  const peer = moving === 'master' ? p.slave : p.master;
  const row = rows.find((r) => r.id === node.instanceId)!;
  const peerCluster = (await db.query<{ cluster: string }>('SELECT cluster FROM hostinfo WHERE id = ?', [peer.hostinfoId]))[0]?.cluster ?? null;
  return {
    need: { cpu: row.cpu, mem_mb: row.mem_mb, disk_gb: row.disk_gb },
    old: { hostinfo_id: node.hostinfoId, host: node.host, ip: node.ip, port: node.port, ssh_port: node.sshPort },
    placement: {
      zone: p.custins.zone,
      need: { cpu: row.cpu, memMb: row.mem_mb, diskGb: row.disk_gb },
      port: node.port,
      fromHostinfoId: node.hostinfoId,
      peerHostinfoId: peer.hostinfoId,
      peerCluster,
      toNc,
      ...(room ? { room: { cpu: Math.max(room.cpu, row.cpu), memMb: Math.max(room.memMb, row.mem_mb), diskGb: Math.max(room.diskGb, row.disk_gb) } } : {}),
    },
  };
}

/** Carries the dry run's choice out of its transaction, which it rolls back (as create's preview). */
class PreviewTarget extends RdsctlError {
  constructor(readonly choice: TargetChoice) {
    super('preview', 0);
  }
}

/** The target as the migration would be given it now, in a transaction that is rolled back: what --dry-run shows. */
export async function previewMigrateTarget(ctx: Context, plan: MigratePlan): Promise<TargetChoice> {
  try {
    await ctx.db('dbaas').transaction(async (tx) => {
      throw new PreviewTarget((await reserveTarget(tx, plan.placement, 0, async () => 0)).choice);
    });
  } catch (e) {
    if (e instanceof PreviewTarget) return e.choice;
    throw e;
  }
  throw new InternalError('preview transaction committed unexpectedly');
}

export async function enqueueMigrate(db: Db, p: Pair, plan: MigratePlan, o: { createdBy: string; reason: string | null }): Promise<{ taskId: number; target: PlaceParams }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [p.custins.id]);
    await refuseIfBusy(tx, p);
    const at = (c: TargetChoice): PlaceParams => ({ hostinfo_id: c.host.id, host: c.host.hostname, ip: c.host.ip, port: c.port, ssh_port: c.host.ssh_port });
    const { choice, taskId } = await reserveTarget(tx, plan.placement, p.custins.id, (c) =>
      enqueue(
        sqlStore(tx),
        migrateFlow,
        { kind: 'instance', id: String(p.custins.id) },
        { moving_instance_id: p.slave.instanceId, master_instance_id: p.master.instanceId, target: { ...at(c) }, old: { ...plan.old }, need: { ...plan.need }, requested_by: o.createdBy, ...(o.reason ? { reason: o.reason } : {}) },
        { createdBy: o.createdBy },
      ),
    );
    return { taskId, target: at(choice) };
  });
}
