import { RemoteError } from '../../core/errors.js';
import { SUPERUSER, secretOf } from '../../rds/accounts.js';
import { loadTimeZonesScript, readFileScript, script, writeFileScript } from '../../rds/host-ops.js';
import type { Node } from '../../rds/layout.js';
import { myCnfValue, setTaskParam } from '../../rds/mycnf.js';
import { isNamedTimeZone } from '../../rds/names.js';
import { sqlString } from '../../rds/sql-text.js';
import { sh } from '../../remote/quote.js';
import type { StepDef } from '../types.js';
import { withSu, type InstallCtx } from './context.js';
import { writeMyCnf } from './host-setup.js';
import { FIRST_BACKUP_SET, GUARD_RULE, guardOnly } from './records.js';
import { namedSetDone, namedSetFailed, namedSetRunning, namedSetStatus } from '../../backup/sets.js';

// Server-side work after replication runs: time zones, the HA heartbeat objects, read-only for a
// guard instance, and the first physical backup of the standby.

type Step = StepDef<InstallCtx, Node>;

async function zoneCount(c: InstallCtx, n: Node, name?: string): Promise<number> {
  const where = name ? ` WHERE Name = ${sqlString(name)}` : '';
  return Number((await c.suSql(n, [`SELECT COUNT(*) AS n FROM mysql.time_zone_name${where}`]))[0]?.n ?? 0);
}

// Each server loads its own NC's zoneinfo with the binlog off: through the binlog, every one of
// the ~9,000 statements would wait for a binlog fsync (sync_binlog=1), about 8 s instead of 1 s.
export const doInsertTimeZoneTables: Step = {
  name: 'do_insert_time_zone_tables',
  role: 'both',
  timeoutSec: 300,
  effect: 'remote',
  plan: (n) => [loadTimeZonesScript(n.layout)],
  probe: async (c, nodes) => (await Promise.all(nodes.map((n) => zoneCount(c, n)))).every((k) => k > 0),
  async run(c, nodes, s) {
    await Promise.all(nodes.map((n) => c.remote(n, loadTimeZonesScript(n.layout), s, { timeoutSec: 300 })));
    const counts = await Promise.all(nodes.map(async (n) => `${n.host} ${await zoneCount(c, n)}`));
    return `zones from each NC's /usr/share/zoneinfo: ${counts.join(', ')}`;
  },
};

const NAMED_TZ_RULE = 'applies when --time-zone names a zone (e.g. Asia/Shanghai)';

function resetNamedTimezone(role: 'master' | 'slave'): Step {
  return {
    name: 'do_reset_named_timezone_config',
    role,
    timeoutSec: 120,
    effect: 'remote',
    group: 'tz',
    plan: (n, v) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: SET GLOBAL time_zone = ${sqlString(v.timeZone)}`, `${writeFileScript(n.layout.mycnf, '0644')}  # stdin: the re-rendered my.cnf`],
    skipRule: NAMED_TZ_RULE,
    skip: (c) => (isNamedTimeZone(c.params.time_zone) ? null : `${NAMED_TZ_RULE}; the time zone is ${c.params.time_zone}`),
    async probe(c, [n], s) {
      const live = (await c.suSql(n!, ['SELECT @@GLOBAL.time_zone AS tz']))[0]?.tz;
      const cnf = myCnfValue(await c.remote(n!, readFileScript(n!.layout.mycnf), s), 'default_time_zone');
      return live === c.params.time_zone && cnf === c.params.time_zone;
    },
    async run(c, [n], s) {
      const tz = c.params.time_zone;
      if ((await zoneCount(c, n!, tz)) === 0) throw new RemoteError(`${n!.host}: time zone ${tz} is not in mysql.time_zone_name (not in the NC's zoneinfo?)`, { host: n!.host });
      await c.suSql(n!, [`SET GLOBAL time_zone = ${sqlString(tz)}`]);
      await c.tx((tx) => setTaskParam(tx, c.custins.id, 'default_time_zone', tz));
      await writeMyCnf(c, n!, s);
      return `${n!.host}: time_zone ${tz} (live and in my.cnf)`;
    },
  };
}
export const doResetNamedTimezoneConfigMaster = resetNamedTimezone('master');
export const doResetNamedTimezoneConfigSlave = resetNamedTimezone('slave');

