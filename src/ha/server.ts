import type { ReplicationTls } from '../rds/instance-tls.js';
import { ConflictError, RemoteError, UnhealthyError } from '../core/errors.js';
import type { InstanceSession } from '../remote/mysql-instance.js';
import type { ExecResult, HostTarget, SshPool } from '../remote/ssh-types.js';
import { semisyncState, type SemisyncState } from './semisync.js';

// What HA needs to know of one server and the primitives it applies to it, each over a
// superuser session (the caller opens and closes it). All are idempotent.

export interface ReplicaStatus {
  masterHost: string;
  masterPort: number;
  ioRunning: string;
  sqlRunning: string;
  secondsBehind: number | null;
  gtidIoPos: string;
  lastError: string;
}

export interface ServerState {
  readOnly: boolean;
  gtidBinlogPos: string;
  gtidCurrentPos: string;
  gtidSlavePos: string;
  replica: ReplicaStatus | null;
  semisync: SemisyncState;
}

export async function serverState(su: InstanceSession): Promise<ServerState> {
  const v = (await su.query<Record<string, unknown>>('SELECT @@GLOBAL.read_only AS ro, @@GLOBAL.gtid_binlog_pos AS b, @@GLOBAL.gtid_current_pos AS c, @@GLOBAL.gtid_slave_pos AS s'))[0]!;
  const st = (await su.query<Record<string, unknown>>('SHOW SLAVE STATUS'))[0];
  const str = (x: unknown): string => (x === null || x === undefined ? '' : String(x));
  return {
    readOnly: str(v.ro) === '1',
    gtidBinlogPos: str(v.b),
    gtidCurrentPos: str(v.c),
    gtidSlavePos: str(v.s),
    replica: st
      ? {
          masterHost: str(st.Master_Host),
          masterPort: Number(st.Master_Port),
          ioRunning: str(st.Slave_IO_Running),
          sqlRunning: str(st.Slave_SQL_Running),
          secondsBehind: st.Seconds_Behind_Master === null || st.Seconds_Behind_Master === undefined ? null : Number(st.Seconds_Behind_Master),
          gtidIoPos: str(st.Gtid_IO_Pos),
          lastError: str(st.Last_SQL_Error) || str(st.Last_IO_Error),
        }
      : null,
    semisync: await semisyncState(su),
  };
}

/** GTID positions as domain -> "server-seq", compared per domain by sequence number. */
export function parseGtids(pos: string): Map<number, { server: number; seq: number }> {
  const m = new Map<number, { server: number; seq: number }>();
  for (const g of pos.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [d, s, n] = g.split('-').map(Number);
    if ([d, s, n].some((x) => x === undefined || !Number.isFinite(x))) continue;
    m.set(d!, { server: s!, seq: n! });
  }
  return m;
}

/** Does position `have` include everything of `want` (every domain at least as far)? */
export function gtidCovers(have: string, want: string): boolean {
  const h = parseGtids(have);
  for (const [d, w] of parseGtids(want)) {
    const x = h.get(d);
    if (!x || x.seq < w.seq) return false;
  }
  return true;
}

/** The standby may take over in a planned switchover: replicating from `master`, caught up or nearly. */
export function switchoverReadiness(standby: ServerState, master: { ip: string; port: number }, maxLagSec: number): string | null {
  const r = standby.replica;
  if (!r) return 'the standby has no replication configured';
  if (r.masterHost !== master.ip || r.masterPort !== master.port) return `the standby replicates from ${r.masterHost}:${r.masterPort}, not the master ${master.ip}:${master.port}`;
  if (r.ioRunning !== 'Yes' || r.sqlRunning !== 'Yes') return `the standby's replication is broken: IO ${r.ioRunning}, SQL ${r.sqlRunning}${r.lastError ? `: ${r.lastError}` : ''}`;
  // Seconds_Behind_Master is only a hint (it jumps after idle periods); the lag that counts is
  // measured by GTID: see catchUpWithin.
  if (r.secondsBehind !== null && r.secondsBehind > 300) return `the standby lags ${r.secondsBehind} s behind the master`;
  void maxLagSec;
  return null;
}

/**
 * What a standby has received so far: heartbeats and the master's binlog position read. Two marks
 * that differ show the IO thread receives; an IO thread that says Yes can be waiting on a master
 * that stopped answering (frozen, cut off) until slave_net_timeout. Replication runs with
 * MASTER_HEARTBEAT_PERIOD = 1, so a live master changes the mark every second even when idle.
 */
