import { ConflictError } from '../../core/errors.js';
import type { Node } from '../../rds/layout.js';
import { seedPaths } from '../../rds/layout.js';
import type { StepDef } from '../types.js';
import type { InstallCtx } from './context.js';
import { ensureInstallSet } from '../../backup/sets.js';
import { addAurora, auroraReadOnly, enableAurora } from '../../ha/records.js';
import { activateAccountsAndDbs } from '../../rds/accounts.js';
import { markInstancesRunning, persistCustinsParams } from '../../rds/custins.js';
import { ensureBinlogPlan } from '../../rds/logplan.js';
import { collectDbPerf, collectInstancePerf } from '../../rds/perf.js';

// Rows the rest of the control plane reads: backup list and log plan, instance and account
// status, the HA (aurora) registration, the persisted create parameters and the perf tables.

type Step = StepDef<InstallCtx, Node>;

/** The first backup set of an instance, taken on the standby by do_start_create_new_backup. */
export const FIRST_BACKUP_SET = 'install-full';

export function firstBackupDir(port: number): string {
  return `${seedPaths(port).backupDir}/${FIRST_BACKUP_SET}`;
}

export const doInsertBaklist: Step = {
  name: 'do_insert_baklist',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) => ensureInstallSet(tx, c.custins.id, { instanceId: c.slave.instanceId, host: c.slave.host, backupSet: FIRST_BACKUP_SET, dir: firstBackupDir(c.slave.port) }));
    return `${FIRST_BACKUP_SET} on ${c.slave.host}:${firstBackupDir(c.slave.port)}`;
  },
};

export const doInsertLogplan: Step = {
  name: 'do_insert_logplan',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const dir = seedPaths(c.master.port).dbsDir;
    await c.tx((tx) => ensureBinlogPlan(tx, c.custins.id, dir));
    return `binlogs in ${dir}, kept 168 h, shipped every 300 s`;
  },
};

export const doActiveInstanceForInstall: Step = {
  name: 'do_active_instance_for_install',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) => markInstancesRunning(tx, [c.master.instanceId, c.slave.instanceId]));
    return `instances ${c.master.instanceId}, ${c.slave.instanceId} running`;
  },
};

export const doUpdateInsAccountStatus: Step = {
  name: 'do_update_ins_account_status',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const n = await c.tx((tx) => activateAccountsAndDbs(tx, c.custins.id));
    return `${n} accounts activated`;
  },
};

export const doAddAurora: Step = {
  name: 'do_add_aurora',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) => addAurora(tx, c.custins.id, c.master.instanceId, c.slave.instanceId));
    return `HA pair ${c.master.host} / ${c.slave.host}`;
  },
};

export const doEnableAurora: Step = {
  name: 'do_enable_aurora',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx(async (tx) => {
      if (!(await enableAurora(tx, c.custins.id))) throw new ConflictError(`instance ${c.custins.ins_name} is not registered with aurora: run do_add_aurora first`);
    });
    return 'HA enabled';
  },
};

export const GUARD_RULE = 'applies to guard (disaster-recovery) instances only';
export const guardOnly = (c: InstallCtx): string | null => (c.custins.is_guard ? null : `${GUARD_RULE}; this is a normal instance`);

export const doUpdateAuroraToReadonlyForGuardIns: Step = {
  name: 'do_update_aurora_to_readonly_for_guard_ins',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  skipRule: GUARD_RULE,
  skip: guardOnly,
  async run(c) {
    await c.tx((tx) => auroraReadOnly(tx, c.custins.id));
    return 'HA keeps both servers read-only';
  },
};

export const doPersisCustinsParam: Step = {
  name: 'do_persis_custins_param',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const p = c.params;
    const rows: Array<[string, string]> = [
      ['minor_version', p.minor_version ?? c.custins.minor_version ?? ''],
      ['time_zone', p.time_zone],
      ['whitelist', p.whitelist.join(',')],
      ['ecs_sg', p.ecs_sg ?? ''],
      ['dbs', p.dbs.join(',')],
      ['accounts', p.accounts.join(',')],
      ['vswitch_id', p.vswitch_id ?? ''],
      ['install_task_id', String(c.task.id)],
      ['requested_by', p.requested_by ?? c.task.created_by ?? ''],
    ];
    await c.tx((tx) => persistCustinsParams(tx, c.custins.id, rows));
    return `${rows.length} parameters`;
  },
};

const INSTANCE_METRICS = 'cpu,mem,iops,connections,qps,tps,slave_lag,binlog_size';

export const doInsertInstancePerfTable: Step = {
  name: 'do_insert_instance_perf_table',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) => collectInstancePerf(tx, c.custins.id, [c.master.instanceId, c.slave.instanceId], INSTANCE_METRICS));
    return `2 instances, every 60 s: ${INSTANCE_METRICS}`;
  },
};

export const doInsertDbPerf: Step = {
  name: 'do_insert_db_perf',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  skipRule: 'applies when databases were created (--db)',
  skip: (c) => (c.params.dbs.length ? null : 'no database was requested (--db)'),
  async run(c) {
    await c.tx((tx) => collectDbPerf(tx, c.custins.id, c.params.dbs, 300));
    return c.params.dbs.join(', ');
  },
};
