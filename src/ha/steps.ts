import { UnhealthyError } from '../core/errors.js';
import { writeMyCnf } from '../flow/install/host-setup.js';
import type { StepDef, StepScope } from '../flow/types.js';
import { REPLICATOR, SUPERUSER, secretOf } from '../rds/accounts.js';
import { stopBody } from '../rds/host-ops.js';
import type { Node } from '../rds/layout.js';
import { openInstance } from '../remote/mysql-instance.js';
import type { HaCtx } from './context.js';
import { swapRoles } from './records.js';
import { sameTarget } from './route.js';
import { recordRouteTarget } from './route-store.js';
import { catchUpWithin, execWithin, killClientSessions, replicateFrom, replicating, serverState, setReadOnly, stopReplication, switchoverReadiness, waitApplied, type ServerState } from './server.js';
import { instanceTrust } from '../rds/instance-tls.js';
import { replicationTlsParams } from '../rds/instance-tls.js';

// The steps of the switchover and failover flows. 'master' steps act on the server that was
// master when the task was written (c.from), 'slave' steps on the one that becomes master (c.to).
// Order keeps the two invariants at every step boundary: never two writable servers (the new
// master is made writable only after the old one is read-only, stopped or cut off), and never a
// route to a read-only server (the route is blocked first and opened only to the promoted one).

type Step = StepDef<HaCtx, Node>;

export const MAX_SWITCHOVER_LAG_SEC = 5;
const CATCH_UP_SEC = 30;

const target = (n: Node): { ip: string; port: number } => ({ ip: n.ip, port: n.port });
const state = (c: HaCtx, n: Node): Promise<ServerState> => c.session(n, serverState);

/** The maintenance accounts whose sessions a fence keeps (rdsctl's own, HA's). */
export const KEEP_USERS = [SUPERUSER, 'aurora', REPLICATOR, 'system user'];

export const doCheckSwitchoverReady: Step = {
  name: 'do_check_switchover_ready',
  role: 'both',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const [from, to] = await Promise.all([state(c, c.from), state(c, c.to)]);
    const why = switchoverReadiness(to, target(c.from), MAX_SWITCHOVER_LAG_SEC) ?? (await c.session(c.to, (su) => catchUpWithin(su, from.gtidBinlogPos, MAX_SWITCHOVER_LAG_SEC)));
    if (why) throw new UnhealthyError(`switchover of ${c.base.custins.ins_name} refused: ${why}`);
    return `${c.to.host} replicates from ${c.from.host} and reached the master's ${from.gtidBinlogPos || '-'} within ${MAX_SWITCHOVER_LAG_SEC} s`;
  },
};

export const doBlockDataRoute: Step = {
  name: 'do_block_data_route',
  role: 'master',
  timeoutSec: 30,
  effect: 'remote',
  plan: (n) => [`on the proxy host of the route: HAProxy runtime API disable server rds_<id>/master; shutdown sessions server rds_<id>/master (the route to ${n.ip}:${n.port} takes no connections)`],
  probe: async (c, _n, s) => {
    const st = await c.driver.inspect(c.route.route, s.signal);
    return st.exists && !st.enabled;
  },
  async run(c, _n, s) {
    await c.driver.block(c.route.route, s.signal);
    return `route ${c.route.route.ip}:${c.route.route.port} on ${c.route.route.proxy.name} blocked`;
  },
};

export const doSetReadonlyOnOldMaster: Step = {
  name: 'do_set_readonly_on_old_master',
  role: 'master',
  timeoutSec: 30,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: SET GLOBAL read_only = ON; KILL CONNECTION of every client session`],
  probe: async (c) => (await state(c, c.from)).readOnly,
  async run(c) {
    const killed = await c.session(c.from, async (su) => {
      await setReadOnly(su, true);
      return killClientSessions(su, KEEP_USERS);
    });
    return `${c.from.host} read-only, ${killed} client sessions ended`;
  },
};

export const doWaitStandbyCatchUp: Step = {
  name: 'do_wait_standby_catch_up',
  role: 'slave',
  timeoutSec: CATCH_UP_SEC + 15,
  effect: 'check',
  async run(c) {
    const pos = (await state(c, c.from)).gtidBinlogPos;
    await c.session(c.to, (su) => waitApplied(su, c.to.host, pos, CATCH_UP_SEC));
    return `${c.to.host} applied up to ${pos || '-'}`;
  },
};

/**
 * The standby becomes writable (the route is still blocked). After a failover it has no standby
 * of its own: semi-sync waiting is switched off live, or every commit would wait the full timeout
 * for an ACK that cannot come (my.cnf keeps it on: a rebuilt standby restores it).
 */
function promote(alone: boolean): Step {
  return {
    name: 'do_promote_standby',
    role: 'slave',
    timeoutSec: 30,
    effect: 'remote',
    plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: STOP SLAVE; SET GLOBAL rpl_semi_sync_master_enabled = ${alone ? 'OFF' : 'ON'}; SET GLOBAL read_only = OFF`],
    probe: async (c) => !(await state(c, c.to)).readOnly,
    async run(c) {
      await c.session(c.to, async (su) => {
        await stopReplication(su);
        await su.query(alone ? 'SET GLOBAL rpl_semi_sync_master_enabled = OFF' : 'SET GLOBAL rpl_semi_sync_master_enabled = ON');
        await setReadOnly(su, false);
      });
      return `${c.to.host} writable${alone ? ' (semi-sync waiting off until a standby is rebuilt)' : ''}`;
    },
  };
}
export const doPromoteStandby = promote(false);
export const doPromoteLoneStandby = promote(true);

