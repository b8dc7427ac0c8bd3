import type { Context } from '../../core/context.js';
import { ConflictError, RemoteError } from '../../core/errors.js';
import { releaseCapacity } from '../../rds/allocate.js';
import { findCustins, instanceRows, markDeleting, type CustinsRow } from '../../rds/custins.js';
import { DELETE_FLOW_NAME, METADATA_SQL } from '../../rds/delete.js';
import { aliveTest, leftoversScript, purgeScript, script, stopBody, withHostLock } from '../../rds/host-ops.js';
import { toNode, type Node } from '../../rds/layout.js';
import type { HostLayout } from '../../rds/layout.js';
import { sh } from '../../remote/quote.js';
import type { FlowBase } from '../base.js';
import { cancelUnderLease } from '../engine.js';
import { Lease, newOwner } from '../lease.js';
import type { FlowDef, StepDef } from '../types.js';
import { removeDataRoute } from '../../ha/remove.js';

// `instance delete` as a flow: stop both servers, remove what the install left on the NCs, check
// nothing is left, give back port and capacity, mark the metadata deleted. Every step is
// idempotent, so a delete killed at any point is finished by resuming its task (`rdsctl task
// resume ID`, or running the same `instance delete` again, which resumes it).

export { DELETE_FLOW_NAME };

export interface DeleteCtx {
  base: FlowBase;
  ctx: Context;
  custins: CustinsRow;
  nodes: Node[];
}

type Step = StepDef<DeleteCtx, Node>;

/** What the first step records: the instance rows the delete acts on, so a resume after they are marked deleted still knows its hosts. */
interface Scope {
  instance_ids: number[];
  cancelled_tasks: number[];
}

export const doCancelOpenTasks: Step = {
  name: 'do_cancel_open_tasks',
  role: 'metadb',
  timeoutSec: 60,
  effect: 'metadb',
  async run(c) {
    const { store, task } = c.base;
    const cancelled: number[] = [];
    for (const t of await store.openTasks({ custinsId: c.custins.id })) {
      if (t.id === task.id) continue;
      // A task being run by a live runner stops this delete: it would start what we remove.
      const lease = await Lease.claim(store, t.id, { owner: newOwner(), ttlSec: 30, allow: ['pending', 'running', 'paused', 'failed'], clock: c.base.clock }).catch((e: unknown) => {
        throw e instanceof ConflictError ? new ConflictError(`instance ${c.custins.ins_name} has task ${t.id} (${t.flow}) running: ${e.message}`, { hint: `cancel it first: rdsctl task cancel ${t.id} --reason "…"` }) : e;
      });
      try {
        await cancelUnderLease(lease, null, t, `instance delete (task ${task.id})`);
      } finally {
        await lease.release();
      }
      cancelled.push(t.id);
    }
    // Failed installs are cancelled too: a failed task is not open, but nothing may resume it any more.
    for (const t of await store.listTasks({ custinsId: c.custins.id, status: 'failed', limit: 100 })) {
      if (t.id === task.id || t.flow === DELETE_FLOW_NAME) continue;
      const lease = await Lease.claim(store, t.id, { owner: newOwner(), ttlSec: 30, allow: ['failed'], clock: c.base.clock });
      try {
        await cancelUnderLease(lease, null, { ...t, params: {} }, `instance delete (task ${task.id})`);
      } finally {
        await lease.release();
      }
      cancelled.push(t.id);
    }
    await c.base.tx((tx) => markDeleting(tx, c.custins.id));
    const scope: Scope = { instance_ids: c.nodes.map((n) => n.instanceId), cancelled_tasks: cancelled };
    return { detail: `${c.custins.ins_name} deleting; ${cancelled.length ? `cancelled task ${cancelled.join(', ')}` : 'no other open task'}`, result: { ...scope } };
  },
};

/** Exit status of ownedBy when the host's files name another instance. */
const NOT_OURS = 86;

/**
 * On the host, before anything is stopped or removed: the port's files must belong to this
 * instance. The metadb's host and port are not enough (a crossed row once made a delete stop and
 * remove another instance). The ins_name file names the owner once an install has written it;
 * before that, my.cnf's first line does; a port with neither has nothing of an instance to take.
 */
export function ownedBy(l: HostLayout, insName: string): string {
  const mine = `# my.cnf of ${insName} (`;
  return (
    sh`if [ -f ${l.insnameFile} ]; then n=$(head -n 1 ${l.insnameFile}); if [ "$n" != ${insName} ]; then echo "refused: port "${String(l.port)}" on this host belongs to $n (from "${l.insnameFile}"), not to "${insName} >&2; exit ${String(NOT_OURS)}; fi; ` +
    sh`elif [ -f ${l.mycnf} ]; then h=$(head -n 1 ${l.mycnf}); case "$h" in ${mine}*) ;; *) echo "refused: "${l.mycnf}" is not the my.cnf of "${insName}": $h" >&2; exit ${String(NOT_OURS)};; esac; fi; `
  );
}

