import { removeDataRoute } from '../ha/remove.js';
import { FREE_ROUTE_SQL } from '../ha/route-store.js';
import type { Context } from '../core/context.js';
import { ConflictError, RemoteError } from '../core/errors.js';
import type { Plan } from '../core/mutation.js';
import type { Db } from '../remote/mysql.js';
import { CLAIMABLE, claim } from '../flow/runner.js';
import { latestTask } from '../flow/store.js';
import type { Lease } from '../flow/lease.js';
import { releaseCapacity } from './allocate.js';
import { findCustins, instanceRows, type CustinsRow } from './custins.js';
import { leftoversScript, purgeScript } from './host-ops.js';
import { toNode, type Node } from './layout.js';

// `instance delete`: stop mysqld on both NCs, remove everything the install left there (dirs,
// backups, init script, limits, whitelist file, this port's lines in instance.conf, insinfo and
// /etc/rds_resource_config.conf), check nothing is left, then give back port and capacity and
// mark the metadata deleted. A host that cannot be reached leaves the instance 'deleting' and
// the command can be run again.

export interface DeleteTarget {
  custins: CustinsRow;
  nodes: Node[];
}

export async function deleteTarget(ctx: Context, ref: string): Promise<DeleteTarget> {
  const db = ctx.db('dbaas');
  const custins = await findCustins(db, ref);
  const profile = ctx.profile();
  const nodes = (await instanceRows(db, custins.id)).map((r) => toNode(profile, r));
  return { custins, nodes };
}

/** Metadata statements of a delete, for --dry-run and for the transaction itself. */
const METADATA_SQL: Array<[string, string]> = [
  ['custins', "UPDATE custins SET status = 'deleted', gmt_deleted = NOW() WHERE id = ?"],
  ['custins_account', "UPDATE custins_account SET status = 'deleted' WHERE custins_id = ?"],
  ['custins_secret', 'DELETE FROM custins_secret WHERE custins_id = ?'],
  ['custins_db', "UPDATE custins_db SET status = 'deleted' WHERE custins_id = ?"],
  ['custins_whitelist', 'DELETE FROM custins_whitelist WHERE custins_id = ?'],
  ['rds_ecs_sg_rel', 'DELETE FROM rds_ecs_sg_rel WHERE custins_id = ?'],
  ['custins_slb', "UPDATE custins_slb SET status = 'deleted' WHERE custins_id = ?"],
  ['vpc_custins_mapping', 'UPDATE vpc_custins_mapping SET live_key = NULL WHERE custins_id = ?'],
  ['maxscale_ins', "UPDATE maxscale_ins SET status = 'deleted' WHERE custins_id = ?"],
  ['maxscale_link', 'DELETE FROM maxscale_link WHERE custins_id = ?'],
  ['rds_data_route', FREE_ROUTE_SQL],
  ['baklist', "UPDATE baklist SET status = 'deleted' WHERE custins_id = ?"],
  ['logplan', "UPDATE logplan SET status = 'deleted' WHERE custins_id = ?"],
  ['instance_perf', "UPDATE instance_perf SET status = 'deleted' WHERE custins_id = ?"],
  ['db_perf', "UPDATE db_perf SET status = 'deleted' WHERE custins_id = ?"],
  ['aurora_ha', "UPDATE aurora_ha SET status = 'deleted' WHERE custins_id = ?"],
];

export function deletePlan(t: DeleteTarget): Plan {
  return {
    action: `delete instance ${t.custins.ins_name}`,
    targets: [t.custins.ins_name, ...t.nodes.map((n) => `${n.role} ${n.host}:${n.port}`)],
    remote: [...t.nodes.map((n) => ({ host: n.host, command: purgeScript(n.layout) })), { host: '<proxy host of the data route>', command: 'rm /etc/haproxy/rds/routes.d/<custins_id>.cfg; HAProxy reload (seamless) through the master CLI' }],
    sql: [
      { db: 'dbaas', statement: "UPDATE task_queue SET status = 'cancelled' WHERE id = ? (the unfinished install task, under its lease)" },
      { db: 'dbaas', statement: "UPDATE instance SET status = 'deleted' + hostinfo cpu/mem/disk given back", params: t.nodes.map((n) => n.instanceId) },
      ...METADATA_SQL.map(([, statement]) => ({ db: 'dbaas', statement, params: [t.custins.id] })),
    ],
    notes: [`port ${t.nodes[0]?.port ?? '-'} and capacity return to ${t.nodes.map((n) => n.host).join(', ') || 'no host'}`],
  };
}

export interface DeleteResult {
  ins_name: string;
  custins_id: number;
  hosts: Array<{ host: string; result: string }>;
  cancelled_task: number | null;
  status: 'deleted';
}

/** Fence off the install task: a runner must not start mysqld again while we remove it. */
async function stopTask(db: Db, custinsId: number, ttlSec: number): Promise<{ lease: Lease | null; taskId: number | null }> {
  const task = await latestTask(db, custinsId);
  if (!task || task.status === 'cancelled') return { lease: null, taskId: null };
  let lease: Lease;
  try {
    lease = await claim(db, task, CLAIMABLE.control, ttlSec);
  } catch (e) {
    if (e instanceof ConflictError) throw new ConflictError(`instance ${custinsId}: ${e.message}; stop that runner first`, { hint: e.hint });
    throw e;
  }
  if (task.status === 'done') return { lease, taskId: null };
  await lease.write(`UPDATE task_queue q SET q.status = 'cancelled', q.error = 'cancelled by instance delete', q.gmt_finished = NOW() WHERE ${lease.fence().sql}`, lease.fence().params);
  return { lease, taskId: task.id };
}

export async function deleteInstance(ctx: Context, t: DeleteTarget, ttlSec: number): Promise<DeleteResult> {
  const db = ctx.db('dbaas');
  const { lease, taskId } = await stopTask(db, t.custins.id, ttlSec);
  try {
    await db.execute("UPDATE custins SET status = 'deleting' WHERE id = ? AND status <> 'deleted'", [t.custins.id]);
    const ssh = await ctx.ssh();
    const hosts = await Promise.all(
      t.nodes.map(async (n) => {
        const out = await ssh.run(n.target, purgeScript(n.layout), { timeoutSec: 120, signal: ctx.signal });
        const left = (await ssh.run(n.target, leftoversScript(n.layout), { timeoutSec: 60, signal: ctx.signal })).trim();
        if (left) throw new RemoteError(`${n.host}: still there after the purge: ${left.split('\n').join(', ')}`, { host: n.host });
        return { host: n.host, result: out.trim().split('\n').join('; ') };
      }),
    );
    // The data route leaves its proxy host too (src/ha): its port there is free again.
    const route = await removeDataRoute(ctx, t.custins.id, t.custins.ins_name);
    if (route) hosts.push(route);
    await db.transaction(async (tx) => {
      await releaseCapacity(tx, t.custins.id);
      for (const [, sql] of METADATA_SQL) await tx.execute(sql, [t.custins.id]);
    });
    return { ins_name: t.custins.ins_name, custins_id: t.custins.id, hosts, cancelled_task: taskId, status: 'deleted' };
  } finally {
    await lease?.release();
  }
}
