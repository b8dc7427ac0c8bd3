import { ConflictError } from '../../core/errors.js';
import type { Node } from '../../rds/layout.js';
import { seedPaths } from '../../rds/layout.js';
import type { StepDef } from '../types.js';
import type { InstallCtx } from './context.js';

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
    await c.tx((tx) =>
      tx.execute(
        `INSERT INTO baklist (custins_id, instance_id, host_name, backup_set, backup_type, backup_method, backup_dir, status)
         VALUES (?, ?, ?, ?, 'full', 'physical', ?, 'pending')
         ON DUPLICATE KEY UPDATE instance_id = VALUES(instance_id), host_name = VALUES(host_name), backup_dir = VALUES(backup_dir)`,
        [c.custins.id, c.slave.instanceId, c.slave.host, FIRST_BACKUP_SET, firstBackupDir(c.slave.port)],
      ),
    );
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
    await c.tx((tx) =>
      tx.execute(
        `INSERT INTO logplan (custins_id, log_type, retention_hours, upload_interval_sec, binlog_dir, status) VALUES (?, 'binlog', 168, 300, ?, 'active')
         ON DUPLICATE KEY UPDATE binlog_dir = VALUES(binlog_dir), status = 'active'`,
        [c.custins.id, dir],
      ),
    );
    return `binlogs in ${dir}, kept 168 h, shipped every 300 s`;
  },
};

export const doActiveInstanceForInstall: Step = {
  name: 'do_active_instance_for_install',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) => tx.execute("UPDATE instance SET status = 'running' WHERE id IN (?, ?) AND status <> 'deleted'", [c.master.instanceId, c.slave.instanceId]));
    return `instances ${c.master.instanceId}, ${c.slave.instanceId} running`;
  },
};

export const doUpdateInsAccountStatus: Step = {
  name: 'do_update_ins_account_status',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const n = await c.tx(async (tx) => {
      const a = await tx.execute("UPDATE custins_account SET status = 'active' WHERE custins_id = ? AND status = 'creating' AND account_type <> 'root'", [c.custins.id]);
      await tx.execute("UPDATE custins_db SET status = 'active' WHERE custins_id = ? AND status = 'creating'", [c.custins.id]);
      return a.affectedRows;
    });
    return `${n} accounts activated`;
  },
};

export const doAddAurora: Step = {
  name: 'do_add_aurora',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) =>
      tx.execute(
        `INSERT INTO aurora_ha (custins_id, master_instance_id, slave_instance_id, ha_mode, status, read_only) VALUES (?, ?, ?, 'dual_master', 'added', 0)
         ON DUPLICATE KEY UPDATE master_instance_id = VALUES(master_instance_id), slave_instance_id = VALUES(slave_instance_id), status = IF(status = 'deleted', 'added', status)`,
        [c.custins.id, c.master.instanceId, c.slave.instanceId],
      ),
    );
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
      const r = await tx.execute("UPDATE aurora_ha SET status = 'enabled' WHERE custins_id = ? AND status <> 'deleted'", [c.custins.id]);
      if (r.affectedRows === 0) throw new ConflictError(`instance ${c.custins.ins_name} is not registered with aurora: run do_add_aurora first`);
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
    await c.tx((tx) => tx.execute('UPDATE aurora_ha SET read_only = 1 WHERE custins_id = ?', [c.custins.id]));
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
    await c.tx((tx) =>
      tx.execute('INSERT INTO custins_param (custins_id, name, value) VALUES ? ON DUPLICATE KEY UPDATE value = VALUES(value)', [rows.map(([k, v]) => [c.custins.id, k, v])]),
    );
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
    await c.tx((tx) =>
      tx.execute(
        `INSERT INTO instance_perf (instance_id, custins_id, collect_interval_sec, metrics, status) VALUES (?, ?, 60, ?, 'active'), (?, ?, 60, ?, 'active')
         ON DUPLICATE KEY UPDATE metrics = VALUES(metrics), status = 'active'`,
        [c.master.instanceId, c.custins.id, INSTANCE_METRICS, c.slave.instanceId, c.custins.id, INSTANCE_METRICS],
      ),
    );
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
    await c.tx((tx) =>
      tx.execute(
        "INSERT INTO db_perf (custins_id, db_name, collect_interval_sec, status) VALUES ? ON DUPLICATE KEY UPDATE status = 'active'",
        [c.params.dbs.map((d) => [c.custins.id, d, 300, 'active'])],
      ),
    );
    return c.params.dbs.join(', ');
  },
};
