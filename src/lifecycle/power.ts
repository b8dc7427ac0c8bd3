import { UnhealthyError, UsageError } from '../core/errors.js';
import { pollUntil, withSu } from '../flow/install/context.js';
import type { FlowDef, FlowEnv, StepDef, StepScope } from '../flow/types.js';
import { loadHaCtx, haNodesOf, type HaCtx } from '../ha/context.js';
import { SWITCHOVER_STEPS } from '../ha/flows.js';
import { recordEvent } from '../ha/records.js';
import { replicating, serverState, waitApplied, type ServerState } from '../ha/server.js';
import { aliveTest, script } from '../rds/host-ops.js';
import type { Node } from '../rds/layout.js';
import { sh } from '../remote/quote.js';

// `instance start|stop|restart`: flows on the task engine that drive each server through its
// init script (/etc/init.d/mysql<port>, written by the install's do_rebuild_initd), so a server
// is started exactly as the NC would start it at boot. The metadb's instance.status follows
// what the hosts confirm (do_update_instance_status asks them), never what was asked.
//
// Roles as in the HA flows: 'master' = the server that was master when the task was written
// (c.from), 'slave' = its standby then (c.to); fixed by instance id, so a resumed task acts on the
// same servers after the switchover in the middle of a rolling restart swapped the metadb roles.
//
// A restart of both is rolling: standby first, then the switchover (the HA flow's own steps), then
// the old master, now a standby: writes stop only for the switchover. `--no-switchover` restarts
// the master in place (the downtime is the restart, said in the confirmation).
//
// While a standby is down its master's semi-sync master side is switched off
// (do_pause_semisync_wait): with it on, every commit would wait the full semi-sync timeout for an
// ACK that cannot come. It is switched on again once the standby replicates again.
// While a master is stopped by an operator, HA is suspended (aurora_ha.status 'added'), so that
// `ha watch` does not fail over a server that was stopped on purpose; start enables it again.

export type PowerScope = 'master' | 'standby' | 'both';
export type PowerVerb = 'start' | 'stop' | 'restart';

export interface PowerParams {
  scope: PowerScope;
  /** restart of the master (or both) through a switchover; false = in place, with downtime */
  switchover: boolean;
}

export interface PowerCtx extends HaCtx {
  power: PowerParams;
}

type Step = StepDef<PowerCtx, Node>;

export function parsePowerParams(p: Record<string, unknown>): PowerParams {
  const scope = p.scope;
  if (scope !== 'master' && scope !== 'standby' && scope !== 'both') throw new UsageError(`task parameter scope: master, standby or both, not ${JSON.stringify(scope)}`);
  if (p.switchover !== undefined && typeof p.switchover !== 'boolean') throw new UsageError('task parameter switchover: true or false');
  return { scope, switchover: p.switchover === true };
}

const hasStandby = (p: PowerParams): boolean => p.scope !== 'master';
const hasMaster = (p: PowerParams): boolean => p.scope !== 'standby';
const rolling = (p: PowerParams): boolean => hasMaster(p) && p.switchover;
const inPlace = (p: PowerParams): boolean => hasMaster(p) && !p.switchover;

/** The step applies when `when` holds for the task's parameters; otherwise it is skipped with `rule`. */
function only(step: Step, when: (p: PowerParams) => boolean, rule: string): Step {
  return { ...step, skipRule: rule, skip: (c) => (when(c.power) ? null : `not part of this task (${rule})`) };
}

const nodeOf = (c: PowerCtx, role: 'master' | 'slave'): Node => (role === 'master' ? c.from : c.to);
const state = (c: PowerCtx, n: Node): Promise<ServerState> => withSu(c.base, n, serverState);
const answers = (c: PowerCtx, n: Node): Promise<boolean> =>
  withSu(c.base, n, (su) => su.query('SELECT 1'))
    .then(() => true)
    .catch(() => false);
const alive = (c: PowerCtx, n: Node, s: StepScope): Promise<boolean> => c.base.test(n, aliveTest(n.layout), s);

export function initCommand(n: { layout: { initScript: string } }, verb: 'start' | 'stop'): string {
  return script(sh`${n.layout.initScript} ${verb}`);
}