export async function receiveMark(su: InstanceSession): Promise<{ io: string; masterHost: string; mark: string }> {
  const st = (await su.query<Record<string, unknown>>('SHOW SLAVE STATUS'))[0];
  const hb = (await su.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Slave_received_heartbeats'"))[0]?.Value ?? '';
  if (!st) return { io: 'none', masterHost: '', mark: '' };
  return { io: String(st.Slave_IO_Running ?? ''), masterHost: String(st.Master_Host ?? ''), mark: `${hb}|${String(st.Master_Log_File ?? '')}:${String(st.Read_Master_Log_Pos ?? '')}` };
}

export async function setReadOnly(su: InstanceSession, on: boolean): Promise<void> {
  await su.query(on ? 'SET GLOBAL read_only = ON' : 'SET GLOBAL read_only = OFF');
}

/** End every client session but the replication threads and this one: writers reconnect through the route. */
export async function killClientSessions(su: InstanceSession, keepUsers: string[]): Promise<number> {
  const rows = await su.query<{ id: number; user: string; command: string }>('SELECT ID AS id, USER AS user, COMMAND AS command FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()');
  let n = 0;
  for (const r of rows) {
    if (r.command === 'Binlog Dump' || r.command === 'Daemon' || r.user === 'system user' || r.user === 'event_scheduler' || keepUsers.includes(r.user)) continue;
    await su.query('KILL CONNECTION ?', [Number(r.id)]).catch(() => undefined);
    n++;
  }
  return n;
}

/** Can the standby apply the master's current position within `sec`? null when it did, else why not. */
export async function catchUpWithin(su: InstanceSession, pos: string, sec: number): Promise<string | null> {
  if (!pos) return null;
  const r = (await su.query<{ r: number | null }>('SELECT MASTER_GTID_WAIT(?, ?) AS r', [pos, sec]))[0]?.r;
  return String(r) === '0' ? null : `the standby lags: it did not apply the master's position ${pos} within ${sec} s`;
}

/** Wait until the server has applied everything up to `pos`; throws after `sec`. */
export async function waitApplied(su: InstanceSession, host: string, pos: string, sec: number): Promise<void> {
  if (!pos) return;
  const r = (await su.query<{ r: number | null }>('SELECT MASTER_GTID_WAIT(?, ?) AS r', [pos, sec]))[0]?.r;
  if (String(r) !== '0') throw new UnhealthyError(`${host} did not apply up to GTID ${pos} within ${sec} s`);
}

/**
 * Point this server's replication channel at `master` (CHANGE MASTER only; the caller starts it or
 * leaves it stopped). `tls`: rds/instance-tls.ts replicationTlsParams (verified TLS for an instance
 * with certificates, MASTER_SSL=0 otherwise).
 */
export async function pointReplicaAt(su: InstanceSession, master: { ip: string; port: number }, user: string, password: string, usePos: 'current_pos' | 'slave_pos', tls: ReplicationTls): Promise<void> {
  // MASTER_USE_GTID takes a keyword, not a value: one fixed statement per choice.
  const changeMaster = usePos === 'current_pos'
    ? 'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = current_pos, MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 1'
    : 'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 1';
  await su.query(`${changeMaster}, ${tls.sql}`, [master.ip, master.port, user, password, ...tls.params]);
}

/** Replicate from `master` (an old master becoming a standby, a rebuilt standby). */
export async function replicateFrom(su: InstanceSession, master: { ip: string; port: number }, user: string, password: string, usePos: 'current_pos' | 'slave_pos', tls: ReplicationTls): Promise<void> {
  await su.query('STOP SLAVE');
  await pointReplicaAt(su, master, user, password, usePos, tls);
  await su.query('START SLAVE');
}

export async function stopReplication(su: InstanceSession): Promise<void> {
  await su.query('STOP SLAVE');
}

export function pointsAt(st: ServerState, master: { ip: string; port: number }): boolean {
  return st.replica !== null && st.replica.masterHost === master.ip && st.replica.masterPort === master.port;
}

export function replicating(st: ServerState, master: { ip: string; port: number }): boolean {
  return pointsAt(st, master) && st.replica!.ioRunning === 'Yes' && st.replica!.sqlRunning === 'Yes';
}

export function requireWritable(st: ServerState, host: string): void {
  if (st.readOnly) throw new ConflictError(`${host} is read-only`);
}

export function remoteDown(host: string, e: unknown): RemoteError {
  return new RemoteError(`${host}: ${(e as Error).message}`, { host, cause: e });
}

/**
 * A command on a host that may be lost, answered within `ms` or not at all: a fresh SSH session
 * (a cached one to a host that froze waits on its channel until keepalives give up: minutes), and
 * the answer raced against a timer, after which the session is dropped. null: no answer in time.
 */
export async function execWithin(ssh: SshPool, target: HostTarget, command: string, ms: number, signal?: AbortSignal): Promise<ExecResult | null> {
  ssh.forget(target);
  const limit = AbortSignal.timeout(ms);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms + 250)));
  const r = await Promise.race([ssh.exec(target, command, { timeoutSec: Math.max(1, Math.ceil(ms / 1000)), signal: signal ? AbortSignal.any([signal, limit]) : limit }), late]);
  clearTimeout(timer);
  if (r === null || (r.category !== null && r.category !== 'exit')) {
    ssh.forget(target);
    return null;
  }
  return r;
}
