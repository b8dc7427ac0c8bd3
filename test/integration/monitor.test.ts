import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { hostLayout } from '../../src/rds/layout.js';
import { openInstance, readGreeting, type InstanceSession } from '../../src/remote/mysql-instance.js';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { PerfView } from '../../src/monitor/perf-view.js';
import type { SessionsResult } from '../../src/monitor/sessions.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { rdsctlOnPty } from '../support/pty.js';

// Monitoring and diagnostics on a real primary–standby pair of the shared lab: `monitor` fills the
// perf tables (and a stopped server is a gap, then recovers), `instance perf` returns the series,
// `instance top` sees a write load, `sessions`/`kill` end a long query, `logs` reads and follows
// the error log, `connect` runs the mariadb client through a pseudo-terminal without the password
// showing in any process's arguments or environment. Only this file's own instance is stopped.

jest.setTimeout(600_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
const NAME = `rm-mon${randomBytes(4).toString('hex')}`;
const APP_PW = 'S3cure-pass_' + randomBytes(3).toString('hex');
let lab: TestLab;
let rec: InstanceRecord;
let superPw: string;
const started = new Date(Date.now() - 1000);

async function dbaas<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const { ctx } = lab.context();
  try {
    return await ctx.db('dbaas').query<T>(sql, params);
  } finally {
    await ctx.close();
  }
}

