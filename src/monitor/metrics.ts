import { UsageError } from '../core/errors.js';

// What one sample of an instance holds and how it is computed from two readings of the server's
// counters. Pure: unit-tested without a server.
//
// Definitions follow the RDS console's (QPS = Questions/s, TPS = (Com_commit + Com_rollback)/s)
// and innotop's: rates are deltas over the time between two readings; gauges are the second
// reading's value. The monitor's own statements are subtracted from Questions, so an idle server
// shows 0 and not the monitor's polling.

/** Status counters read per sample (information_schema.GLOBAL_STATUS, names upper case). */
export const STATUS_VARS = [
  'UPTIME',
  'QUESTIONS',
  'COM_COMMIT',
  'COM_ROLLBACK',
  'THREADS_CONNECTED',
  'THREADS_RUNNING',
  'INNODB_BUFFER_POOL_READ_REQUESTS',
  'INNODB_BUFFER_POOL_READS',
  'INNODB_BUFFER_POOL_PAGES_DIRTY',
  'INNODB_BUFFER_POOL_PAGES_TOTAL',
  'INNODB_ROWS_READ',
  'INNODB_ROWS_INSERTED',
  'INNODB_ROWS_UPDATED',
  'INNODB_ROWS_DELETED',
  'SLOW_QUERIES',
  // MariaDB 10.6+ has no Innodb_rows_*: rows come from the handler counters there.
  'HANDLER_READ_FIRST',
  'HANDLER_READ_KEY',
  'HANDLER_READ_NEXT',
  'HANDLER_READ_PREV',
  'HANDLER_READ_RND',
  'HANDLER_READ_RND_NEXT',
  'HANDLER_WRITE',
  'HANDLER_UPDATE',
  'HANDLER_DELETE',
  'RPL_SEMI_SYNC_MASTER_STATUS',
  'RPL_SEMI_SYNC_SLAVE_STATUS',
] as const;

export type StatusVar = (typeof STATUS_VARS)[number];

/** What the server said at one moment. */
export interface Reading {
  /** Clock time of the reading, ms. */
  at: number;
  status: Partial<Record<StatusVar, string>>;
  /** SHOW SLAVE STATUS, or null when the server replicates from nobody. */
  replica: { io: string; sql: string; lagSec: number | null } | null;
  /** Statements the monitor itself sent on this connection up to and including this reading. */
  ownStatements: number;
  /**
   * Handler reads of the monitor's own status reads so far: MariaDB scans the temporary table
   * behind information_schema.GLOBAL_STATUS (rows + 1 Handler_read_rnd_next per read), which
   * would show as load.
   */
  ownRows?: number;
}

/** From the NC (over SSH): the server process and its files. null fields were not readable. */
export interface HostReading {
  at: number;
  /** utime + stime of mysqld, clock ticks. */
  cpuTicks: number | null;
  clockTicksPerSec: number;
  memBytes: number | null;
  dataBytes: number | null;
  binlogBytes: number | null;
}

export interface Metrics {
  qps: number | null;
  tps: number | null;
  connections: number | null;
  threads_running: number | null;
  repl_lag_sec: number | null;
  repl_io: string | null;
  repl_sql: string | null;
  semisync_master: boolean | null;
  semisync_slave: boolean | null;
  bp_hit_pct: number | null;
  bp_dirty_pct: number | null;
  rows_read_ps: number | null;
  rows_written_ps: number | null;
  slow_queries: number | null;
  cpu_pct: number | null;
  mem_bytes: number | null;
  data_bytes: number | null;
  binlog_bytes: number | null;
}

export type MetricName = keyof Metrics;

export interface MetricDef {
  name: MetricName;
  unit: string;
  summary: string;
  /** Numeric metrics can be charted; repl_io / repl_sql are states. */
  numeric: boolean;
}

