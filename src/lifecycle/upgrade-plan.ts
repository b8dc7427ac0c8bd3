import type { Context } from '../core/context.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { enqueue } from '../flow/enqueue.js';
import { sqlStore } from '../flow/store-sql.js';
import { switchoverPrecheck, type Pair } from '../ha/operate.js';
import { instanceRows } from '../rds/custins.js';
import type { Db } from '../remote/mysql.js';
import { refuseIfBusy } from './operate.js';
import { upgradeFlow, upgradeRefusal, type UpgradeParams } from './upgrade.js';

// Before an upgrade task is written: the refusals that leave everything as it was (another task,
// a node not running, a version the catalogue does not offer for the instance's series, the same
// version, a downgrade without --allow-downgrade, a switchover that could not be made), then the
// task in one transaction that locks the custins row and checks for another task again.

export async function planUpgrade(ctx: Context, p: Pair, minor: string, allowDowngrade: boolean): Promise<UpgradeParams> {
  const db = ctx.db('dbaas');
  await refuseIfBusy(db, p);
  const [ev] = await db.query<{ minor_version: string }>('SELECT minor_version FROM engine_version WHERE engine = ? AND version = ?', [p.custins.engine, p.custins.version]);
  if (!ev) throw new NotFoundError(`${p.custins.engine} ${p.custins.version} is not in dbaas.engine_version`);
  const why = upgradeRefusal(p.custins.version, ev.minor_version, p.custins.minor_version, minor, allowDowngrade);
  if (why) throw new ConflictError(`upgrade of ${p.custins.ins_name} refused: ${why}`);
  const bad = (await instanceRows(db, p.custins.id)).find((r) => r.status !== 'running');
  if (bad) throw new ConflictError(`instance ${p.custins.ins_name}: instance ${bad.id} on ${bad.host_name} is ${bad.status}; an upgrade needs both servers running`);
  return { minor_from: p.custins.minor_version, minor_to: minor, allow_downgrade: allowDowngrade };
}

export async function upgradePrecheck(ctx: Context, p: Pair): Promise<void> {
  await switchoverPrecheck(ctx, p);
}

export async function enqueueUpgrade(db: Db, p: Pair, up: UpgradeParams, o: { createdBy: string; reason: string | null }): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [p.custins.id]);
    await refuseIfBusy(tx, p);
    const [ci] = await tx.query<{ minor_version: string | null }>('SELECT minor_version FROM custins WHERE id = ?', [p.custins.id]);
    if ((ci?.minor_version ?? null) !== up.minor_from) throw new ConflictError(`instance ${p.custins.ins_name} changed minor version meanwhile; run the upgrade again`);
    return enqueue(
      sqlStore(tx),
      upgradeFlow,
      { kind: 'instance', id: String(p.custins.id) },
      { from_instance_id: p.master.instanceId, to_instance_id: p.slave.instanceId, scope: 'both', switchover: true, upgrade: { ...up }, requested_by: o.createdBy, ...(o.reason ? { reason: o.reason } : {}) },
      { createdBy: o.createdBy },
    );
  });
}