export const doRepointDataRoute: Step = {
  name: 'do_repoint_data_route',
  role: 'slave',
  timeoutSec: 30,
  effect: 'remote',
  plan: (n) => [`on the proxy host of the route: HAProxy runtime API disable server; shutdown sessions server; set server rds_<id>/master addr ${n.ip} port ${n.port}; enable server (the route file rewritten first)`],
  probe: async (c, _n, s) => {
    const st = await c.driver.inspect(c.route.route, s.signal);
    return st.exists && st.enabled && st.persisted && sameTarget(st.target, target(c.to));
  },
  async run(c, _n, s) {
    const ro = (await state(c, c.to)).readOnly;
    if (ro) throw new UnhealthyError(`${c.to.host} is read-only: the route is not opened to it`);
    await c.driver.point(c.route.route, target(c.to), s.signal);
    await c.base.tx((tx) => recordRouteTarget(tx, c.base.custins.id, target(c.to)));
    return `route ${c.route.route.ip}:${c.route.route.port} -> ${c.to.ip}:${c.to.port}`;
  },
};

export const doSwitchRolesInMetadb: Step = {
  name: 'do_switch_roles_in_metadb',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.base.tx((tx) => swapRoles(tx, c.base.custins.id, c.to.instanceId, c.from.instanceId));
    return `master = ${c.to.host} (instance ${c.to.instanceId}), slave = ${c.from.host} (instance ${c.from.instanceId})`;
  },
};

export const doReplicateFromNewMaster: Step = {
  name: 'do_replicate_from_new_master',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: SET GLOBAL rpl_semi_sync_master_enabled = OFF; STOP SLAVE; CHANGE MASTER TO <the new master>, MASTER_USE_GTID = current_pos; START SLAVE; wait until IO and SQL run`],
  probe: async (c) => replicating(await state(c, c.from), target(c.to)),
  async run(c, _n, s) {
    const pw = await c.replicatorPassword();
    const tlsOptions = await replicationTlsParams(c.base.db, c.base.custins.id, c.from.layout);
    // A standby's applier must not wait for semi-sync ACKs of what it writes to its own binlog
    // (it has no semi-sync standby of its own): its master side is off while it is a standby.
    await c.session(c.from, async (su) => {
      await su.query('SET GLOBAL rpl_semi_sync_master_enabled = OFF');
      await replicateFrom(su, target(c.to), REPLICATOR, pw, 'current_pos', tlsOptions);
    });
    const deadline = Date.now() + 30000;
    for (;;) {
      const st = await state(c, c.from);
      if (replicating(st, target(c.to))) return `${c.from.host} replicates from ${c.to.host}`;
      if (st.replica?.sqlRunning === 'No' && st.replica.lastError) throw new UnhealthyError(`${c.from.host} does not replicate from ${c.to.host}: ${st.replica.lastError}`);
      if (Date.now() > deadline || s.signal.aborted) throw new UnhealthyError(`${c.from.host} does not replicate from ${c.to.host} within 30 s: IO ${st.replica?.ioRunning}, SQL ${st.replica?.sqlRunning}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  },
};

/** my.cnf of each server again from the metadb, with the read_only of its new role. */
function rewriteMyCnf(role: 'both' | 'slave'): Step {
  return {
    name: 'do_rewrite_mycnf_after_switch',
    role,
    timeoutSec: 60,
    effect: 'remote',
    plan: (n) => [`my.cnf of ${n.host} rendered from mycnf_custinstance with read_only for its new role, written atomically`],
    probe: async () => false,
    async run(c, nodes, s: StepScope) {
      for (const n of nodes) await writeMyCnf(c.base, { ...n, role: n.instanceId === c.to.instanceId ? 'master' : 'slave' }, s);
      return nodes.map((n) => n.host).join(', ');
    },
  };
}
export const doRewriteMycnfBoth = rewriteMyCnf('both');
export const doRewriteMycnfNewMaster = rewriteMyCnf('slave');

// Failover only.

/** How long the fence waits for the old master's NC to open an SSH session. */
const FENCE_SSH_CONNECT_MS = 3000;

