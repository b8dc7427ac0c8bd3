import { RemoteError } from '../../core/errors.js';
import { REPLICATOR, SUPERUSER, secretOf } from '../../rds/accounts.js';
import { socketSqlCommand } from '../../rds/host-ops.js';
import type { SqlRow } from '../../rds/instance-sql.js';
import type { Node } from '../../rds/layout.js';
import { sqlString } from '../../rds/sql-text.js';
import type { StepDef, StepScope } from '../types.js';
import { peerOf, pollUntil, withSu, type InstallCtx } from './context.js';
import { writeMyCnf } from './host-setup.js';
import { NO_BINLOG, createSystemUsers, systemUsersExist } from './accounts.js';
import { DEFAULT_SEMISYNC_TIMEOUT_MS, applySemisync, haParams, persistHaParams, semisyncConfigured, semisyncState, semisyncTimeoutMs } from '../../ha/semisync.js';
import { replicationTls, replicationTlsOptions } from '../../rds/instance-tls.js';

// Dual-master replication between the two NCs, GTID based (MASTER_USE_GTID=slave_pos), the
// standby read-only through its my.cnf. Order matters for speed, not only correctness: the
// standby's replicator exists (created unlogged on each host) but has no REPLICATION SLAVE grant
// until the standby has applied the master's binlog, where the GRANTs are, so the master's
// own replication is configured first but started only by do_check_slave_master, after the
// standby has caught up (MASTER_GTID_WAIT) — starting it earlier only fails and waits for the
// reconnect timer.

type Step = StepDef<InstallCtx, Node>;

/**
 * Root over the socket on the standby until it has replicated the maintenance users; the
 * superuser over TCP everywhere else (no SSH round trip).
 */
type Via = 'socket' | 'su';

async function slaveStatus(c: InstallCtx, n: Node, s: StepScope, via: Via): Promise<SqlRow | null> {
  return (via === 'su' ? await c.suSql(n, ['SHOW SLAVE STATUS']) : await c.sql(n, 'SHOW SLAVE STATUS;', s))[0] ?? null;
}

function pointsAt(st: SqlRow | null, peer: Node): boolean {
  return st !== null && st.Master_Host === peer.ip && st.Master_Port === String(peer.port) && st.Using_Gtid === 'Slave_Pos';
}

async function changeMasterSql(c: InstallCtx, replica: Node, peer: Node): Promise<string[]> {
  const pw = await secretOf(c.db, c.custins.id, REPLICATOR);
  return [
    'STOP SLAVE',
    `CHANGE MASTER TO MASTER_HOST=${sqlString(peer.ip)}, MASTER_PORT=${peer.port}, MASTER_USER=${sqlString(REPLICATOR)}, ` +
      `MASTER_PASSWORD=${sqlString(pw)}, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1, ${await replicationTls(c.db, c.custins.id, replica.layout)}`,
  ];
}

export const doInstallDuallmasterMaster: Step = {
  name: 'do_install_duallmaster_master',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  group: 'duallmaster',
  plan: (n, v) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: STOP SLAVE; CHANGE MASTER TO MASTER_HOST=${sqlString(v.peer.ip)}, MASTER_PORT=${v.peer.port}, MASTER_USER=${sqlString(REPLICATOR)}, MASTER_PASSWORD=<masked>, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1, ${replicationTlsOptions(n.layout)} (MASTER_SSL=0 for an instance without certificates)`],
  probe: async (c, [n], s) => pointsAt(await slaveStatus(c, n!, s, 'su'), c.slave),
  async run(c, [n]) {
    await c.suSql(n!, await changeMasterSql(c, n!, c.slave));
    return `${n!.host} replicates from ${c.slave.ip}:${c.slave.port} (started by do_check_slave_master)`;
  },
};

export const doInstallDuallmasterSlave: Step = {
  name: 'do_install_duallmaster_slave',
  role: 'slave',
  timeoutSec: 60,
  effect: 'remote',
  group: 'duallmaster',
  plan: (n, v) => [
    `${socketSqlCommand(n.layout)}  # stdin: ${NO_BINLOG}; CREATE USER IF NOT EXISTS / ALTER USER … IDENTIFIED BY <masked> for the maintenance users and the replicator in custins_account`,
    `${socketSqlCommand(n.layout)}  # stdin: STOP SLAVE; CHANGE MASTER TO MASTER_HOST=${sqlString(v.peer.ip)}, MASTER_PORT=${v.peer.port}, MASTER_USER=${sqlString(REPLICATOR)}, MASTER_PASSWORD=<masked>, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1, ${replicationTlsOptions(n.layout)}; START SLAVE`,
  ],
  async probe(c, [n], s) {
    const st = await slaveStatus(c, n!, s, 'socket');
    return pointsAt(st, c.master) && st!.Slave_SQL_Running === 'Yes' && (await systemUsersExist(c, n!, s));
  },
  async run(c, [n], s) {
    // The users first, unlogged as on the master (no password in any binlog): the GRANTs this
    // standby is about to replicate from the master need them.
    await createSystemUsers(c, n!, s);
    await c.sql(n!, [...(await changeMasterSql(c, n!, c.master)), 'START SLAVE'].map((x) => x + ';\n').join(''), s);
    return `${n!.host} replicates from ${c.master.ip}:${c.master.port}`;
  },
};

