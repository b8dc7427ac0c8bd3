import type { Db } from '../remote/mysql.js';
import type { InstanceSession } from '../remote/mysql-instance.js';
import { BINLOG_EXPIRE_SECONDS } from '../rds/mycnf.js';

// Semi-synchronous replication, MariaDB's built-in implementation, lossless: with the AFTER_SYNC
// wait point the master acknowledges a commit to its client only after the standby has the
// transaction in its relay log, so every acknowledged write survives the master. The slave side
// is on for both servers (either may be the standby after a switchover); the master side only on
// the master, in my.cnf (mycnfForRole) and live (applySemisync): a standby's applier writes its
// own binlog, and with the master side on it would wait for ACKs no server can send.
// When the standby does not answer within the class's timeout the master falls back to
// asynchronous replication (Rpl_semi_sync_master_status OFF); the failover flow then refuses to
// promote automatically. Binlogs expire after 7 days (BINLOG_EXPIRE_SECONDS, also in every
// my.cnf from the install on).

export { BINLOG_EXPIRE_SECONDS };
export const DEFAULT_SEMISYNC_TIMEOUT_MS = 10000;

export function haParams(timeoutMs: number): Array<[string, string]> {
  return [
    ['binlog_expire_logs_seconds', String(BINLOG_EXPIRE_SECONDS)],
    ['rpl_semi_sync_master_enabled', 'ON'],
    ['rpl_semi_sync_master_timeout', String(timeoutMs)],
    ['rpl_semi_sync_master_wait_no_slave', 'ON'],
    ['rpl_semi_sync_master_wait_point', 'AFTER_SYNC'],
    ['rpl_semi_sync_slave_enabled', 'ON'],
  ];
}

export async function semisyncTimeoutMs(db: Db, classCode: string): Promise<number> {
  const r = await db.query<{ semisync_timeout_ms: number }>('SELECT semisync_timeout_ms FROM instance_class WHERE class_code = ?', [classCode]);
  const v = Number(r[0]?.semisync_timeout_ms);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_SEMISYNC_TIMEOUT_MS;
}

/** The HA parameters into mycnf_custinstance (source 'ha'), so my.cnf keeps them across restarts. */
export async function persistHaParams(tx: Db, custinsId: number, timeoutMs: number): Promise<void> {
  await tx.execute("INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES ? ON DUPLICATE KEY UPDATE value = VALUES(value), source = 'ha'", [haParams(timeoutMs).map(([n, v]) => [custinsId, n, v, 'ha'])]);
  await tx.execute('UPDATE aurora_ha SET semisync = 1 WHERE custins_id = ?', [custinsId]);
}

/**
 * The custins's parameters as one server's my.cnf takes them: mycnf_custinstance holds the
 * master's value of rpl_semi_sync_master_enabled; a standby's file has it OFF (see above), so a
 * restarted standby does not stall its applier. Switchover and failover re-render both files
 * with the new roles.
 */
export function mycnfForRole<P extends { name: string; value: string }>(params: P[], role: 'master' | 'slave'): P[] {
  if (role === 'master') return params;
  return params.map((p) => (p.name.replace(/-/g, '_') === 'rpl_semi_sync_master_enabled' ? { ...p, value: 'OFF' } : p));
}

/** Turn it on in a running server, role-correct; a replicating IO thread reconnects so the slave side takes effect. */
export async function applySemisync(su: InstanceSession, timeoutMs: number, role: 'master' | 'slave'): Promise<void> {
  await su.query('SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC');
  await su.query('SET GLOBAL rpl_semi_sync_master_timeout = ?', [timeoutMs]);
  await su.query('SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON');
  await su.query('SET GLOBAL binlog_expire_logs_seconds = ?', [BINLOG_EXPIRE_SECONDS]);
  await su.query(role === 'master' ? 'SET GLOBAL rpl_semi_sync_master_enabled = ON' : 'SET GLOBAL rpl_semi_sync_master_enabled = OFF');
  const wasOn = (await su.query<{ v: number }>('SELECT @@GLOBAL.rpl_semi_sync_slave_enabled AS v'))[0]?.v;
  await su.query('SET GLOBAL rpl_semi_sync_slave_enabled = ON');
  const st = (await su.query<{ Slave_IO_Running?: string }>('SHOW SLAVE STATUS'))[0];
  if (st && String(wasOn) !== '1' && st.Slave_IO_Running === 'Yes') {
    await su.query('STOP SLAVE IO_THREAD');
    await su.query('START SLAVE IO_THREAD');
  }
}

export interface SemisyncState {
  masterEnabled: boolean;
  slaveEnabled: boolean;
  waitPoint: string;
  timeoutMs: number;
  /** Rpl_semi_sync_master_status: ON while the master waits for ACKs (not fallen back to async). */
  masterActive: boolean;
  /** Rpl_semi_sync_master_clients: semi-sync slaves connected. */
  clients: number;
  /** Rpl_semi_sync_slave_status: this server's IO thread replicates semi-synchronously. */
  slaveActive: boolean;
  /** Rpl_semi_sync_master_no_tx: commits acknowledged without a standby ACK, since start. */
  noTx: number;
}

export async function semisyncState(su: InstanceSession): Promise<SemisyncState> {
  const vars = await su.query<{ me: number; se: number; wp: string; t: number }>(
    'SELECT @@GLOBAL.rpl_semi_sync_master_enabled AS me, @@GLOBAL.rpl_semi_sync_slave_enabled AS se, @@GLOBAL.rpl_semi_sync_master_wait_point AS wp, @@GLOBAL.rpl_semi_sync_master_timeout AS t',
  );
  const status = new Map((await su.query<{ Variable_name: string; Value: string }>("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'")).map((r) => [r.Variable_name.toLowerCase(), r.Value]));
  const v = vars[0]!;
  return {
    masterEnabled: String(v.me) === '1',
    slaveEnabled: String(v.se) === '1',
    waitPoint: String(v.wp),
    timeoutMs: Number(v.t),
    masterActive: status.get('rpl_semi_sync_master_status') === 'ON',
    clients: Number(status.get('rpl_semi_sync_master_clients') ?? 0),
    slaveActive: status.get('rpl_semi_sync_slave_status') === 'ON',
    noTx: Number(status.get('rpl_semi_sync_master_no_tx') ?? 0),
  };
}

/** Configured as haParams says for the server's role (whether or not a standby is connected right now). */
export function semisyncConfigured(s: SemisyncState, timeoutMs: number, role: 'master' | 'slave'): boolean {
  return s.masterEnabled === (role === 'master') && s.slaveEnabled && s.waitPoint === 'AFTER_SYNC' && s.timeoutMs === timeoutMs;
}
