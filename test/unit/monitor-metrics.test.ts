import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { computeMetrics, parseMetricList, type Reading } from '../../src/monitor/metrics.js';
import { hostReadScript, parseHostRead } from '../../src/monitor/host.js';
import { compact, sparkline } from '../../src/monitor/sparkline.js';
import { parseDuration } from '../../src/monitor/duration.js';
import { rollupCutoff } from '../../src/monitor/store.js';
import { summarise } from '../../src/monitor/perf-view.js';
import { hostLayout } from '../../src/rds/layout.js';
import { UsageError } from '../../src/core/errors.js';

// The monitor's arithmetic: rates from two readings, gaps that stay gaps, restarts that do not
// make negative rates, and the NC-side script run by a real shell against real files.

function reading(at: number, s: Record<string, number | string>, own = 0, replica: Reading['replica'] = null): Reading {
  return { at, status: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, String(v)])), replica, ownStatements: own };
}

const base = { UPTIME: 100, QUESTIONS: 1000, COM_COMMIT: 10, COM_ROLLBACK: 1, THREADS_CONNECTED: 5, THREADS_RUNNING: 2, INNODB_BUFFER_POOL_READ_REQUESTS: 10000, INNODB_BUFFER_POOL_READS: 100, INNODB_BUFFER_POOL_PAGES_DIRTY: 10, INNODB_BUFFER_POOL_PAGES_TOTAL: 1000, INNODB_ROWS_READ: 500, INNODB_ROWS_INSERTED: 50, INNODB_ROWS_UPDATED: 5, INNODB_ROWS_DELETED: 0, SLOW_QUERIES: 3 };

describe('computeMetrics', () => {
  test('rates over the interval, the monitor\'s own statements taken out of QPS', () => {
    const a = reading(0, base, 2);
    const b = reading(10_000, { ...base, UPTIME: 110, QUESTIONS: 1204, COM_COMMIT: 60, COM_ROLLBACK: 11, INNODB_BUFFER_POOL_READ_REQUESTS: 11000, INNODB_BUFFER_POOL_READS: 110, INNODB_ROWS_READ: 1500, INNODB_ROWS_INSERTED: 150, INNODB_ROWS_UPDATED: 25, INNODB_ROWS_DELETED: 5, SLOW_QUERIES: 5, RPL_SEMI_SYNC_MASTER_STATUS: 'ON' }, 6, { io: 'Yes', sql: 'Yes', lagSec: 3 });
    const m = computeMetrics(b, a, null, null);
    expect(m.qps).toBe(20); // (1204-6) - (1000-2) = 200 over 10 s
    expect(m.tps).toBe(6);
    expect(m.connections).toBe(5);
    expect(m.threads_running).toBe(2);
    expect(m.bp_hit_pct).toBe(99);
    expect(m.bp_dirty_pct).toBe(1);
    expect(m.rows_read_ps).toBe(100);
    expect(m.rows_written_ps).toBe(12.5);
    expect(m.slow_queries).toBe(2);
    expect(m).toMatchObject({ repl_io: 'Yes', repl_sql: 'Yes', repl_lag_sec: 3, semisync_master: true, semisync_slave: null });
  });

  test('MariaDB (no Innodb_rows_*): rows from the handler counters, the monitor\'s own status scans taken out', () => {
    const h = { UPTIME: 1, QUESTIONS: 1, HANDLER_READ_FIRST: 0, HANDLER_READ_KEY: 100, HANDLER_READ_NEXT: 0, HANDLER_READ_PREV: 0, HANDLER_READ_RND: 0, HANDLER_READ_RND_NEXT: 500, HANDLER_WRITE: 10, HANDLER_UPDATE: 0, HANDLER_DELETE: 0 };
    const a = { ...reading(0, h), ownRows: 30 };
    const idle = { ...reading(1000, { ...h, HANDLER_READ_RND_NEXT: 530 }), ownRows: 60 };
    expect(computeMetrics(idle, a, null, null)).toMatchObject({ rows_read_ps: 0, rows_written_ps: 0 });
    const busy = { ...reading(1000, { ...h, HANDLER_READ_KEY: 300, HANDLER_READ_RND_NEXT: 530, HANDLER_WRITE: 60, HANDLER_UPDATE: 5 }), ownRows: 60 };
    expect(computeMetrics(busy, a, null, null)).toMatchObject({ rows_read_ps: 200, rows_written_ps: 55 });
  });

  test('no previous reading: gauges only, rates are null (not zero)', () => {
    const m = computeMetrics(reading(0, base), null, null, null);
    expect(m.qps).toBeNull();
    expect(m.tps).toBeNull();
    expect(m.bp_hit_pct).toBeNull();
    expect(m.connections).toBe(5);
  });

  test('a restart between readings (Uptime went back): rates null, never negative', () => {
    const m = computeMetrics(reading(10_000, { ...base, UPTIME: 3, QUESTIONS: 10 }), reading(0, base), null, null);
    expect(m.qps).toBeNull();
    expect(m.rows_read_ps).toBeNull();
  });

  test('host metrics: CPU percent from ticks, sizes as read', () => {
    const h0 = { at: 0, cpuTicks: 1000, clockTicksPerSec: 100, memBytes: 1, dataBytes: 2, binlogBytes: 3 };
    const h1 = { at: 10_000, cpuTicks: 1500, clockTicksPerSec: 100, memBytes: 4096, dataBytes: 8192, binlogBytes: 1024 };
    const m = computeMetrics(reading(10_000, base), reading(0, base), h1, h0);
    expect(m).toMatchObject({ cpu_pct: 50, mem_bytes: 4096, data_bytes: 8192, binlog_bytes: 1024 });
  });
});

