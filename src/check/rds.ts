import type { Db } from '../remote/mysql.js';
import { openInstance, type InstanceSession } from '../remote/mysql-instance.js';
import { HA_USER, secretOf } from '../rds/accounts.js';
import { mapLimit } from '../core/concurrency.js';
import type { Check, CheckOutcome } from './types.js';
import { haView } from '../ha/view.js';
import { instanceTrust } from '../rds/instance-tls.js';
import type { TlsSettings } from '../core/config.js';

// rds: every running custins replicates. For each one, log in to the master (it must answer)
// and to the standby, where SHOW SLAVE STATUS must show Slave_IO_Running and Slave_SQL_Running
// both "Yes". The login is the instance's HA maintenance account (do_calculate_maintain_user_list:
// the one with REPLICA MONITOR), its password read from dbaas.custins_secret like every other
// control-plane login, never put on a command line.

/** A standby further behind than this is a warning, not yet a failure. */
export const LAG_WARN_SEC = 300;
const CONCURRENCY = 8;

/** The maintenance user whose grants cover SHOW SLAVE STATUS. */
export function haUser(): string {
  return HA_USER;
}

// Last_SQL_Error quotes the failed statement, and a replicated CREATE USER or CHANGE MASTER
// carries a password in it: the check's output and the JUnit report must not.
const SECRET_LITERALS = [
  /(IDENTIFIED\s+(?:BY|WITH\s+\w+\s+(?:BY|AS)|VIA\s+\w+\s+(?:USING|AS))\s+(?:PASSWORD\s*\(\s*)?)'(?:[^'\\]|\\.|'')*'/gi,
  /(PASSWORD\s*\(\s*)'(?:[^'\\]|\\.|'')*'/gi,
  /((?:MASTER_PASSWORD|PASSWORD)\s*=\s*)'(?:[^'\\]|\\.|'')*'/gi,
];

export function redactSecrets(text: string): string {
  return SECRET_LITERALS.reduce((t, re) => t.replace(re, "$1'***'"), text);
}

interface InstanceRow {
  custins_id: number;
  ins_name: string;
  role: 'master' | 'slave';
  host_name: string;
  ip: string;
  port: number;
}

export interface ReplicationState {
  ins_name: string;
  master: string | null;
  slave: string | null;
  slave_io_running: string | null;
  slave_sql_running: string | null;
  seconds_behind_master: number | null;
  /** HA state (issue 11): semi-sync configured, where the data route leads, last failover, a watcher holding it. */
  ha?: { semisync: boolean; route_target: string | null; last_failover_at: string | null; watcher_alive: boolean; rebuild_instance_id: number | null };
  /** Why this instance fails, or null. */
  problem: string | null;
}