/** The server's semi-sync master side (waiting for a standby's ACK) off, live, while its standby is down. */
function pauseSemisyncWait(role: 'master' | 'slave'): Step {
  return {
    name: 'do_pause_semisync_wait',
    role,
    timeoutSec: 30,
    effect: 'remote',
    plan: (n) => [`SQL over TCP to ${n.ip}:${n.port}: SET GLOBAL rpl_semi_sync_master_enabled = OFF`],
    probe: async (c) => !(await state(c, nodeOf(c, role))).semisync.masterEnabled,
    async run(c) {
      const n = nodeOf(c, role);
      await withSu(c.base, n, (su) => su.query('SET GLOBAL rpl_semi_sync_master_enabled = OFF'));
      return `${n.host}: semi-sync waiting off while its standby is down`;
    },
  };
}

/**
 * Semi-sync waiting on again once the standby replicates, and the standby counted as a semi-sync
 * client: its IO thread is reconnected when it registered while the master side was off.
 */
function resumeSemisyncWait(role: 'master' | 'slave'): Step {
  const standbyOf = (c: PowerCtx): Node => (role === 'master' ? c.to : c.from);
  return {
    name: 'do_resume_semisync_wait',
    role,
    timeoutSec: 60,
    effect: 'remote',
    plan: (n, v) => [`SQL over TCP to ${n.ip}:${n.port}: SET GLOBAL rpl_semi_sync_master_enabled = ON`, `then until ${n.ip}:${n.port} counts a semi-sync client: STOP SLAVE IO_THREAD; START SLAVE IO_THREAD on ${v.peer.ip}:${v.peer.port}`],
    probe: async (c) => {
      const st = (await state(c, nodeOf(c, role))).semisync;
      return st.masterEnabled && st.clients >= 1;
    },
    async run(c, _n, s) {
      const n = nodeOf(c, role);
      const sb = standbyOf(c);
      await withSu(c.base, n, (su) => su.query('SET GLOBAL rpl_semi_sync_master_enabled = ON'));
      const clients = async (): Promise<number> => (await state(c, n)).semisync.clients;
      let bounced = false;
      const t0 = Date.now();
      await pollUntil(c.base, s, 200, async () => {
        if ((await clients()) >= 1) return true;
        if (!bounced && Date.now() - t0 > 2000) {
          bounced = true;
          await withSu(c.base, sb, async (su) => {
            await su.query('STOP SLAVE IO_THREAD');
            await su.query('START SLAVE IO_THREAD');
          });
        }
        return undefined;
      });
      return `${n.host}: semi-sync waiting on, ${sb.host} acknowledges${bounced ? ' (its IO thread reconnected)' : ''}`;
    },
  };
}


function stopMysql(role: 'master' | 'slave'): Step {
  return {
    name: 'do_stop_mysql',
    role,
    timeoutSec: 90,
    effect: 'remote',
    plan: (n) => [initCommand(n, 'stop')],
    probe: async (c, [n], s) => !(await alive(c, n!, s)),
    async run(c, [n], s) {
      const out = await c.base.remote(n!, initCommand(n!, 'stop'), s, { timeoutSec: 80 });
      if (await alive(c, n!, s)) throw new UnhealthyError(`${n!.host}: mysqld of port ${n!.port} still runs after ${n!.layout.initScript} stop`);
      return `${n!.host}: ${out.trim() || 'stopped'}`;
    },
  };
}

function startMysql(role: 'master' | 'slave'): Step {
  return {
    name: 'do_start_mysql',
    role,
    timeoutSec: 180,
    effect: 'remote',
    plan: (n) => [initCommand(n, 'start'), `then wait until ${n.ip}:${n.port} answers SQL`],
    probe: async (c, [n], s) => (await alive(c, n!, s)) && (await answers(c, n!)),
    async run(c, [n], s) {
      const out = await c.base.remote(n!, initCommand(n!, 'start'), s);
      await pollUntil(c.base, s, 200, async () => ((await alive(c, n!, s)) && (await answers(c, n!)) ? true : undefined));
      return `${n!.host}: ${out.trim()}; answers on ${n!.ip}:${n!.port}`;
    },
  };
}

