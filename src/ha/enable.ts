import { UnhealthyError } from '../core/errors.js';
import { pollUntil, withSu, type InstallCtx } from '../flow/install/context.js';
import { loadInstallCtx, nodesOf } from '../flow/install/context.js';
import { writeMyCnf } from '../flow/install/host-setup.js';
import type { FlowDef, StepDef } from '../flow/types.js';
import { SUPERUSER } from '../rds/accounts.js';
import type { Node } from '../rds/layout.js';
import { recordEvent } from './records.js';
import { applySemisync, haParams, persistHaParams, semisyncConfigured, semisyncState, semisyncTimeoutMs } from './semisync.js';
import { replicating, serverState } from './server.js';

// `instance ha enable`: lossless semi-sync and binlog expiry for a pair created before HA (new
// pairs get them in the install's do_check_slave_master). The standby first (its slave side on,
// master side off, IO thread reconnected), then the master: once it waits for ACKs, a standby
// that sends them is already connected, so no commit waits the timeout. Every step is idempotent.

export const HA_ENABLE_FLOW_NAME = 'ha_enable';

type Step = StepDef<InstallCtx, Node>;

const doCheckHaPair: Step = {
  name: 'do_check_ha_pair',
  role: 'both',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const [m, s] = await Promise.all([withSu(c, c.master, serverState), withSu(c, c.slave, serverState)]);
    if (m.readOnly) throw new UnhealthyError(`the master ${c.master.host} is read-only`);
    if (!replicating(s, { ip: c.master.ip, port: c.master.port })) {
      throw new UnhealthyError(`the standby ${c.slave.host} does not replicate from the master ${c.master.ip}:${c.master.port} (IO ${s.replica?.ioRunning ?? '-'}, SQL ${s.replica?.sqlRunning ?? '-'}${s.replica?.lastError ? `: ${s.replica.lastError}` : ''}): repair or rebuild it first`);
    }
    return `${c.slave.host} replicates from ${c.master.host}`;
  },
};

const doPersistHaParams: Step = {
  name: 'do_persist_ha_params',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const ms = await semisyncTimeoutMs(c.db, c.custins.class_code);
    await c.tx((tx) => persistHaParams(tx, c.custins.id, ms));
    return `mycnf_custinstance: ${haParams(ms).map(([k, v]) => `${k}=${v}`).join(', ')}`;
  },
};

const doRewriteMycnfHa: Step = {
  name: 'do_rewrite_mycnf_ha',
  role: 'both',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [`my.cnf of ${n.host} rendered from mycnf_custinstance (semi-sync master side ${n.role === 'master' ? 'ON' : 'OFF'} for the ${n.role === 'master' ? 'master' : 'standby'}), written atomically`],
  probe: async () => false,
  async run(c, nodes, s) {
    await Promise.all(nodes.map((n) => writeMyCnf(c, n, s)));
    return nodes.map((n) => n.layout.mycnf).join(', ');
  },
};

function applyOn(role: 'master' | 'slave'): Step {
  return {
    name: role === 'slave' ? 'do_enable_semisync_standby' : 'do_enable_semisync_master',
    role,
    timeoutSec: 60,
    effect: 'remote',
    plan: (n) => [
      `SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC, rpl_semi_sync_master_timeout = <class>, rpl_semi_sync_master_wait_no_slave = ON, binlog_expire_logs_seconds = 604800, rpl_semi_sync_master_enabled = ${role === 'master' ? 'ON' : 'OFF'}, rpl_semi_sync_slave_enabled = ON` +
        (role === 'slave' ? '; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD (the slave side takes effect on reconnect)' : '; wait until Rpl_semi_sync_master_status = ON with a semi-sync client'),
    ],
    async probe(c, [n]) {
      const ms = await semisyncTimeoutMs(c.db, c.custins.class_code);
      const st = await withSu(c, n!, semisyncState);
      return semisyncConfigured(st, ms, role) && (role === 'slave' ? st.slaveActive : st.masterActive && st.clients >= 1);
    },
    async run(c, [n], s) {
      const ms = await semisyncTimeoutMs(c.db, c.custins.class_code);
      await withSu(c, n!, (su) => applySemisync(su, ms, role));
      const st = await pollUntil(c, s, 100, async () => {
        const x = await withSu(c, n!, semisyncState);
        return (role === 'slave' ? x.slaveActive : x.masterActive && x.clients >= 1) ? x : undefined;
      });
      return role === 'slave' ? `${n!.host}: semi-sync slave side in effect, master side off` : `${n!.host}: semi-sync master in effect (AFTER_SYNC, timeout ${ms} ms, ${st.clients} semi-sync standby)`;
    },
  };
}

export const HA_ENABLE_STEPS: Step[] = [doCheckHaPair, doPersistHaParams, doRewriteMycnfHa, applyOn('slave'), applyOn('master')];

export const haEnableFlow: FlowDef<InstallCtx, Node> = {
  name: HA_ENABLE_FLOW_NAME,
  version: 1,
  targetKind: 'instance',
  roles: ['master', 'slave', 'both', 'metadb'],
  steps: HA_ENABLE_STEPS,
  load: loadInstallCtx,
  nodesOf,
  hostName: (n) => n.host,
  async onDone(c, tx) {
    await recordEvent(tx, { custinsId: c.custins.id, kind: 'enable', oldMaster: c.master.instanceId, newMaster: c.master.instanceId, taskId: c.task.id, actor: c.task.created_by ?? null, detail: `semi-sync (AFTER_SYNC) and binlog expiry on ${c.master.host} / ${c.slave.host}` });
  },
  async onFail(c, tx, error) {
    await recordEvent(tx, { custinsId: c.custins.id, kind: 'alert', taskId: c.task.id, detail: `ha enable failed: ${error}` });
  },
};