/** A destructive command on a node, run only after ownedBy holds; a refusal is a conflict (exit 9) naming the host. */
async function onOwnHost(c: DeleteCtx, n: Node, body: string, s: Parameters<Step['run']>[2], timeoutSec?: number): Promise<string> {
  try {
    return await c.base.remote(n.target, n.host, script(ownedBy(n.layout, c.custins.ins_name) + body), s, timeoutSec ? { timeoutSec } : {});
  } catch (e) {
    const m = e instanceof RemoteError ? /refused: [^\n]*/.exec(e.message) : null;
    if (m) throw new ConflictError(`${n.host}: ${m[0]}; nothing was stopped or removed there (check the instance rows of ${c.custins.ins_name})`, { cause: e });
    throw e;
  }
}

export const doStopInstance: Step = {
  name: 'do_stop_instance',
  role: 'both',
  timeoutSec: 120,
  effect: 'remote',
  plan: (n, v) => [script(ownedBy(n.layout, v.insName) + withHostLock(n.layout, stopBody(n.layout)))],
  probe: async (c, nodes, s) => (await Promise.all(nodes.map((n) => c.base.test(n.target, n.host, script(`if ${aliveTest(n.layout)}; then exit 1; fi`), s)))).every(Boolean),
  async run(c, nodes, s) {
    const out = await Promise.all(nodes.map(async (n) => `${n.host}: ${(await onOwnHost(c, n, withHostLock(n.layout, stopBody(n.layout)), s)).trim()}`));
    return out.join('; ');
  },
};

export const doPurgeInstanceFiles: Step = {
  name: 'do_purge_instance_files',
  role: 'both',
  timeoutSec: 300,
  effect: 'remote',
  plan: (n, v) => [script(ownedBy(n.layout, v.insName) + purgeScript(n.layout))],
  probe: async (c, nodes, s) => (await Promise.all(nodes.map(async (n) => (await c.base.remote(n.target, n.host, leftoversScript(n.layout), s)).trim() === ''))).every(Boolean),
  async run(c, nodes, s) {
    const out = await Promise.all(nodes.map(async (n) => `${n.host}: ${(await onOwnHost(c, n, purgeScript(n.layout), s, 300)).trim().split('\n').join(', ')}`));
    return out.join('; ');
  },
};

export const doCheckNothingLeft: Step = {
  name: 'do_check_nothing_left',
  role: 'both',
  timeoutSec: 60,
  effect: 'check',
  async run(c, nodes, s) {
    for (const n of nodes) {
      const left = (await c.base.remote(n.target, n.host, leftoversScript(n.layout), s)).trim();
      if (left) throw new RemoteError(`${n.host}: still there after the purge: ${left.split('\n').join(', ')}`, { host: n.host });
    }
    return `nothing left on ${nodes.map((n) => n.host).join(', ')}`;
  },
};

export const doReleasePortAndCapacity: Step = {
  name: 'do_release_port_and_capacity',
  role: 'metadb',
  timeoutSec: 60,
  effect: 'metadb',
  async run(c) {
    const n = await c.base.tx((tx) => releaseCapacity(tx, c.custins.id));
    return n ? `port ${c.nodes[0]?.port ?? '-'} and capacity of ${n} instance rows returned to ${c.nodes.map((x) => x.host).join(', ')}` : 'already returned';
  },
};

export const doMarkMetadataDeleted: Step = {
  name: 'do_mark_metadata_deleted',
  role: 'metadb',
  timeoutSec: 60,
  effect: 'metadb',
  async run(c) {
    // The data route leaves its proxy host first (src/ha); the statements below free its port
    // there, so a re-run finds nothing to remove.
    const route = await removeDataRoute(c.ctx, c.custins.id, c.custins.ins_name);
    await c.base.tx(async (tx) => {
      for (const [, sql] of METADATA_SQL) await tx.execute(sql, [c.custins.id]);
    });
    return `${c.custins.ins_name} deleted (${METADATA_SQL.map(([t]) => t).join(', ')})${route ? `; ${route.host}: ${route.result}` : ''}`;
  },
};

export const DELETE_FLOW: ReadonlyArray<Step> = [doCancelOpenTasks, doStopInstance, doPurgeInstanceFiles, doCheckNothingLeft, doReleasePortAndCapacity, doMarkMetadataDeleted];

export const deleteFlow: FlowDef<DeleteCtx, Node> = {
  name: DELETE_FLOW_NAME,
  version: 1,
  targetKind: 'instance',
  roles: ['both', 'metadb'],
  steps: DELETE_FLOW,
  async load(env) {
    const { ctx, db, task, base } = env;
    const custins = await findCustins(db, String(task.custins_id), { includeDeleted: true });
    const scope = base.result<Scope>('do_cancel_open_tasks');
    const all = await instanceRows(db, custins.id, { includeDeleted: true });
    // Before the first step: the live rows. After it: exactly the rows it recorded (deleted by now or not).
    const rows = scope ? all.filter((r) => scope.instance_ids.includes(r.id)) : all.filter((r) => r.status !== 'deleted');
    return { base, ctx, custins, nodes: rows.map((r) => toNode(r)) };
  },
  nodesOf: (c, role) => (role === 'both' ? c.nodes : []),
  hostName: (n) => n.host,
  async onDone() {
    // The last step marked everything deleted; nothing is left to notify.
  },
};