/** The control plane's schema on every instance: the HA heartbeat that aurora updates. */
export const SYS_DB = '__rds_sys__';

async function objectExists(c: InstallCtx, n: Node, table: 'TRIGGERS' | 'VIEWS', name: string): Promise<boolean> {
  const col = table === 'TRIGGERS' ? 'TRIGGER' : 'TABLE';
  return withSu(c, n, async (su) => (await su.query<{ n: number }>(`SELECT COUNT(*) AS n FROM information_schema.${table} WHERE ${col}_SCHEMA = ? AND ${col}_NAME = ?`, [SYS_DB, name]))[0]!.n > 0);
}

export const doCreateTriggerByMaster: Step = {
  name: 'do_create_trigger_by_master',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: CREATE DATABASE IF NOT EXISTS ${SYS_DB}; CREATE TABLE IF NOT EXISTS ${SYS_DB}.ha_heartbeat …; CREATE TRIGGER IF NOT EXISTS ${SYS_DB}.ha_heartbeat_bu …; INSERT IGNORE INTO ${SYS_DB}.ha_heartbeat …`],
  probe: (c, [n]) => objectExists(c, n!, 'TRIGGERS', 'ha_heartbeat_bu'),
  async run(c, [n]) {
    await withSu(c, n!, async (su) => {
      await su.query(`CREATE DATABASE IF NOT EXISTS ${SYS_DB}`);
      await su.query(`CREATE TABLE IF NOT EXISTS ${SYS_DB}.ha_heartbeat (id INT UNSIGNED NOT NULL PRIMARY KEY, server_id INT UNSIGNED NOT NULL, gmt_beat DATETIME(6) NOT NULL, beat_count BIGINT UNSIGNED NOT NULL DEFAULT 0) ENGINE=InnoDB`);
      await su.query(`CREATE TRIGGER IF NOT EXISTS ${SYS_DB}.ha_heartbeat_bu BEFORE UPDATE ON ${SYS_DB}.ha_heartbeat FOR EACH ROW SET NEW.gmt_beat = NOW(6), NEW.beat_count = OLD.beat_count + 1`);
      await su.query(`INSERT IGNORE INTO ${SYS_DB}.ha_heartbeat (id, server_id, gmt_beat) VALUES (1, @@server_id, NOW(6))`);
    });
    return `${SYS_DB}.ha_heartbeat_bu on ${n!.host} (replicated)`;
  },
};

export const doCreateViewByMaster: Step = {
  name: 'do_create_view_by_master',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: CREATE OR REPLACE SQL SECURITY INVOKER VIEW ${SYS_DB}.ha_heartbeat_age …`],
  probe: (c, [n]) => objectExists(c, n!, 'VIEWS', 'ha_heartbeat_age'),
  async run(c, [n]) {
    await withSu(c, n!, (su) =>
      su.query(`CREATE OR REPLACE SQL SECURITY INVOKER VIEW ${SYS_DB}.ha_heartbeat_age AS SELECT id, server_id, gmt_beat, beat_count, TIMESTAMPDIFF(MICROSECOND, gmt_beat, NOW(6)) / 1000000 AS age_sec FROM ${SYS_DB}.ha_heartbeat`),
    );
    return `${SYS_DB}.ha_heartbeat_age on ${n!.host} (replicated)`;
  },
};