/**
 * A restarted standby replicates from `masterOf` again and has applied the master's position of
 * the moment: replication resumes by itself from master.info (no skip-slave-start); START SLAVE
 * when it did not. Its own semi-sync master side goes off (my.cnf has it on for both roles).
 */
function waitReplication(name: string, role: 'master' | 'slave', masterOf: (c: PowerCtx) => Node): Step {
  return {
    name,
    role,
    timeoutSec: 120,
    effect: 'remote',
    plan: (n, v) => [`SQL over TCP to ${n.ip}:${n.port}: SET GLOBAL rpl_semi_sync_master_enabled = OFF; START SLAVE unless running; wait until it replicates from ${v.peer.ip}:${v.peer.port} and applied its GTID position`],
    probe: async (c) => {
      const n = nodeOf(c, role);
      const m = masterOf(c);
      const st = await state(c, n);
      return replicating(st, { ip: m.ip, port: m.port }) && !st.semisync.masterEnabled;
    },
    async run(c, _nodes, s) {
      const n = nodeOf(c, role);
      const m = masterOf(c);
      const to = { ip: m.ip, port: m.port };
      await withSu(c.base, n, async (su) => {
        await su.query('SET GLOBAL rpl_semi_sync_master_enabled = OFF');
        const st = await serverState(su);
        if (!st.replica) throw new UnhealthyError(`${n.host} has no replication configured; rebuild it: rdsctl instance rebuild-standby ${c.base.custins.ins_name}`);
        if (st.replica.ioRunning !== 'Yes' || st.replica.sqlRunning !== 'Yes') await su.query('START SLAVE');
      });
      await pollUntil(c.base, s, 200, async () => {
        const st = await state(c, n);
        if (replicating(st, to)) return true;
        if (st.replica?.sqlRunning === 'No' && st.replica.lastError) throw new UnhealthyError(`${n.host} does not replicate from ${m.host}: ${st.replica.lastError}`);
        return undefined;
      });
      const pos = (await state(c, m)).gtidBinlogPos;
      await withSu(c.base, n, (su) => waitApplied(su, n.host, pos, 60));
      return `${n.host} replicates from ${m.host}, applied ${pos || '-'}`;
    },
  };
}

/** HA suspended while an operator has the master down: `ha watch` leaves an instance not 'enabled' alone. */
const doSuspendHa: Step = {
  name: 'do_suspend_ha',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const r = await c.base.tx((tx) => tx.execute("UPDATE aurora_ha SET status = 'added' WHERE custins_id = ? AND status = 'enabled'", [c.base.custins.id]));
    return r.affectedRows ? 'aurora_ha enabled -> added: no automatic failover while the master is stopped on purpose' : 'HA was not enabled';
  },
};

/** HA back on once both servers run (a pair registered by the install: aurora_ha 'added' -> 'enabled'). */
const doResumeHa: Step = {
  name: 'do_resume_ha',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c, _n, s) {
    const up = await Promise.all([c.from, c.to].map((n) => alive(c, n, s)));
    if (!up.every(Boolean)) return 'HA stays suspended: not both servers run';
    const r = await c.base.tx((tx) => tx.execute("UPDATE aurora_ha SET status = 'enabled' WHERE custins_id = ? AND status = 'added'", [c.base.custins.id]));
    return r.affectedRows ? 'aurora_ha added -> enabled' : 'HA was enabled already';
  },
};

/** instance.status of both rows from what their NCs say now: running or stopped. */
const doUpdateInstanceStatus: Step = {
  name: 'do_update_instance_status',
  role: 'metadb',
  timeoutSec: 60,
  effect: 'metadb',
  async run(c, _n, s) {
    const seen: string[] = [];
    for (const n of [c.from, c.to]) {
      const status = (await alive(c, n, s)) && (await answers(c, n)) ? 'running' : 'stopped';
      await c.base.tx((tx) => tx.execute("UPDATE instance SET status = ? WHERE id = ? AND status IN ('running','stopped')", [status, n.instanceId]));
      seen.push(`${n.host} ${status}`);
    }
    return seen.join(', ');
  },
};