export const METRICS: MetricDef[] = [
  { name: 'qps', unit: '/s', summary: 'statements per second (Questions, the monitor\'s own excluded)', numeric: true },
  { name: 'tps', unit: '/s', summary: 'transactions per second (Com_commit + Com_rollback)', numeric: true },
  { name: 'connections', unit: '', summary: 'client connections (Threads_connected)', numeric: true },
  { name: 'threads_running', unit: '', summary: 'threads running a statement (Threads_running)', numeric: true },
  { name: 'repl_lag_sec', unit: 's', summary: 'replication lag (Seconds_Behind_Master); none when not replicating', numeric: true },
  { name: 'repl_io', unit: '', summary: 'Slave_IO_Running (Yes, No, Connecting)', numeric: false },
  { name: 'repl_sql', unit: '', summary: 'Slave_SQL_Running (Yes, No)', numeric: false },
  { name: 'semisync_master', unit: '', summary: 'semi-sync master on (1) or off (0); none when the server has no semi-sync', numeric: true },
  { name: 'semisync_slave', unit: '', summary: 'semi-sync slave on (1) or off (0)', numeric: true },
  { name: 'bp_hit_pct', unit: '%', summary: 'InnoDB buffer pool hit rate over the interval; none when nothing was read', numeric: true },
  { name: 'bp_dirty_pct', unit: '%', summary: 'InnoDB buffer pool pages dirty', numeric: true },
  { name: 'rows_read_ps', unit: '/s', summary: 'rows read per second (Innodb_rows_read; on MariaDB the Handler_read_* counters)', numeric: true },
  { name: 'rows_written_ps', unit: '/s', summary: 'rows inserted + updated + deleted per second (Innodb_rows_*; on MariaDB Handler_write/update/delete)', numeric: true },
  { name: 'slow_queries', unit: '', summary: 'slow queries during the interval (Slow_queries)', numeric: true },
  { name: 'cpu_pct', unit: '%', summary: 'CPU of the mysqld process (100 = one core), from /proc on the NC', numeric: true },
  { name: 'mem_bytes', unit: 'B', summary: 'resident memory of the mysqld process', numeric: true },
  { name: 'data_bytes', unit: 'B', summary: 'disk used by the datadir (du)', numeric: true },
  { name: 'binlog_bytes', unit: 'B', summary: 'disk used by the binlogs', numeric: true },
];

export const METRIC_NAMES: MetricName[] = METRICS.map((m) => m.name);

export function emptyMetrics(): Metrics {
  return Object.fromEntries(METRIC_NAMES.map((n) => [n, null])) as unknown as Metrics;
}