function app(): Promise<InstanceSession> {
  return openInstance({ name: 'test', host: rec.master!.ip, port: rec.master!.port, user: 'app', password: APP_PW });
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resolves once the master shows a `SELECT SLEEP(30)` executing (rejects after `ms`). */
async function sleepRunning(ms = 30_000): Promise<void> {
  const s = await openInstance({ name: 'test', host: rec.master!.ip, port: rec.master!.port, user: 'aliyun_root', password: superPw });
  try {
    await eventually('SELECT SLEEP(30) executing', async () => {
      const rows = await s.query<{ n: number }>("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO = 'SELECT SLEEP(30)'");
      return Number(rows[0]!.n) > 0;
    }, ms);
  } finally {
    await s.close();
  }
}

/** The master's init script on its NC, through go2nc: only this file's instance is touched. */
async function initScript(action: 'stop' | 'start'): Promise<void> {
  const l = hostLayout(rec.master!.port);
  const r = await lab.run(['go2nc', rec.master!.host, '--reason', 'monitor test', '--', l.initScript, action]);
  if (r.code !== 0) throw new Error(`${l.initScript} ${action}: exit ${r.code}: ${r.stderr}`);
}

function child(args: string[]): { p: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const p = spawn(process.execPath, [BIN, ...args], { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  return { p, out: () => out, err: () => err, exit };
}

beforeAll(async () => {
  lab = sharedLab();
  const r = await lab.run(['instance', 'create', '--name', NAME, '--db', 'shop', '--account', 'app', '--password-stdin', '--reason', 'monitor test', '-o', 'json'], { stdin: `${APP_PW}\n` });
  if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  rec = json<InstanceRecord>(r);
  superPw = (await dbaas<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
  const s = await app();
  await s.query('CREATE TABLE shop.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32))');
  await s.close();
});

afterAll(async () => {
  if (!rec) return;
  // If a test failed with the master stopped, start it so delete finds what it expects.
  await initScript('start').catch(() => undefined);
  const r = await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'monitor test cleanup']);
  if (r.code !== 0) throw new Error(`delete failed: ${r.stderr}`);
});

describe('monitor', () => {
  test('--once fills perf_sample for every running registered instance, and db_perf_sample with the databases', async () => {
    const r = await lab.run(['monitor', '--once', '--interval', '1s']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/round 1: \d+ instances \(\d+ ok, \d+ gaps\)/);
    const expected = await dbaas<{ instance_id: number }>(
      `SELECT i.id AS instance_id FROM instance_perf p JOIN instance i ON i.id = p.instance_id JOIN custins c ON c.id = i.custins_id
        WHERE p.status = 'active' AND c.status = 'running' AND i.status <> 'deleted'`,
    );
    expect(expected.map((e) => e.instance_id)).toEqual(expect.arrayContaining([rec.master!.instance_id, rec.slave!.instance_id]));
    const got = await dbaas<{ instance_id: number; ok: number; qps: number | null; connections: number | null; repl_io: string | null; data_bytes: number | null; mem_bytes: number | null; interval_ms: number | null }>(
      'SELECT instance_id, ok, qps, connections, repl_io, data_bytes, mem_bytes, interval_ms FROM perf_sample WHERE ts >= ? AND instance_id IN (?)',
      [started, expected.map((e) => e.instance_id)],
    );
    // Every registered running instance has its sample (another file's instance may be a gap: it is recorded too).
    for (const e of expected) expect(got.some((g) => g.instance_id === e.instance_id)).toBe(true);
    for (const id of [rec.master!.instance_id, rec.slave!.instance_id]) {
      const row = got.find((g) => g.instance_id === id);
      expect(row).toMatchObject({ ok: 1 });
      expect(row!.qps).not.toBeNull();
      expect(row!.interval_ms).toBeGreaterThan(500);
      expect(row!.connections).toBeGreaterThanOrEqual(1);
      expect(row!.repl_io).toBe('Yes');
      expect(Number(row!.data_bytes)).toBeGreaterThan(1e6);
      expect(Number(row!.mem_bytes)).toBeGreaterThan(1e6);
    }
    const sizes = await dbaas<{ db_name: string; size_bytes: number; tables: number }>('SELECT db_name, size_bytes, tables FROM db_perf_sample WHERE custins_id = ? AND ts >= ?', [rec.custins_id, started]);
    expect(sizes.find((s) => s.db_name === 'shop')).toMatchObject({ tables: 1 });
    // --once gives every shard back when it ends.
    expect(await dbaas('SELECT shard FROM perf_shard WHERE owner IS NOT NULL AND expires_at > NOW(3)')).toEqual([]);
  });

  test('a stopped master is a gap (ok = 0 with the error, no zeros), then recovers; perf -o json has the series with the gap', async () => {
    await initScript('stop');
    try {
      const r = await lab.run(['monitor', '--once', '--interval', '1s']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/[1-9]\d* gaps/);
    } finally {
      await initScript('start');
    }
    await eventually('the master answering again', async () => (await readGreeting({ name: 'm', host: rec.master!.ip, port: rec.master!.port }, 1000).catch(() => null))?.serverVersion);
    const r2 = await lab.run(['monitor', '--once', '--interval', '1s']);
    expect(r2.code).toBe(0);

    const rows = await dbaas<{ ok: number; error: string | null; qps: number | null; connections: number | null }>('SELECT ok, error, qps, connections FROM perf_sample WHERE instance_id = ? AND ts >= ? ORDER BY ts', [rec.master!.instance_id, started]);
    const gap = rows.find((x) => x.ok === 0)!;
    expect(gap).toBeDefined();
    expect(gap.error).toMatch(/ECONNREFUSED|cannot log in|closed/);
    expect(gap.qps).toBeNull();
    expect(gap.connections).toBeNull();
    expect(rows[rows.length - 1]!.ok).toBe(1);

    const p = await lab.run(['instance', 'perf', NAME, '--since', '30m', '--metric', 'qps,connections', '-o', 'json']);
    expect(p.code).toBe(0);
    const v = json<PerfView>(p);
    expect(v).toMatchObject({ ins_name: NAME, role: 'master', instance_id: rec.master!.instance_id, last_ok: true });
    expect(v.metrics.map((m) => m.metric)).toEqual(['qps', 'connections']);
    expect(v.samples).toBeGreaterThanOrEqual(3);
    expect(v.gaps.length).toBeGreaterThanOrEqual(1);
    const conn = v.metrics[1]!;
    expect(conn.points).toHaveLength(v.samples);
    expect(conn.points.some((x) => x.value === null)).toBe(true);
    expect(conn.min).toBeGreaterThanOrEqual(1);
    expect(conn.current).toBeGreaterThanOrEqual(1);

    const table = await lab.run(['instance', 'perf', NAME, '--since', '30m']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^METRIC\s+CURRENT\s+MIN\s+MAX\s+AVG\s+TREND$/);
    expect(table.stdout).toMatch(/^connections\s+\d/m);
    expect(table.stderr).toMatch(/gap/);
  });

  test('the real loop: rounds every --interval, SIGTERM stops it, its shards are given back; a second monitor shares the shards', async () => {
    const a = child(['monitor', '--interval', '1s', '--lease-ttl', '4', '-o', 'json']);
    const rounds = (): Array<{ round: number; instances: number; ok: number; connections: number; connections_opened: number }> => a.out().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    try {
      await eventually('three rounds of monitor A', () => rounds().length >= 3);
      // One connection per instance, kept: no new logins after the first round.
      const rs = rounds();
      expect(rs[2]!.connections_opened).toBe(rs[0]!.connections_opened);
      expect(rs[2]!.connections).toBeGreaterThanOrEqual(rs[2]!.ok);
      const b = child(['monitor', '--interval', '1s', '--lease-ttl', '4']);
      try {
        // B joins: A hands over shards above its fair share, B takes them.
        await eventually('the shards split between two monitors', async () => {
          const owners = await dbaas<{ owner: string; n: number }>('SELECT owner, COUNT(*) AS n FROM perf_shard WHERE owner IS NOT NULL AND expires_at > NOW(3) GROUP BY owner');
          return owners.length === 2 && owners.every((o) => Number(o.n) === 16);
        });
        expect(a.err()).toMatch(/handed over shards/);
      } finally {
        b.p.kill('SIGKILL');
        await b.exit;
      }
      // B died without a word: its shards go back to A (on this host at once; elsewhere within the TTL).
      await eventually('A holding all shards again', async () => {
        const owners = await dbaas<{ owner: string; n: number }>('SELECT owner, COUNT(*) AS n FROM perf_shard WHERE owner IS NOT NULL AND expires_at > NOW(3) GROUP BY owner');
        return owners.length === 1 && Number(owners[0]!.n) === 32;
      }, 15_000);
    } finally {
      a.p.kill('SIGTERM');
    }
    expect(await a.exit).toBe(130);
    expect(await dbaas('SELECT shard FROM perf_shard WHERE owner IS NOT NULL')).toEqual([]);
    const n = await dbaas<{ n: number }>('SELECT COUNT(*) AS n FROM perf_sample WHERE instance_id = ? AND ts >= ?', [rec.master!.instance_id, started]);
    expect(Number(n[0]!.n)).toBeGreaterThanOrEqual(5);
  });
  test('a monitor on another host holding the shards: nothing is taken while its lease runs, everything once it expires', async () => {
    const far = 'far-host.example:4242:abcdef';
    const { ctx } = lab.context();
    try {
      await ctx.db('dbaas').execute('UPDATE perf_shard SET owner = ?, expires_at = NOW(3) + INTERVAL 3 SECOND', [far]);
      await ctx.db('dbaas').execute('INSERT INTO perf_monitor (owner, expires_at, started_at) VALUES (?, NOW(3) + INTERVAL 3 SECOND, NOW(3))', [far]);
      const held = await lab.run(['monitor', '--once', '--interval', '500ms']);
      expect(held.code).toBe(0);
      expect(held.stderr).toMatch(/round 1: 0 instances .* 0 shards of 32/);
      await new Promise((r) => setTimeout(r, 3500));
      const taken = await lab.run(['monitor', '--once', '--interval', '500ms']);
      expect(taken.code).toBe(0);
      expect(taken.stderr).toMatch(/took shards 0,1,2,/);
      expect(taken.stderr).toMatch(/round 1: [1-9]\d* instances .* 32 shards of 32/);
    } finally {
      await ctx.db('dbaas').execute('UPDATE perf_shard SET owner = NULL, expires_at = NULL WHERE owner = ?', [far]);
      await ctx.db('dbaas').execute('DELETE FROM perf_monitor WHERE owner = ?', [far]);
      await ctx.close();
    }
  });

  test('retention: raw samples older than a day are folded into 5-minute buckets (gaps counted, not averaged in) and deleted; perf reads the buckets', async () => {
    const id = rec.master!.instance_id;
    const base = Date.now() - 2 * 86400_000;
    const t0 = new Date(base - (base % 300_000));
    const at = (sec: number): Date => new Date(t0.getTime() + sec * 1000);
    const { ctx } = lab.context();
    try {
      await ctx.db('dbaas').execute(
        'INSERT INTO perf_sample (instance_id, ts, custins_id, ok, error, interval_ms, qps, connections, repl_lag_sec, slow_queries) VALUES ?',
        [[
          [id, at(10), rec.custins_id, 1, null, 10000, 10, 4, 1, 2],
          [id, at(20), rec.custins_id, 1, null, 10000, 30, 6, 5, 1],
          [id, at(30), rec.custins_id, 0, 'refused', null, null, null, null, null],
        ]],
      );
    } finally {
      await ctx.close();
    }
    expect((await lab.run(['monitor', '--once', '--interval', '500ms'])).code).toBe(0);
    const raw = await dbaas('SELECT ts FROM perf_sample WHERE instance_id = ? AND ts < ?', [id, new Date(Date.now() - 86400_000)]);
    expect(raw).toEqual([]);
    const [b] = await dbaas<{ samples: number; gaps: number; qps: number; connections: number; repl_lag_sec: number; slow_queries: number; bucket: Date }>('SELECT bucket, samples, gaps, qps, connections, repl_lag_sec, slow_queries FROM perf_rollup WHERE instance_id = ? AND bucket = ?', [id, t0]);
    expect(b).toMatchObject({ samples: 3, gaps: 1, qps: 20, connections: 5, repl_lag_sec: 5, slow_queries: 3 });
    const v = json<PerfView>(await lab.run(['instance', 'perf', NAME, '--since', '3d', '--metric', 'qps', '-o', 'json']));
    expect(v.metrics[0]!.points[0]).toEqual({ ts: t0.toISOString(), value: 20 });
  });
});

describe('instance top', () => {
  test('--once under a write load: QPS, TPS and rows written > 0 on the loaded master; sane values everywhere', async () => {
    const s = await app();
    let stop = false;
    const load = (async () => {
      while (!stop) {
        await s.query('BEGIN');
        await s.query('INSERT INTO shop.t (v) VALUES (?)', ['load']);
        await s.query('COMMIT');
      }
    })();
    try {
      const r = await lab.run(['instance', 'top', NAME, '--once', '--interval', '2s', '-o', 'json']);
      expect(r.code).toBe(0);
      const rows = json<Array<{ ins_name: string; role: string; ok: boolean; metrics: Record<string, number | string | null> }>>(r);
      expect(rows.map((x) => x.role).sort()).toEqual(['master', 'slave']);
      const m = rows.find((x) => x.role === 'master')!;
      expect(m.ok).toBe(true);
      expect(m.metrics.qps).toBeGreaterThan(0);
      expect(m.metrics.tps).toBeGreaterThan(0);
      expect(m.metrics.rows_written_ps).toBeGreaterThan(0);
      for (const x of rows) {
        expect(x.metrics.connections).toBeGreaterThanOrEqual(1);
        expect(x.metrics.bp_dirty_pct).toBeGreaterThanOrEqual(0);
        expect(x.metrics.bp_dirty_pct).toBeLessThanOrEqual(100);
        expect(x.metrics.repl_io).toBe('Yes');
        expect(x.metrics.cpu_pct).toBeGreaterThanOrEqual(0);
      }
      const table = await lab.run(['instance', 'top', NAME, '--once', '--interval', '1s', '--sort', 'qps']);
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+ROLE\s+HOST\s+QPS\s+TPS\s+CONN/);
      expect(table.stdout.split('\n')[1]).toMatch(new RegExp(`^${NAME}\\s+master`));
    } finally {
      stop = true;
      await load.catch(() => undefined);
      await s.close();
    }
  });

  test('on a terminal: redraws in place, a key changes the sort, q quits', async () => {
    const pty = rdsctlOnPty(['instance', 'top', NAME, '--interval', '500ms', '--no-host'], { ...lab.env, TERM: 'xterm', COLUMNS: '200', LINES: '40' });
    const { p, exit } = pty;
    try {
      await eventually('the first screen', () => pty.out().includes('rdsctl instance top') && pty.out().includes(NAME) && pty.out().includes('sort: qps'));
      expect(pty.out()).toContain('\x1b[?1049h');
      await eventually('two refreshes', () => (pty.out().match(/\x1b\[H\x1b\[2J/g) ?? []).length >= 3);
      p.stdin!.write('t');
      await eventually('the sort by tps', () => pty.out().includes('sort: tps'));
      p.stdin!.write('q');
      expect(await exit).toBe(0);
      expect(pty.out()).toContain('\x1b[?1049l');
    } finally {
      p.kill();
    }
  });

  test('bad input: unknown sort key and both --nc and --zone are usage errors', async () => {
    expect((await lab.run(['instance', 'top', '--sort', 'bogus'])).code).toBe(2);
    expect((await lab.run(['instance', 'top', '--nc', 'nc-a01', '--zone', 'z'])).code).toBe(2);
  });
});

describe('instance sessions and kill', () => {
  test('sessions shows a long SELECT SLEEP; kill (confirmed, audited) ends it', async () => {
    const s = await app();
    const sleeping = s.query('SELECT SLEEP(300) AS slept').then(
      () => 'finished',
      (e: Error) => e.message,
    );
    try {
      const found = await eventually('the sleeping session', async () => {
        const r = await lab.run(['instance', 'sessions', NAME, '-o', 'json']);
        expect(r.code).toBe(0);
        return json<SessionsResult>(r).sessions.find((x) => x.info === 'SELECT SLEEP(300) AS slept');
      });
      expect(found).toMatchObject({ user: 'app', command: 'Query' });
      const table = await lab.run(['instance', 'sessions', NAME]);
      expect(table.stdout.split('\n')[1]).toMatch(new RegExp(`^\\s*${found.id}\\s+app\\s`));

      const refused = await lab.run(['instance', 'kill', NAME, String(found.id)]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--yes/);
      const k = await lab.run(['instance', 'kill', NAME, String(found.id), '--yes', '--reason', 'monitor test kill', '-o', 'json']);
      expect(k.code).toBe(0);
      expect(json<{ killed: string; after: unknown }>(k)).toMatchObject({ killed: 'connection', after: null });
      expect(await sleeping).toMatch(/closed|lost|kill|interrupted/i);
      const after = json<SessionsResult>(await lab.run(['instance', 'sessions', NAME, '-o', 'json']));
      expect(after.sessions.some((x) => x.id === found.id)).toBe(false);
      const audit = fs.readFileSync(path.join(lab.dir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { command: string; reason: string | null; phase: string; ok?: boolean; targets: string[] });
      expect(audit.filter((a) => a.command === 'instance kill' && a.reason === 'monitor test kill').map((a) => a.phase)).toEqual(['intent', 'result']);

      const repl = after.sessions.find((x) => x.command === 'Binlog Dump');
      if (repl) expect((await lab.run(['instance', 'kill', NAME, String(repl.id), '--yes'])).code).toBe(9);
      expect((await lab.run(['instance', 'kill', NAME, '99999999', '--yes'])).code).toBe(3);
      expect((await lab.run(['instance', 'kill', NAME, 'x1'])).code).toBe(2);
    } finally {
      await sleeping;
      await s.close();
    }
  });
});

describe('instance logs', () => {
  test('shows the error log; -f follows new lines until Ctrl-C', async () => {
    const r = await lab.run(['instance', 'logs', NAME, '-n', '500']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ready for connections/);
    const f = child(['instance', 'logs', NAME, '-f', '-n', '0']);
    try {
      // A client that connects and leaves without logging in is a warning line in the error log.
      await eventually(`the new warning in the followed log (stdout: ${JSON.stringify(f.out().slice(-300))}, stderr: ${JSON.stringify(f.err().slice(-300))})`, async () => {
        await readGreeting({ name: 'm', host: rec.master!.ip, port: rec.master!.port }, 2000).catch(() => undefined);
        return /Aborted connection \d+ .*without authentication/.test(f.out());
      }, 60_000);
    } finally {
      f.p.kill('SIGINT');
    }
    expect(await f.exit).toBe(130);
    expect(f.out()).not.toMatch(/ready for connections/);
    const general = await lab.run(['instance', 'logs', NAME, '--general']);
    expect([0, 3]).toContain(general.code);
    if (general.code === 3) expect(general.stderr).toMatch(/does not exist \(SET GLOBAL general_log = ON starts it\)/);
  });
});

describe('instance connect', () => {
  test('runs a query through a pseudo-terminal; the password is in no process\'s argv or environment; audited start and end', async () => {
    await eventually('the master answering', async () => (await readGreeting({ name: 'm', host: rec.master!.ip, port: rec.master!.port }, 1000).catch(() => null))?.serverVersion);
    const pty = rdsctlOnPty(['instance', 'connect', NAME, '--reason', 'monitor test connect'], { ...lab.env, TERM: 'dumb' });
    const { p, exit } = pty;
    try {
      await eventually('the client prompt', () => pty.out().includes(`${NAME}(master)>`));
      p.stdin!.write("SELECT CONCAT('pty', '-ok') AS x, CURRENT_USER() AS u;\n");
      await eventually('the query result', () => /pty-ok/.test(pty.out()) && /aliyun_root@/.test(pty.out()));
      // While the session is open: no process shows the password in its arguments or environment.
      const ps = execFileSync('ps', ['-eww', '-o', 'args'], { encoding: 'utf8' });
      expect(ps).toMatch(/mariadb --defaults-file=/);
      expect(ps).not.toContain(superPw);
      let readable = 0;
      for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
        let env: Buffer;
        try {
          env = fs.readFileSync(`/proc/${pid}/environ`);
        } catch {
          continue;
        }
        readable++;
        expect(env.includes(superPw)).toBe(false);
      }
      expect(readable).toBeGreaterThan(3);
      // The option file was a FIFO, removed once the client read it.
      const leftovers = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('rdsctl-connect-'));
      for (const d of leftovers) expect(fs.readdirSync(path.join(os.tmpdir(), d))).toEqual([]);
      // Ctrl-C belongs to the client (it kills the running query); rdsctl neither aborts nor exits on it.
      // The client exits on a Ctrl-C that comes while no query runs, so each Ctrl-C waits until the
      // server shows the SLEEP executing (a fixed pause lost that race on a loaded CI machine).
      p.stdin!.write('SELECT SLEEP(30);\n');
      await sleepRunning();
      p.stdin!.write('\x03');
      await eventually('the query killed by Ctrl-C', () => /query killed|interrupted/i.test(pty.out()));
      await eventually('the killed query gone', async () => !(await sleepRunning(0).then(() => true, () => false)));
      p.stdin!.write('SELECT SLEEP(30);\n');
      await sleepRunning();
      p.stdin!.write('\x03');
      await eventually('the second query gone', async () => !(await sleepRunning(0).then(() => true, () => false)));
      p.stdin!.write("SELECT CONCAT('still', '-here') AS y;\n");
      await eventually('the session alive after two Ctrl-C', () => /still-here/.test(pty.out()));
      p.stdin!.write('quit\n');
      expect(await exit).toBe(0);
    } finally {
      p.kill();
    }
    const audit = fs.readFileSync(path.join(lab.dir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { command: string; reason: string | null; phase: string; detail?: Record<string, unknown> });
    const recs = audit.filter((a) => a.command === 'instance connect' && a.reason === 'monitor test connect');
    expect(recs.map((a) => a.phase)).toEqual(['intent', 'result']);
    expect(recs[0]!.detail).toMatchObject({ account: 'aliyun_root' });
    expect(recs[1]!.detail).toMatchObject({ exit_code: 0 });
    expect(JSON.stringify(audit)).not.toContain(superPw);
  });

  test('login options for the client are refused before anything runs', async () => {
    const r = await lab.run(['instance', 'connect', NAME, '--', '-pS3cret']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('S3cret');
  });
});