function guardReadonly(role: 'master' | 'slave'): Step {
  return {
    name: 'do_set_server_readonly_for_guard_ins',
    role,
    timeoutSec: 60,
    effect: 'remote',
    skipRule: GUARD_RULE,
    skip: guardOnly,
    plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: SET GLOBAL read_only = ON`, `${writeFileScript(n.layout.mycnf, '0644')}  # stdin: the re-rendered my.cnf (read_only)`],
    probe: async (c, [n]) => withSu(c, n!, async (su) => Number((await su.query<{ ro: number }>('SELECT @@GLOBAL.read_only AS ro'))[0]!.ro) === 1),
    async run(c, [n], s) {
      await withSu(c, n!, (su) => su.query('SET GLOBAL read_only = ON'));
      // my.cnf of a guard instance is rendered read-only on both hosts; rewrite it in case it drifted.
      await writeMyCnf(c, n!, s);
      return `${n!.host}: read_only ON (live and in my.cnf)`;
    },
  };
}
export const doSetServerReadonlyForGuardInsMaster = guardReadonly('master');
export const doSetServerReadonlyForGuardInsSlave = guardReadonly('slave');

/** The backup runs with an option file made from stdin and removed on exit: the password is never on a command line. */
function backupScript(n: Pick<Node, 'layout'>): string {
  const dir = `${n.layout.backupDir}/${FIRST_BACKUP_SET}`;
  const log = `${n.layout.backupDir}/${FIRST_BACKUP_SET}.log`;
  return script(
    sh`rm -rf ${dir}; mkdir -p ${n.layout.backupDir}; chmod 700 ${n.layout.backupDir}; ` +
      'f=$(mktemp); trap \'rm -f "$f"\' EXIT; cat > "$f"; ' +
      'b=$(command -v mariadb-backup || command -v mariabackup) || { echo "mariadb-backup is not installed (Debian package mariadb-backup)" >&2; exit 127; }; ' +
      sh`"$b" --defaults-file="$f" --backup --target-dir=${dir} --socket=${n.layout.socket} --log-copy-interval=10 > ${log} 2>&1 || { tail -n 5 ${log} >&2; exit 1; }; ` +
      sh`du -sb ${dir} | cut -f1; cat ${dir + '/xtrabackup_binlog_info'} 2>/dev/null | cut -f3`,
  );
}

export const doStartCreateNewBackup: Step = {
  name: 'do_start_create_new_backup',
  role: 'slave',
  timeoutSec: 900,
  effect: 'remote',
  plan: (n) => [`${backupScript(n)}  # stdin: option file with the ${SUPERUSER} password (masked here)`],
  async probe(c, [n], s) {
    return (await namedSetStatus(c.db, c.custins.id, FIRST_BACKUP_SET)) === 'success' && c.test(n!, sh`[ -f ${`${n!.layout.backupDir}/${FIRST_BACKUP_SET}/xtrabackup_checkpoints`} ]`, s);
  },
  async run(c, [n], s) {
    if (!(await c.tx((tx) => namedSetRunning(tx, c.custins.id, FIRST_BACKUP_SET)))) throw new RemoteError(`no ${FIRST_BACKUP_SET} row in baklist for ${c.custins.ins_name}: run do_insert_baklist first`);
    const pw = await secretOf(c.db, c.custins.id, SUPERUSER);
    const options = `!include ${n!.layout.mycnf}\n[client]\nuser=${SUPERUSER}\npassword=${pw}\n`;
    let out: string;
    try {
      out = await c.remote(n!, backupScript(n!), s, { stdin: options, timeoutSec: 900 });
    } catch (e) {
      const msg = e instanceof Error ? e.message.slice(0, 2000) : String(e);
      await c.tx((tx) => namedSetFailed(tx, c.custins.id, FIRST_BACKUP_SET, msg)).catch(() => undefined);
      throw e;
    }
    const [size, gtid] = out.trim().split('\n');
    await c.tx((tx) => namedSetDone(tx, c.custins.id, FIRST_BACKUP_SET, { sizeBytes: Number(size) || null, gtid: gtid || null }));
    return `${n!.host}: ${FIRST_BACKUP_SET} ${Math.round((Number(size) || 0) / 1048576)} MB, gtid ${gtid || '-'}`;
  },
};