function num(r: Reading, v: StatusVar): number | null {
  const s = r.status[v];
  if (s === undefined || s === null || s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function onOff(r: Reading, v: StatusVar): boolean | null {
  const s = r.status[v];
  if (s === undefined || s === null) return null;
  return s.toUpperCase() === 'ON';
}

/** Per-second rate of a counter; null without a previous reading, after a restart, or a counter that went back. */
function rate(cur: Reading, prev: Reading | null, sum: (r: Reading) => number | null, seconds: number): number | null {
  if (!prev || seconds <= 0) return null;
  const a = sum(prev);
  const b = sum(cur);
  if (a === null || b === null || b < a) return null;
  return round2((b - a) / seconds);
}

function total(r: Reading, vars: StatusVar[]): number | null {
  let t = 0;
  for (const v of vars) {
    const n = num(r, v);
    if (n === null) return null;
    t += n;
  }
  return t;
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** A restart between the readings resets every counter: Uptime tells. */
export function restartedBetween(cur: Reading, prev: Reading): boolean {
  const u0 = num(prev, 'UPTIME');
  const u1 = num(cur, 'UPTIME');
  return u0 !== null && u1 !== null && u1 < u0;
}

/** The metrics of a sample: gauges from `cur`, rates from `prev` → `cur` (null rates when prev is null). */
export function computeMetrics(cur: Reading, prevIn: Reading | null, host: HostReading | null, prevHost: HostReading | null): Metrics {
  const prev = prevIn && !restartedBetween(cur, prevIn) ? prevIn : null;
  const seconds = prev ? (cur.at - prev.at) / 1000 : 0;
  const m = emptyMetrics();
  // Questions counts the monitor's own statements too; they are known exactly, so they are taken out.
  m.qps = rate(cur, prev, (r) => {
    const q = num(r, 'QUESTIONS');
    return q === null ? null : q - r.ownStatements;
  }, seconds);
  if (m.qps !== null && m.qps < 0) m.qps = 0;
  m.tps = rate(cur, prev, (r) => total(r, ['COM_COMMIT', 'COM_ROLLBACK']), seconds);
  m.connections = num(cur, 'THREADS_CONNECTED');
  m.threads_running = num(cur, 'THREADS_RUNNING');
  if (cur.replica) {
    m.repl_io = cur.replica.io;
    m.repl_sql = cur.replica.sql;
    m.repl_lag_sec = cur.replica.lagSec;
  }
  m.semisync_master = onOff(cur, 'RPL_SEMI_SYNC_MASTER_STATUS');
  m.semisync_slave = onOff(cur, 'RPL_SEMI_SYNC_SLAVE_STATUS');
  if (prev) {
    const req0 = num(prev, 'INNODB_BUFFER_POOL_READ_REQUESTS');
    const req1 = num(cur, 'INNODB_BUFFER_POOL_READ_REQUESTS');
    const dsk0 = num(prev, 'INNODB_BUFFER_POOL_READS');
    const dsk1 = num(cur, 'INNODB_BUFFER_POOL_READS');
    if (req0 !== null && req1 !== null && dsk0 !== null && dsk1 !== null && req1 > req0 && dsk1 >= dsk0) {
      m.bp_hit_pct = round2(Math.max(0, 100 * (1 - (dsk1 - dsk0) / (req1 - req0))));
    }
    const slow0 = num(prev, 'SLOW_QUERIES');
    const slow1 = num(cur, 'SLOW_QUERIES');
    if (slow0 !== null && slow1 !== null && slow1 >= slow0) m.slow_queries = slow1 - slow0;
  }
  const dirty = num(cur, 'INNODB_BUFFER_POOL_PAGES_DIRTY');
  const pages = num(cur, 'INNODB_BUFFER_POOL_PAGES_TOTAL');
  if (dirty !== null && pages) m.bp_dirty_pct = round2((100 * dirty) / pages);
  const innodbRows = num(cur, 'INNODB_ROWS_READ') !== null;
  const own = (r: Reading, n: number | null): number | null => (n === null ? null : n - (r.ownRows ?? 0));
  m.rows_read_ps = rate(cur, prev, (r) => (innodbRows ? num(r, 'INNODB_ROWS_READ') : own(r, total(r, ['HANDLER_READ_FIRST', 'HANDLER_READ_KEY', 'HANDLER_READ_NEXT', 'HANDLER_READ_PREV', 'HANDLER_READ_RND', 'HANDLER_READ_RND_NEXT']))), seconds);
  m.rows_written_ps = rate(cur, prev, (r) => total(r, innodbRows ? ['INNODB_ROWS_INSERTED', 'INNODB_ROWS_UPDATED', 'INNODB_ROWS_DELETED'] : ['HANDLER_WRITE', 'HANDLER_UPDATE', 'HANDLER_DELETE']), seconds);
  if (m.rows_read_ps !== null && m.rows_read_ps < 0) m.rows_read_ps = 0;
  if (m.rows_written_ps !== null && m.rows_written_ps < 0) m.rows_written_ps = 0;
  if (host) {
    m.mem_bytes = host.memBytes;
    m.data_bytes = host.dataBytes;
    m.binlog_bytes = host.binlogBytes;
    if (prevHost && host.cpuTicks !== null && prevHost.cpuTicks !== null && host.cpuTicks >= prevHost.cpuTicks && host.at > prevHost.at) {
      m.cpu_pct = round2((100 * (host.cpuTicks - prevHost.cpuTicks)) / host.clockTicksPerSec / ((host.at - prevHost.at) / 1000));
    }
  }
  return m;
}

/** Parse `--metric qps,tps` (or several --metric flags) against the known names; null = all. */
export function parseMetricList(values: string[], allowed: readonly MetricName[] = METRIC_NAMES): MetricName[] | null {
  const names = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) return null;
  const bad = names.filter((n) => !allowed.includes(n as MetricName));
  if (bad.length) throw new UsageError(`--metric ${bad.join(',')}: unknown metric (valid: ${allowed.join(', ')})`);
  return [...new Set(names)] as MetricName[];
}
