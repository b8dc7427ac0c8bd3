import { haView, type HaView } from '../ha/view.js';
import type { Context } from '../core/context.js';
import { describeError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import { readGreeting } from '../remote/mysql-instance.js';
import { sqlStore } from '../flow/store-sql.js';
import { accountsOf } from './accounts.js';
import { findCustins, instanceRows } from './custins.js';
import { superuserSession } from './instance-sql.js';
import { toNode, type Node } from './layout.js';
import { instanceRecord, type InstanceRecord } from './record.js';
import { instanceTlsRecord } from './instance-tls.js';

// The Dukang view of one instance: metadb rows from several tables and, with --live, what the
// two servers say about themselves (read over TCP as the control plane's superuser).

export interface HostView {
  role: string;
  instance_id: number;
  host: string;
  ip: string;
  port: number;
  status: string;
  cpu: number;
  mem_mb: number;
  disk_gb: number;
}

export interface LiveView {
  role: string;
  host: string;
  reachable: boolean;
  version: string | null;
  read_only: boolean | null;
  server_id: number | null;
  gtid_current_pos: string | null;
  replicating_from: string | null;
  slave_io_running: string | null;
  slave_sql_running: string | null;
  seconds_behind_master: number | null;
  last_error: string | null;
  error: string | null;
  /** The verdict on this server: 'fail' makes `show --live` exit 4; 'info' is worth knowing, not a failure. */
  check: LiveCheck;
  /** Why the verdict is not plain 'ok' (null when it is). */
  note: string | null;
}

export type LiveCheck = 'ok' | 'info' | 'fail';

export interface InstanceView {
  instance: InstanceRecord;
  hosts: HostView[];
  parameters: Record<string, string>;
  accounts: Array<{ name: string; type: string; privilege: string; dbs: string[]; status: string }>;
  databases: Array<{ name: string; charset: string; status: string }>;
  network: { conn_string: string | null; data_route_status: string | null; whitelist: Array<{ group: string; type: string; ips: string[] }> };
  /** #16: verified TLS (its nodes have certificates from the CA with this SHA-256), or null: plain, installed before certificates. */
  tls: { ca_sha256: string } | null;
  backups: Array<{ backup_set: string; host: string; status: string; size_bytes: number | null; finished: Date | null }>;
  tasks: Array<{ task_id: number; flow: string; status: string; current_step: string | null; failed_step: string | null; steps: string; created: Date; finished: Date | null }>;
  /** High availability (issue 11): semi-sync, the data route's target, last failover, watcher. */
  ha: HaView;
  live?: LiveView[];
}

export async function showInstance(ctx: Context, ref: string, o: { live: boolean }): Promise<InstanceView> {
  const db = ctx.db('dbaas');
  const c = await findCustins(db, ref, { includeDeleted: true });
  const [record, rows, params, accounts, dbs, route, wl, backups, tasks, tls] = await Promise.all([
    instanceRecord(db, c),
    instanceRows(db, c.id, { includeDeleted: c.status === 'deleted' }),
    db.query<{ name: string; value: string }>('SELECT name, value FROM mycnf_custinstance WHERE custins_id = ? ORDER BY name', [c.id]),
    accountsOf(db, c.id),
    db.query<{ db_name: string; charset: string; status: string }>('SELECT db_name, charset, status FROM custins_db WHERE custins_id = ? ORDER BY db_name', [c.id]),
    db.query<{ conn_string: string; status: string }>('SELECT conn_string, status FROM rds_data_route WHERE custins_id = ?', [c.id]),
    db.query<{ group_name: string; group_type: string; ips: string }>('SELECT group_name, group_type, ips FROM custins_whitelist WHERE custins_id = ? ORDER BY group_type, group_name', [c.id]),
    db.query<{ backup_set: string; host_name: string; status: string; size_bytes: number | null; gmt_finished: Date | null }>('SELECT backup_set, host_name, status, size_bytes, gmt_finished FROM baklist WHERE custins_id = ? ORDER BY id', [c.id]),
    sqlStore(db).listTasks({ custinsId: c.id, limit: 20 }),
    instanceTlsRecord(db, c.id),
  ]);
  const ha = await haView(db, c.id);
  const view: InstanceView = {
    instance: record,
    hosts: rows.map((r) => ({ role: r.role, instance_id: r.id, host: r.host_name, ip: r.ip, port: r.port, status: r.status, cpu: r.cpu, mem_mb: r.mem_mb, disk_gb: r.disk_gb })),
    parameters: Object.fromEntries(params.map((p) => [p.name, p.value])),
    accounts: accounts.map((a) => ({ name: a.account_name, type: a.account_type, privilege: a.privilege, dbs: a.dbs ? a.dbs.split(',') : [], status: a.status })),
    databases: dbs.map((d) => ({ name: d.db_name, charset: d.charset, status: d.status })),
    network: { conn_string: route[0]?.conn_string ?? null, data_route_status: route[0]?.status ?? null, whitelist: wl.map((w) => ({ group: w.group_name, type: w.group_type, ips: w.ips.split(',').filter(Boolean) })) },
    backups: backups.map((b) => ({ backup_set: b.backup_set, host: b.host_name, status: b.status, size_bytes: b.size_bytes, finished: b.gmt_finished })),
    tasks: tasks.map((t) => ({ task_id: t.id, flow: t.flow, status: t.status, current_step: t.current_step, failed_step: t.failed_step, steps: `${t.steps_finished}/${t.steps_total}`, created: t.gmt_created, finished: t.gmt_finished })),
    tls,
    ha,
  };
  if (o.live && c.status !== 'deleted') {
    view.live = (await Promise.all(rows.map((r) => liveOf(db, c.id, toNode(r))))).map((l) => ({ ...l, ...judgeLive(l) }));
  }
  return view;
}

/**
 * What one server's live facts mean. A server that does not answer is a failure, and so is a
 * standby whose IO or SQL thread is not running. A master's own channel (the install's
 * dual-master shape) is a different matter: after a switchover, a failover or a migrate the HA
 * repointing leaves the new master's channel toward its standby stopped on purpose (a master does
 * not apply from its standby), so a stopped master channel is reported as info, not a failure.
 */
export function judgeLive(l: Pick<LiveView, 'role' | 'reachable' | 'error' | 'replicating_from' | 'slave_io_running' | 'slave_sql_running' | 'last_error'>): { check: LiveCheck; note: string | null } {
  if (l.error !== null) return { check: 'fail', note: l.error };
  if (!l.reachable) return { check: 'fail', note: 'does not answer' };
  const threads = `IO ${l.slave_io_running ?? 'none'}, SQL ${l.slave_sql_running ?? 'none'}`;
  const running = l.slave_io_running === 'Yes' && l.slave_sql_running === 'Yes';
  const lastError = l.last_error ? `; last error: ${l.last_error}` : '';
  if (l.role === 'master') {
    if (l.replicating_from === null || running) return { check: 'ok', note: null };
    return { check: 'info', note: `own channel toward ${l.replicating_from} not running (${threads}): expected after a switchover, a master does not apply from its standby${lastError}` };
  }
  if (l.replicating_from === null) return { check: 'fail', note: 'a standby with no replication channel' };
  if (!running) return { check: 'fail', note: `replication from ${l.replicating_from} broken (${threads})${lastError}` };
  return { check: 'ok', note: null };
}

async function liveOf(db: Db, custinsId: number, n: Node): Promise<Omit<LiveView, 'check' | 'note'>> {
  const v: Omit<LiveView, 'check' | 'note'> = { role: n.role, host: n.host, reachable: false, version: null, read_only: null, server_id: null, gtid_current_pos: null, replicating_from: null, slave_io_running: null, slave_sql_running: null, seconds_behind_master: null, last_error: null, error: null };
  try {
    v.version = (await readGreeting({ name: n.host, host: n.ip, port: n.port }, 3000)).serverVersion;
    v.reachable = true;
    const su = await superuserSession(db, custinsId, n, 3000);
    try {
      const g = (await su.query<{ ro: number; sid: number; gtid: string }>('SELECT @@GLOBAL.read_only AS ro, @@GLOBAL.server_id AS sid, @@GLOBAL.gtid_current_pos AS gtid'))[0]!;
      v.read_only = Number(g.ro) === 1;
      v.server_id = Number(g.sid);
      v.gtid_current_pos = g.gtid || null;
      const st = (await su.query<Record<string, unknown>>('SHOW SLAVE STATUS'))[0];
      if (st) {
        v.replicating_from = `${String(st.Master_Host)}:${String(st.Master_Port)}`;
        v.slave_io_running = String(st.Slave_IO_Running);
        v.slave_sql_running = String(st.Slave_SQL_Running);
        v.seconds_behind_master = st.Seconds_Behind_Master === null || st.Seconds_Behind_Master === undefined ? null : Number(st.Seconds_Behind_Master);
        v.last_error = String(st.Last_SQL_Error || st.Last_IO_Error || '') || null;
      }
    } finally {
      await su.close();
    }
  } catch (e) {
    v.error = describeError(e).message;
  }
  return v;
}