describe('host read script', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-monitor-unit-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('a real shell reports CPU and memory of the instance\'s own mysqld, datadir and binlog sizes; a stopped one has none', async () => {
    const l1 = hostLayout({ host_root: path.join(root, '{host}') }, 'nc-x01', 3001);
    const l2 = hostLayout({ host_root: path.join(root, '{host}') }, 'nc-x01', 3002);
    for (const l of [l1, l2]) for (const d of l.dirs) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(l1.dataDir, 'ibdata1'), Buffer.alloc(64 * 1024, 1));
    fs.writeFileSync(`${l1.binlogBase}.000001`, Buffer.alloc(16 * 1024, 1));
    fs.writeFileSync(`${l1.binlogBase}.000002`, Buffer.alloc(16 * 1024, 1));
    fs.writeFileSync(`${l1.binlogBase}.index`, 'x');
    // A process whose command line carries l1's --defaults-file stands in for its mysqld.
    const proc = spawn('sh', ['-c', 'sleep 30', `--defaults-file=${l1.mycnf}`], { stdio: 'ignore' });
    fs.writeFileSync(l1.pidFile, `${proc.pid}\n`);
    // l2's pid file names a process that is not its mysqld.
    fs.writeFileSync(l2.pidFile, `${process.pid}\n`);
    try {
      const out = execFileSync('dash', ['-c', hostReadScript([{ instanceId: 7, layout: l1 }, { instanceId: 8, layout: l2 }])], { encoding: 'utf8' });
      const r = parseHostRead(out, 123);
      const a = r.get(7)!;
      expect(a.cpuTicks).not.toBeNull();
      expect(a.memBytes).toBeGreaterThan(0);
      expect(a.dataBytes).toBeGreaterThanOrEqual(64 * 1024);
      expect(a.binlogBytes).toBeGreaterThanOrEqual(32 * 1024);
      expect(a.binlogBytes).toBeLessThan(64 * 1024);
      expect(r.get(8)).toMatchObject({ cpuTicks: null, memBytes: null, binlogBytes: 0 });
      expect(r.get(8)!.dataBytes).not.toBeNull();
    } finally {
      proc.kill();
    }
  });

  test('parse ignores noise and keeps what it can read', () => {
    const r = parseHostRead('T 250\ngarbage\nI 3 - - 10 0\nI x 1 2 3 4\n', 5);
    expect([...r.keys()]).toEqual([3]);
    expect(r.get(3)).toEqual({ at: 5, cpuTicks: null, clockTicksPerSec: 250, memBytes: null, dataBytes: 10240, binlogBytes: 0 });
  });
});

describe('views and parsing', () => {
  test('sparkline: a gap is blank, not the bottom bar', () => {
    const pts = [0, 1, 2, 3].map((i) => ({ t: i * 10, v: i === 2 ? null : i }));
    const s = sparkline(pts, 0, 39, 4);
    expect(s).toHaveLength(4);
    expect(s[2]).toBe(' ');
    expect(s[0]).toBe('▁');
    expect(s[3]).toBe('█');
    expect(sparkline([], 0, 10, 5)).toBe('     ');
  });

  test('summary: min/max/avg over values only; current of a gap is null', () => {
    const rows = [
      { ts: new Date(0), ok: true, error: null, source: 'raw' as const, values: { qps: 4 } },
      { ts: new Date(1), ok: true, error: null, source: 'raw' as const, values: { qps: 8 } },
      { ts: new Date(2), ok: false, error: 'refused', source: 'raw' as const, values: {} },
    ];
    const [q] = summarise(rows, ['qps']);
    expect(q).toMatchObject({ current: null, min: 4, max: 8, avg: 6 });
    expect(q!.points.map((p) => p.value)).toEqual([4, 8, null]);
  });

  test('compact numbers', () => {
    expect(compact(1234)).toBe('1.23k');
    expect(compact(150 * 1024 * 1024, 'B')).toBe('150M');
    expect(compact(null)).toBe('-');
    expect(compact(12.5, '%')).toBe('12.5%');
  });

  test('durations, metric lists and the roll-up cut', () => {
    expect(parseDuration('10s', '--interval')).toBe(10_000);
    expect(parseDuration('500ms', '--interval')).toBe(500);
    expect(parseDuration('5m', '--interval')).toBe(300_000);
    expect(() => parseDuration('10 parsecs', '--interval')).toThrow(UsageError);
    expect(parseMetricList(['qps,tps', 'qps'])).toEqual(['qps', 'tps']);
    expect(parseMetricList([])).toBeNull();
    expect(() => parseMetricList(['qps,bogus'])).toThrow(/--metric bogus/);
    const cut = rollupCutoff(new Date('2026-01-02T10:07:31Z'));
    expect(cut.toISOString()).toBe('2026-01-01T10:05:00.000Z');
  });
});