const masterIsFrom = (c: PowerCtx): Node => c.from;
const masterIsTo = (c: PowerCtx): Node => c.to;

export const RESTART_STEPS: Step[] = [
  only(pauseSemisyncWait('master'), hasStandby, 'the standby is restarted'),
  only(stopMysql('slave'), hasStandby, 'the standby is restarted'),
  only(startMysql('slave'), hasStandby, 'the standby is restarted'),
  only(waitReplication('do_wait_replication', 'slave', masterIsFrom), hasStandby, 'the standby is restarted'),
  only(resumeSemisyncWait('master'), hasStandby, 'the standby is restarted'),
  ...SWITCHOVER_STEPS.map((st) => only(st, rolling, 'the master is restarted through a switchover')),
  only(pauseSemisyncWait('slave'), rolling, 'the old master is restarted as the standby'),
  only(doSuspendHa, inPlace, 'the master is restarted in place (--no-switchover)'),
  only(stopMysql('master'), hasMaster, 'the master is restarted'),
  only(startMysql('master'), hasMaster, 'the master is restarted'),
  only(waitReplication('do_wait_replication', 'master', masterIsTo), rolling, 'the old master is restarted as the standby'),
  only(waitReplication('do_wait_standby_reconnect', 'slave', masterIsFrom), inPlace, 'the master is restarted in place (--no-switchover)'),
  only(resumeSemisyncWait('slave'), rolling, 'the old master is restarted as the standby'),
  only(doResumeHa, inPlace, 'the master is restarted in place (--no-switchover)'),
  doUpdateInstanceStatus,
];

export const STOP_STEPS: Step[] = [
  only(pauseSemisyncWait('master'), (p) => p.scope === 'standby', 'only the standby is stopped'),
  only(doSuspendHa, hasMaster, 'the master is stopped'),
  only(stopMysql('slave'), hasStandby, 'the standby is stopped'),
  only(stopMysql('master'), hasMaster, 'the master is stopped'),
  doUpdateInstanceStatus,
];

export const START_STEPS: Step[] = [
  only(startMysql('master'), hasMaster, 'the master is started'),
  only(startMysql('slave'), hasStandby, 'the standby is started'),
  only(waitReplication('do_wait_replication', 'slave', masterIsFrom), (p) => p.scope === 'both', 'both servers are started'),
  only(resumeSemisyncWait('master'), (p) => p.scope === 'both', 'both servers are started'),
  only(doResumeHa, () => true, 'always'),
  doUpdateInstanceStatus,
];

export const POWER_STEPS: Record<PowerVerb, Step[]> = { start: START_STEPS, stop: STOP_STEPS, restart: RESTART_STEPS };

async function loadPowerCtx(env: FlowEnv): Promise<PowerCtx> {
  return { ...(await loadHaCtx(env)), power: parsePowerParams(env.task.params) };
}

function powerFlow(name: PowerVerb): FlowDef<PowerCtx, Node> {
  return {
    name,
    version: 1,
    targetKind: 'instance',
    roles: ['master', 'slave', 'both', 'metadb'],
    steps: POWER_STEPS[name],
    validateParams: (p) => void parsePowerParams(p),
    load: loadPowerCtx,
    nodesOf: haNodesOf,
    hostName: (n) => n.host,
    async onDone(c, tx) {
      if (name === 'restart' && rolling(c.power)) {
        await recordEvent(tx, { custinsId: c.base.custins.id, kind: 'switchover', oldMaster: c.from.instanceId, newMaster: c.to.instanceId, taskId: c.base.task.id, actor: c.params.requested_by ?? c.base.task.created_by ?? null, detail: `rolling restart (${c.power.scope}): ${c.from.host} -> ${c.to.host}` });
      }
    },
  };
}

export const startFlow = powerFlow('start');
export const stopFlow = powerFlow('stop');
export const restartFlow = powerFlow('restart');

/** The steps a task with these parameters runs (the others are skipped), for --dry-run. */
export function plannedSteps(verb: PowerVerb, p: PowerParams): Step[] {
  const probe = { power: p } as PowerCtx;
  return POWER_STEPS[verb].filter((st) => !st.skip || st.skip(probe) === null);
}
