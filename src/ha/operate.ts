import type { Context } from '../core/context.js';
import { ConflictError, UnhealthyError } from '../core/errors.js';
import { enqueue } from '../flow/enqueue.js';
import { sqlStore } from '../flow/store-sql.js';
import type { Db } from '../remote/mysql.js';
import { findCustins, instanceRows, type CustinsRow } from '../rds/custins.js';
import { superuserSession } from '../rds/instance-sql.js';
import { SUPERUSER, secretOf } from '../rds/accounts.js';
import { openInstance, type InstanceSession } from '../remote/mysql-instance.js';
import { toNode, type Node } from '../rds/layout.js';
import { routeDriver } from './driver.js';
import { failoverFlow, switchoverFlow } from './flows.js';
import { sameTarget, showTarget } from './route.js';
import { loadRoute, type LoadedRoute } from './route-store.js';
import { catchUpWithin, serverState, switchoverReadiness, type ServerState } from './server.js';
import { MAX_SWITCHOVER_LAG_SEC } from './steps.js';
import { instanceTrust } from '../rds/instance-tls.js';

// Before a switchover or failover task is written: the checks that refuse it with a reason while
// nothing has changed yet (running task, broken or lagging standby, a route that cannot be
// changed), then the task itself in one transaction that locks the custins row.

export interface Pair {
  custins: CustinsRow;
  master: Node;
  slave: Node;
  route: LoadedRoute;
}

export async function loadPair(ctx: Context, ref: string): Promise<Pair> {
  const db = ctx.db('dbaas');
  const custins = await findCustins(db, ref);
  if (custins.status !== 'running') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}; HA operations need a running instance`);
  const rows = await instanceRows(db, custins.id);
  const m = rows.find((r) => r.role === 'master');
  const s = rows.find((r) => r.role === 'slave');
  if (!m || !s) throw new ConflictError(`instance ${custins.ins_name} has no master/standby pair in the metadb`);
  return { custins, master: toNode(m), slave: toNode(s), route: await loadRoute(db, custins.id, custins.ins_name) };
}

export async function unfinishedTask(db: Db, custinsId: number): Promise<{ id: number; flow: string; status: string } | null> {
  return (await db.query<{ id: number; flow: string; status: string }>("SELECT id, flow, status FROM task_queue WHERE custins_id = ? AND status IN ('pending','running','paused') ORDER BY id LIMIT 1", [custinsId]))[0] ?? null;
}

/**
 * A superuser session on a server that may be gone: connect within timeoutMs, every statement
 * (and close) within twice that. A host that stops answering after the handshake (frozen, cut
 * off, TCP open) would otherwise hold a probe, and the watcher with it, until it came back.
 */
export async function haSession(db: Db, custinsId: number, n: Node, timeoutMs: number): Promise<InstanceSession> {
  const password = await secretOf(db, custinsId, SUPERUSER);
  return openInstance({ name: n.host, host: n.ip, port: n.port, user: SUPERUSER, password, tls: await instanceTrust(db, custinsId), connectTimeoutMs: timeoutMs, queryTimeoutMs: 2 * timeoutMs });
}

export async function probeServer(ctx: Context, p: Pair, n: Node, timeoutMs = 3000): Promise<ServerState | Error> {
  try {
    const su = await haSession(ctx.db('dbaas'), p.custins.id, n, timeoutMs);
    try {
      return await serverState(su);
    } finally {
      await su.close();
    }
  } catch (e) {
    return e as Error;
  }
}

/** The route exists on a reachable proxy and leads to the master (or, for a failover, at least exists). */
export async function checkRoute(ctx: Context, p: Pair, mustLeadTo: Node | null): Promise<void> {
  const driver = routeDriver(await ctx.ssh());
  let st;
  try {
    st = await driver.inspect(p.route.route);
  } catch (e) {
    throw new UnhealthyError(`${p.custins.ins_name}: the data route on ${p.route.route.proxy.name} cannot be changed: ${(e as Error).message}`);
  }
  if (!st.exists) throw new UnhealthyError(`${p.custins.ins_name}: the data route ${p.route.route.ip}:${p.route.route.port} does not exist on ${p.route.route.proxy.name}; run the install's do_create_rds_data_route again`);
  if (mustLeadTo && !sameTarget(st.target, { ip: mustLeadTo.ip, port: mustLeadTo.port })) {
    throw new UnhealthyError(`${p.custins.ins_name}: the data route leads to ${showTarget(st.target)}, not the master ${mustLeadTo.ip}:${mustLeadTo.port}`);
  }
}