export const doFenceOldMaster: Step = {
  name: 'do_fence_old_master',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} (2 s to answer): SET GLOBAL read_only = ON; KILL every client session`, `else on ${n.host} (3 s to open an SSH session, asked at the same time): ${stopBody(n.layout)}`, 'else: the blocked route is the fence'],
  // Fencing is re-done on every run: the old master may have come back meanwhile.
  probe: async () => false,
  async run(c, _n, s) {
    const pw = await secretOf(c.base.db, c.base.custins.id, SUPERUSER);
    // Both doors at once: a lost NC costs the longer of the two timeouts, not their sum.
    const ncAnswers = execWithin(c.base.ssh, c.from.target, 'true', FENCE_SSH_CONNECT_MS, s.signal).then((r) => (r === null ? `no SSH answer within ${FENCE_SSH_CONNECT_MS} ms` : r.exitCode === 0 ? null : `exit ${r.exitCode}`));
    try {
      const su = await openInstance({ name: c.from.host, host: c.from.ip, port: c.from.port, user: SUPERUSER, password: pw, tls: await instanceTrust(c.base.db, c.base.custins.id, c.base.custins.ins_name), connectTimeoutMs: 2000, queryTimeoutMs: 4000 });
      try {
        await setReadOnly(su, true);
        const killed = await killClientSessions(su, KEEP_USERS);
        return `${c.from.host} answered: read-only, ${killed} client sessions ended`;
      } finally {
        await su.close();
      }
    } catch {
      // not answering over SQL: its NC may
    }
    const why = await ncAnswers;
    if (why === null) {
      const r = await c.base.ssh.exec(c.from.target, stopBody(c.from.layout), { signal: s.signal, timeoutSec: 40 });
      if (r.exitCode === 0) return `${c.from.host}: mysqld ${r.stdout.trim() || 'stopped'} (the server did not answer over SQL)`;
      c.fromUnreachable = true;
      return `${c.from.host}: stopping mysqld failed (${r.error ?? r.stderr.trim() ?? r.category}); fenced by the blocked route`;
    }
    c.fromUnreachable = true;
    return `${c.from.host} unreachable (SQL and SSH: ${why}); fenced by the blocked route`;
  },
};

export interface PromotionVerdict {
  ok: boolean;
  why: string;
}

export const doCheckStandbyData: Step = {
  name: 'do_check_standby_data',
  role: 'slave',
  timeoutSec: 90,
  effect: 'check',
  async run(c) {
    const to = await state(c, c.to);
    // Everything it received (its relay log) applied, before anything else is judged.
    if (to.replica?.gtidIoPos) await c.session(c.to, (su) => waitApplied(su, c.to.host, to.replica!.gtidIoPos, 60));
    // The old master: asked only if the fence of this run did not find it unreachable, and briefly.
    const from = c.fromUnreachable ? null : await c.sessionWithin(c.from, 2000, serverState).catch(() => null);
    if (from) {
      // The old master answers (and is read-only now): take everything it has.
      await c.session(c.to, (su) => waitApplied(su, c.to.host, from.gtidBinlogPos, 30));
      return `${c.to.host} has all of ${c.from.host} (${from.gtidBinlogPos || '-'})`;
    }
    const ha = (await c.base.db.query<{ on: number | null; age: number | null }>('SELECT last_semisync_on AS `on`, TIMESTAMPDIFF(SECOND, last_sample_at, NOW(3)) AS age FROM aurora_ha WHERE custins_id = ?', [c.base.custins.id]))[0];
    const lossless = ha?.on === 1 && ha.age !== null && ha.age <= 60;
    if (lossless) return `${c.to.host} applied all it received (${to.replica?.gtidIoPos || '-'}); semi-sync was in effect on ${c.from.host} ${ha!.age} s before`;
    const why = ha?.on === 0 ? `semi-sync was off on ${c.from.host} (fell back to asynchronous)` : 'no recent sample shows semi-sync in effect';
    if (c.params.accept_data_loss) return `promoting with possible loss (--accept-data-loss): ${why}`;
    throw new UnhealthyError(`${c.base.custins.ins_name}: no automatic promotion of ${c.to.host}: ${why}; acknowledged writes may be missing there. Promote anyway with \`rdsctl instance failover ${c.base.custins.ins_name} --accept-data-loss\``);
  },
};

export const doMarkOldMasterForRebuild: Step = {
  name: 'do_mark_old_master_for_rebuild',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const quiet = c.params.quiet_sec ?? 600;
    await c.base.tx(async (tx) => {
      await tx.execute("UPDATE instance SET status = 'failed' WHERE id = ?", [c.from.instanceId]);
      await tx.execute('UPDATE aurora_ha SET rebuild_instance_id = ?, last_failover_at = NOW(3), quiet_until = NOW(3) + INTERVAL ? SECOND, last_semisync_on = NULL WHERE custins_id = ?', [c.from.instanceId, quiet, c.base.custins.id]);
    });
    return `${c.from.host} (instance ${c.from.instanceId}) marked for rebuild; no automatic failover for ${quiet} s`;
  },
};