async function withSession<T>(row: InstanceRow, user: string, password: string, tls: TlsSettings | undefined, timeoutMs: number, fn: (s: InstanceSession) => Promise<T>): Promise<T> {
  const s = await openInstance({ name: row.host_name, host: row.ip, port: row.port, user, password, tls, connectTimeoutMs: timeoutMs });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

async function inspect(dbaas: Db, name: string, rows: InstanceRow[], timeoutMs: number): Promise<ReplicationState> {
  const master = rows.find((r) => r.role === 'master');
  const slave = rows.find((r) => r.role === 'slave');
  const st: ReplicationState = {
    ins_name: name,
    master: master ? `${master.ip}:${master.port}` : null,
    slave: slave ? `${slave.ip}:${slave.port}` : null,
    slave_io_running: null,
    slave_sql_running: null,
    seconds_behind_master: null,
    problem: null,
  };
  if (!master || !slave) {
    st.problem = `no ${master ? 'standby' : 'master'} instance in dbaas`;
    return st;
  }
  try {
    const h = await haView(dbaas, master.custins_id);
    st.ha = { semisync: h.semisync, route_target: h.route.target, last_failover_at: h.last_failover_at, watcher_alive: h.watcher !== null, rebuild_instance_id: h.rebuild_instance_id };
    if (h.route.target && h.route.target !== st.master) {
      st.problem = `the data route ${h.route.address} leads to ${h.route.target}, not the master ${st.master}`;
      return st;
    }
    if (h.rebuild_instance_id !== null) {
      st.problem = `failed over at ${h.last_failover_at}: no standby until \`rdsctl instance rebuild-standby ${name}\``;
      return st;
    }
  } catch (e) {
    st.problem = `HA state: ${(e as Error).message}`;
    return st;
  }
  const user = haUser();
  let password: string;
  let tls: TlsSettings | undefined;
  try {
    password = await secretOf(dbaas, master.custins_id, user);
    tls = await instanceTrust(dbaas, master.custins_id, name);
  } catch (e) {
    st.problem = (e as Error).message;
    return st;
  }
  try {
    await withSession(master, user, password, tls, timeoutMs, (s) => s.query('SELECT 1'));
  } catch (e) {
    st.problem = `master: ${(e as Error).message}`;
    return st;
  }
  try {
    const [s] = await withSession(slave, user, password, tls, timeoutMs, (x) => x.query<Record<string, unknown>>('SHOW SLAVE STATUS'));
    if (!s) {
      st.problem = `standby ${st.slave} is not replicating (SHOW SLAVE STATUS is empty)`;
      return st;
    }
    st.slave_io_running = String(s.Slave_IO_Running ?? '');
    st.slave_sql_running = String(s.Slave_SQL_Running ?? '');
    st.seconds_behind_master = s.Seconds_Behind_Master === null || s.Seconds_Behind_Master === undefined ? null : Number(s.Seconds_Behind_Master);
    if (st.slave_io_running !== 'Yes' || st.slave_sql_running !== 'Yes') {
      const err = redactSecrets(String(s.Last_IO_Error || s.Last_SQL_Error || '').split('\n')[0]!);
      st.problem = `standby ${st.slave}: Slave_IO_Running=${st.slave_io_running} Slave_SQL_Running=${st.slave_sql_running}${err ? ` (${err})` : ''}`;
    }
  } catch (e) {
    st.problem = `standby: ${(e as Error).message}`;
  }
  return st;
}

export const rdsCheck: Check = {
  name: 'rds',
  summary: 'every running RDS instance: master answers, standby IO and SQL threads running',
  async run({ ctx, timeoutSec }): Promise<CheckOutcome> {
    const dbaas = ctx.db('dbaas');
    const rows = await dbaas.query<InstanceRow>(
      `SELECT c.id AS custins_id, c.ins_name, i.role, i.host_name, i.ip, i.port
         FROM custins c JOIN instance i ON i.custins_id = c.id
        WHERE c.status = 'running' AND i.status <> 'deleted'
        ORDER BY c.ins_name, i.role`,
    );
    const byName = new Map<string, InstanceRow[]>();
    for (const r of rows) {
      const list = byName.get(r.ins_name);
      if (list) list.push(r);
      else byName.set(r.ins_name, [r]);
    }
    if (byName.size === 0) return { status: 'ok', reason: 'no running instances', details: { running: 0, instances: [] } };
    const timeoutMs = Math.max(1000, Math.min(5000, (timeoutSec * 1000) / 3));
    const states = await mapLimit([...byName], CONCURRENCY, ([name, list]) => inspect(dbaas, name, list, timeoutMs));
    const broken = states.filter((s) => s.problem);
    const lagging = states.filter((s) => !s.problem && (s.seconds_behind_master ?? 0) > LAG_WARN_SEC);
    const details = { running: states.length, instances: states };
    if (broken.length) return { status: 'fail', reason: `${broken.length} of ${states.length} not replicating: ${broken.slice(0, 3).map((s) => `${s.ins_name}: ${s.problem}`).join('; ')}`, details };
    if (lagging.length) return { status: 'warn', reason: `${lagging.length} standby(s) more than ${LAG_WARN_SEC}s behind: ${lagging.map((s) => `${s.ins_name} (${s.seconds_behind_master}s)`).join(', ')}`, details };
    return { status: 'ok', reason: `${states.length} running instances replicating`, details };
  },
};