async function lagCheck(ctx: Context, p: Pair, pos: string): Promise<string | null> {
  const su = await superuserSession(ctx.db('dbaas'), p.custins.id, p.slave, 3000);
  try {
    return await catchUpWithin(su, pos, MAX_SWITCHOVER_LAG_SEC);
  } finally {
    await su.close();
  }
}

/** Switchover refusals: exit 4 (unhealthy) with the reason; nothing has changed. */
export async function switchoverPrecheck(ctx: Context, p: Pair): Promise<void> {
  const busy = await unfinishedTask(ctx.db('dbaas'), p.custins.id);
  if (busy) throw new ConflictError(`instance ${p.custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`, { hint: `finish it first: rdsctl instance step ${p.custins.ins_name} resume` });
  const [m, s] = await Promise.all([probeServer(ctx, p, p.master), probeServer(ctx, p, p.slave)]);
  if (m instanceof Error) throw new UnhealthyError(`switchover of ${p.custins.ins_name} refused: the master ${p.master.host} does not answer (${m.message}); use \`rdsctl instance failover\``);
  if (s instanceof Error) throw new UnhealthyError(`switchover of ${p.custins.ins_name} refused: the standby ${p.slave.host} does not answer (${s.message})`);
  const why = switchoverReadiness(s, { ip: p.master.ip, port: p.master.port }, MAX_SWITCHOVER_LAG_SEC) ?? (await lagCheck(ctx, p, m.gtidBinlogPos));
  if (why) throw new UnhealthyError(`switchover of ${p.custins.ins_name} refused: ${why}`);
  if (m.readOnly) throw new UnhealthyError(`switchover of ${p.custins.ins_name} refused: the master ${p.master.host} is read-only (an interrupted operation? see \`rdsctl task list --instance ${p.custins.ins_name}\`)`);
  await checkRoute(ctx, p, p.master);
}

/** Failover refusals: the standby must answer and must not be broken; the route must be changeable. */
export async function failoverPrecheck(ctx: Context, p: Pair): Promise<void> {
  const busy = await unfinishedTask(ctx.db('dbaas'), p.custins.id);
  if (busy) throw new ConflictError(`instance ${p.custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`, { hint: `finish it first: rdsctl instance step ${p.custins.ins_name} resume` });
  const s = await probeServer(ctx, p, p.slave);
  if (s instanceof Error) throw new UnhealthyError(`failover of ${p.custins.ins_name} refused: the standby ${p.slave.host} does not answer (${s.message})`);
  if (s.replica && s.replica.sqlRunning !== 'Yes' && s.replica.lastError) throw new UnhealthyError(`failover of ${p.custins.ins_name} refused: the standby's replication is broken: ${s.replica.lastError}`);
  await checkRoute(ctx, p, null);
}

export async function enqueueHaTask(
  db: Db,
  p: Pair,
  flow: 'switchover' | 'failover',
  o: { createdBy: string; reason: string | null; acceptDataLoss?: boolean; cause?: string; quietSec?: number },
): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [p.custins.id]);
    const busy = await unfinishedTask(tx, p.custins.id);
    if (busy) throw new ConflictError(`instance ${p.custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`);
    return enqueue(
      sqlStore(tx),
      flow === 'switchover' ? switchoverFlow : failoverFlow,
      { kind: 'instance', id: String(p.custins.id) },
      {
        from_instance_id: p.master.instanceId,
        to_instance_id: p.slave.instanceId,
        requested_by: o.createdBy,
        ...(o.reason ? { reason: o.reason } : {}),
        ...(o.acceptDataLoss ? { accept_data_loss: true } : {}),
        ...(o.cause ? { cause: o.cause } : {}),
        ...(o.quietSec !== undefined ? { quiet_sec: o.quietSec } : {}),
      },
      { createdBy: o.createdBy },
    );
  });
}