/** Both threads running, polled every 50 ms; an SQL-thread error fails at once, with the server's message. */
export async function waitReplicating(c: InstallCtx, n: Node, s: StepScope, withinMs: number): Promise<SqlRow> {
  const deadline = c.base.now().getTime() + withinMs;
  let last: SqlRow | null = null;
  return pollUntil(c, s, 50, async () => {
    last = await slaveStatus(c, n, s, 'su');
    if (!last) throw new RemoteError(`${n.host}: replication is not configured (SHOW SLAVE STATUS is empty)`, { host: n.host });
    if (last.Slave_IO_Running === 'Yes' && last.Slave_SQL_Running === 'Yes') return last;
    if (last.Slave_SQL_Running === 'No' && last.Last_SQL_Errno && last.Last_SQL_Errno !== '0') {
      throw new RemoteError(`${n.host}: replication SQL thread stopped: ${last.Last_SQL_Errno} ${last.Last_SQL_Error ?? ''}`, { host: n.host });
    }
    if (c.base.now().getTime() > deadline) {
      throw new RemoteError(`${n.host}: replication from ${last.Master_Host}:${last.Master_Port} not running: IO ${last.Slave_IO_Running}, SQL ${last.Slave_SQL_Running}; ${last.Last_IO_Error || last.Last_SQL_Error || 'no error reported'}`, { host: n.host });
    }
    return undefined;
  });
}

function running(st: SqlRow | null): boolean {
  return st !== null && st.Slave_IO_Running === 'Yes' && st.Slave_SQL_Running === 'Yes';
}

function describeRunning(n: Node, st: SqlRow): string {
  return `${n.host}: IO Yes, SQL Yes from ${st.Master_Host}:${st.Master_Port}, gtid ${st.Gtid_IO_Pos || '-'}`;
}

/**
 * Lossless semi-synchronous replication on both servers (src/ha/semisync.ts): in mycnf_custinstance
 * and both my.cnf files for restarts, and live. Turned on only once both replicate, so the
 * install's own writes never wait on a standby that is not there yet.
 */
async function enableSemisync(c: InstallCtx, s: StepScope): Promise<number> {
  const ms = await semisyncTimeoutMs(c.db, c.custins.class_code);
  await c.tx((tx) => persistHaParams(tx, c.custins.id, ms));
  await Promise.all([c.master, c.slave].map((n) => writeMyCnf(c, n, s)));
  await Promise.all([c.master, c.slave].map((n) => withSu(c, n, (su) => applySemisync(su, ms, n.role))));
  return ms;
}

async function semisyncOnBoth(c: InstallCtx): Promise<boolean> {
  const ms = await semisyncTimeoutMs(c.db, c.custins.class_code);
  const st = await Promise.all([c.master, c.slave].map(async (n) => semisyncConfigured(await withSu(c, n, (su) => semisyncState(su)), ms, n.role)));
  return st.every(Boolean);
}

export const doCheckSlaveMaster: Step = {
  name: 'do_check_slave_master',
  role: 'master',
  timeoutSec: 120,
  effect: 'remote',
  plan: (n, v) => [
    `SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: SELECT @@GLOBAL.gtid_binlog_pos`,
    `on ${v.peer.host}: ${socketSqlCommand(v.peer.layout)}  # stdin: SELECT MASTER_GTID_WAIT(<that position>, 60)`,
    `SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: START SLAVE, then SHOW SLAVE STATUS every 50 ms until IO and SQL run`,
    `metadb: mycnf_custinstance += ${haParams(DEFAULT_SEMISYNC_TIMEOUT_MS).map(([k, x]) => `${k}=${x}`).join(', ')} (timeout from instance_class.semisync_timeout_ms); my.cnf rewritten on ${n.host} and ${v.peer.host}`,
    `SQL over TCP to ${n.ip}:${n.port} and ${v.peer.ip}:${v.peer.port} as ${SUPERUSER}: SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC, rpl_semi_sync_master_timeout, binlog_expire_logs_seconds, rpl_semi_sync_master_enabled = ON on the master, OFF on the standby, rpl_semi_sync_slave_enabled = ON; STOP/START SLAVE IO_THREAD`,
  ],
  probe: async (c, [n], s) => running(await slaveStatus(c, n!, s, 'su')) && (await semisyncOnBoth(c)),
  async run(c, [n], s) {
    const peer = peerOf(c, n!);
    const pos = (await c.suSql(n!, ['SELECT @@GLOBAL.gtid_binlog_pos AS pos']))[0]?.pos ?? '';
    if (pos) {
      const waited = (await c.sql(peer, `SELECT MASTER_GTID_WAIT(${sqlString(pos)}, 60) AS r;`, s, { timeoutSec: 90 }))[0]?.r;
      if (waited !== '0') throw new RemoteError(`${peer.host} did not apply the master's binlog up to ${pos} within 60s`, { host: peer.host });
    }
    await c.suSql(n!, ['START SLAVE']);
    const st = await waitReplicating(c, n!, s, 100_000);
    const ms = await enableSemisync(c, s);
    return `${describeRunning(n!, st)}; semi-sync AFTER_SYNC on both (timeout ${ms} ms)`;
  },
};

export const doCheckSlaveSlave: Step = {
  name: 'do_check_slave_slave',
  role: 'slave',
  timeoutSec: 120,
  effect: 'check',
  async run(c, [n], s) {
    return describeRunning(n!, await waitReplicating(c, n!, s, 100_000));
  },
};
