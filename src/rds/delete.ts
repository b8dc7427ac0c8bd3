import type { Context } from '../core/context.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { Plan } from '../core/mutation.js';
import { ownerIsProvablyDead } from '../flow/lease.js';
import { sqlStore } from '../flow/store-sql.js';
import type { TaskRow } from '../flow/store.js';
import { findCustins, instanceRows, type CustinsRow } from './custins.js';
import { INSTANCE_TABLES } from './instance-tables.js';
import { purgeScript } from './host-ops.js';
import { toNode, type Node } from './layout.js';

/** The delete flow's name (src/flow/delete/): kept here so this module does not import the flow. */
export const DELETE_FLOW_NAME = 'delete';

// `instance delete`: what it acts on, what it would do, and what stands in its way. The delete
// itself is the `delete` flow (src/flow/delete/): stop mysqld on both NCs, remove everything the
// install left there (dirs, backups, init script, limits, whitelist file, this port's lines in
// instance.conf, insinfo and /etc/rds_resource_config.conf), check nothing is left, then give
// back port and capacity and mark the metadata deleted. A host that cannot be reached fails its
// step and leaves the instance 'deleting'; the delete resumes from there.

export interface DeleteTarget {
  custins: CustinsRow;
  nodes: Node[];
}

export async function deleteTarget(ctx: Context, ref: string): Promise<DeleteTarget> {
  const db = ctx.db('dbaas');
  const custins = await findCustins(db, ref, { includeDeleted: true });
  // Marked deleted by a delete that was killed before it recorded its own end: let it finish.
  if (custins.status === 'deleted' && !(await sqlStore(db).openTasks({ custinsId: custins.id })).some((t) => t.flow === DELETE_FLOW_NAME)) {
    throw new NotFoundError(`instance ${ref} was deleted at ${custins.gmt_deleted?.toISOString() ?? 'an unknown time'}`);
  }
  const nodes = (await instanceRows(db, custins.id)).map((r) => toNode(r));
  return { custins, nodes };
}

/** Metadata statements of a delete, for --dry-run and for the transaction itself: one per instance table (instance-tables.ts). */
export const METADATA_SQL: ReadonlyArray<readonly [string, string]> = INSTANCE_TABLES.map((t) => [t.table, t.release] as const);

export function deletePlan(t: DeleteTarget): Plan {
  return {
    action: `delete instance ${t.custins.ins_name}`,
    targets: [t.custins.ins_name, ...t.nodes.map((n) => `${n.role} ${n.host}:${n.port}`)],
    remote: [...t.nodes.map((n) => ({ host: n.host, command: purgeScript(n.layout) })), { host: '<proxy host of the data route>', command: 'rm /etc/haproxy/rds/routes.d/<custins_id>.cfg; HAProxy reload (seamless) through the master CLI' }],
    sql: [
      { db: 'dbaas', statement: "INSERT INTO task_queue (…, flow = 'delete', …) + 6 task_step rows (the delete flow; or the unfinished delete task is resumed)" },
      { db: 'dbaas', statement: "UPDATE task_queue SET status = 'cancelled' WHERE id = ? (each open or failed task of the instance, under its lease)" },
      { db: 'dbaas', statement: "UPDATE instance SET status = 'deleted' + hostinfo cpu/mem/disk given back", params: t.nodes.map((n) => n.instanceId) },
      ...METADATA_SQL.map(([, statement]) => ({ db: 'dbaas', statement, params: [t.custins.id] })),
    ],
    notes: [`port ${t.nodes[0]?.port ?? '-'} and capacity return to ${t.nodes.map((n) => n.host).join(', ') || 'no host'}`],
  };
}

/**
 * What stands in the way of a delete, checked before anything changes: a task of the instance
 * that a live runner is running (it would start what the delete removes). An unfinished delete
 * task is returned to be resumed rather than written again.
 */
export async function deleteBlockers(ctx: Context, t: DeleteTarget): Promise<{ resume: TaskRow | null }> {
  const store = sqlStore(ctx.db('dbaas'));
  const open = await store.openTasks({ custinsId: t.custins.id });
  const now = (await store.now()).getTime();
  for (const task of open) {
    const live = task.lease_owner !== null && task.lease_expires_at !== null && task.lease_expires_at.getTime() > now && !ownerIsProvablyDead(task.lease_owner);
    if (live && task.flow !== DELETE_FLOW_NAME) {
      throw new ConflictError(`instance ${t.custins.ins_name} has task ${task.id} (${task.flow}) running on ${task.lease_owner}; cancel it before the delete`, {
        hint: `rdsctl task cancel ${task.id} --reason "…" (it stops at its next step boundary), then delete again`,
      });
    }
    if (live) throw new ConflictError(`instance ${t.custins.ins_name} is already being deleted by task ${task.id} (runner ${task.lease_owner})`, { hint: `follow it with \`rdsctl task show ${task.id}\`` });
  }
  const failedDelete = (await store.listTasks({ custinsId: t.custins.id, flow: DELETE_FLOW_NAME, limit: 1 }))[0];
  const resume = open.find((x) => x.flow === DELETE_FLOW_NAME) ?? (failedDelete?.status === 'failed' ? await store.getTask(failedDelete.id) : null);
  return { resume };
}
