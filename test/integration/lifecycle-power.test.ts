import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import { openInstance } from '../../src/remote/mysql-instance.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { AckedWriter } from '../support/ha-writer.js';

// `instance start|stop|restart` on a real pair under a small write load through the endpoint:
// rolling restart (standby, switchover, old master) keeps the instance writable except for the
// switchover, a standby restart never stalls the master's commits on semi-sync, stop/start move
// instance.status with what the hosts say and suspend/resume HA, refusals change nothing. A stop
// that hangs is reported as stuck and never ends in a kill -9 (issue #16). The pair is of an 8 GB
// class (s2.xlarge), which gets performance_schema (the 2 GB class of instance.test.ts does not).

jest.setTimeout(900_000);

const NAME = `rm-lc${randomBytes(4).toString('hex')}`;
const APP_PW = 'Lc-pass_' + randomBytes(4).toString('hex');
let lab: TestLab;
let rec: InstanceRecord;
let suPw: string;

interface N {
  id: number;
  host: string;
  ip: string;
  port: number;
  status: string;
}

async function db<T>(q: string, params: unknown[] = []): Promise<T[]> {
  const { ctx } = lab.context();
  try {
    return await ctx.db('dbaas').query<T>(q, params);
  } finally {
    await ctx.close();
  }
}

async function sql<T = Record<string, unknown>>(n: { ip: string; port: number }, q: string): Promise<T[]> {
  const s = await openInstance({ name: n.ip, host: n.ip, port: n.port, user: 'aliyun_root', password: suPw, connectTimeoutMs: 3000 });
  try {
    return await s.query<T>(q);
  } finally {
    await s.close();
  }
}

async function pair(): Promise<{ master: N; slave: N }> {
  const rows = await db<{ id: number; role: string; host_name: string; ip: string; port: number; status: string }>("SELECT id, role, host_name, ip, port, status FROM instance WHERE custins_id = ? AND status <> 'deleted'", [rec.custins_id]);
  const f = (r: string): N => {
    const x = rows.find((y) => y.role === r)!;
    return { id: x.id, host: x.host_name, ip: x.ip, port: x.port, status: x.status };
  };
  return { master: f('master'), slave: f('slave') };
}

/** The mysqld pid of a server, from its pid file on the NC's disk. */
function pidOf(n: N): string {
  return fs.readFileSync(lab.hostLayoutOnDisk(n.host, n.port).pidFile, 'utf8').trim();
}

function writer(table: string): AckedWriter {
  const [h, p] = rec.endpoint!.split(':');
  return new AckedWriter({ host: h!, port: Number(p), user: 'app', password: APP_PW, db: 'shop', table });
}

/** Every acknowledged write is on the master, and the standby's copy of the table is the same. */
async function checkNoLoss(table: string, w: AckedWriter): Promise<void> {
  const p = await pair();
  const ids = new Set((await sql<{ id: number }>(p.master, `SELECT id FROM shop.${table}`)).map((r) => Number(r.id)));
  expect({ lost: w.acked.filter((id) => !ids.has(id)).length, acked: w.acked.length > 0 }).toEqual({ lost: 0, acked: true });
  const pos = (await sql<{ p: string }>(p.master, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'))[0]!.p;
  await sql(p.slave, `SELECT MASTER_GTID_WAIT('${pos}', 30)`);
  const sum = async (n: N) => String((await sql<{ Checksum: string }>(n, `CHECKSUM TABLE shop.${table}`))[0]!.Checksum);
  expect(await sum(p.slave)).toBe(await sum(p.master));
}

/** instance show --live agrees with the metadb: the master writable, the standby read-only replicating from it. */
async function checkMetadbMatchesHosts(): Promise<void> {
  const p = await pair();
  const v = json<InstanceView>(await lab.run(['instance', 'show', NAME, '--live', '-o', 'json']));
  const m = v.live!.find((l) => l.role === 'master')!;
  const s = v.live!.find((l) => l.role === 'slave')!;
  expect({ host: m.host, reachable: m.reachable, ro: m.read_only }).toEqual({ host: p.master.host, reachable: true, ro: false });
  expect({ host: s.host, reachable: s.reachable, ro: s.read_only, from: s.replicating_from, io: s.slave_io_running, sql: s.slave_sql_running }).toEqual({
    host: p.slave.host,
    reachable: true,
    ro: true,
    from: `${p.master.ip}:${p.master.port}`,
    io: 'Yes',
    sql: 'Yes',
  });
  expect([p.master.status, p.slave.status]).toEqual(['running', 'running']);
  const semi = (await sql<{ Value: string }>(p.master, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'"))[0]!;
  expect(Number(semi.Value)).toBeGreaterThanOrEqual(1);
}

async function tasks(): Promise<number> {
  return (await db<{ n: number }>('SELECT COUNT(*) AS n FROM task_queue WHERE custins_id = ?', [rec.custins_id]))[0]!.n;
}

beforeAll(async () => {
  lab = sharedLab();
  const r = await lab.run(['instance', 'create', '--name', NAME, '--class', 'rds.mysql.s2.xlarge', '--db', 'shop', '--account', 'app', '--password-stdin', '--reason', 'lifecycle test', '-o', 'json'], { stdin: `${APP_PW}\n` });
  if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  rec = json<InstanceRecord>(r);
  suPw = (await db<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
  for (const t of ['t_roll', 't_sb', 't_stop']) await sql(rec.master!, `CREATE TABLE shop.${t} (id INT PRIMARY KEY)`);
});

afterAll(async () => {
  if (rec) await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'lifecycle test cleanup']);
});

test('an 8 GB class runs with performance_schema, in my.cnf and live', async () => {
  const p = await pair();
  for (const n of [p.master, p.slave]) {
    expect(fs.readFileSync(lab.hostLayoutOnDisk(n.host, n.port).mycnf, 'utf8')).toMatch(/^performance_schema = ON$/m);
    expect((await sql<{ v: number }>(n, 'SELECT @@GLOBAL.performance_schema AS v'))[0]!.v).toBe(1);
  }
});

test('dry run and bad input change nothing', async () => {
  const n = await tasks();
  const dry = await lab.run(['instance', 'restart', NAME, '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain(`dry run: ${NAME}: rolling restart of master ${rec.master!.host} and standby ${rec.slave!.host}`);
  expect(dry.stdout).toMatch(/note: steps: do_pause_semisync_wait, do_stop_mysql, do_start_mysql, do_wait_replication, do_resume_semisync_wait, do_check_switchover_ready, .*do_update_instance_status/);
  expect(dry.stdout).toContain(`/etc/init.d/mysql${rec.master!.port} stop`);
  const inPlace = await lab.run(['instance', 'restart', NAME, '--role', 'master', '--no-switchover', '--dry-run']);
  expect(inPlace.stdout).toContain('NO WRITES while the master');
  expect(inPlace.stdout).not.toContain('do_check_switchover_ready');
  const bad = await lab.run(['instance', 'restart', NAME, '--role', 'primary', '--yes']);
  expect({ code: bad.code, err: bad.stderr.trim() }).toEqual({ code: 2, err: 'rdsctl: --role "primary": master, standby or both' });
  const noYes = await lab.run(['instance', 'stop', NAME]);
  expect(noYes.code).toBe(2);
  expect(noYes.stderr).toMatch(/needs confirmation: rerun with --yes/);
  expect(await tasks()).toBe(n);
});

test('rolling restart of both under a write load: standby, switchover, old master; writable but for the switchover, nothing lost', async () => {
  const before = await pair();
  const pids = [pidOf(before.master), pidOf(before.slave)];
  const w = writer('t_roll');
  w.start();
  try {
    await w.waitAcks(50);
    const r = await lab.run(['instance', 'restart', NAME, '--yes', '--reason', 'lifecycle test', '-o', 'json']);
    expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
    expect(json<{ status: string; master: string; standby: string }>(r)).toMatchObject({ status: 'done', master: before.slave.host, standby: before.master.host });
    await w.waitAcks(50);
  } finally {
    await w.stop();
  }
  const after = await pair();
  expect([after.master.id, after.slave.id]).toEqual([before.slave.id, before.master.id]);
  expect(pidOf(before.master)).not.toBe(pids[0]);
  expect(pidOf(before.slave)).not.toBe(pids[1]);
  await checkNoLoss('t_roll', w);
  await checkMetadbMatchesHosts();
  process.stderr.write(`lifecycle-power: rolling restart: ${w.acked.length} acked writes, longest write gap ${w.maxGapMs} ms\n`);
  // one switchover's pause (a 10 s semi-sync stall would show as more); generous for a loaded host
  expect(w.maxGapMs).toBeLessThan(9000);
  const steps = await db<{ step_name: string; status: string }>("SELECT s.step_name, s.status FROM task_step s JOIN task_queue t ON t.id = s.task_id WHERE t.custins_id = ? AND t.flow = 'restart' ORDER BY s.seq", [rec.custins_id]);
  expect(steps.filter((s) => s.status === 'skipped').map((s) => s.step_name)).toEqual(['do_suspend_ha', 'do_wait_standby_reconnect', 'do_resume_ha']);
});

test('restart of the standby only: the master keeps committing without a semi-sync stall; then stop/start of the standby', async () => {
  const before = await pair();
  const masterPid = pidOf(before.master);
  const slavePid = pidOf(before.slave);
  const w = writer('t_sb');
  w.start();
  try {
    await w.waitAcks(50);
    const r = await lab.run(['instance', 'restart', NAME, '--role', 'standby', '--yes', '-o', 'json']);
    expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
    await w.waitAcks(50);
    const stop = await lab.run(['instance', 'stop', NAME, '--role', 'standby', '--yes', '-o', 'json']);
    expect({ code: stop.code, err: stop.code ? stop.stderr : '' }).toEqual({ code: 0, err: '' });
    expect((await pair()).slave.status).toBe('stopped');
    await w.waitAcks(50);
    const start = await lab.run(['instance', 'start', NAME, '--role', 'standby', '--yes', '-o', 'json']);
    expect({ code: start.code, err: start.code ? start.stderr : '' }).toEqual({ code: 0, err: '' });
    await w.waitAcks(50);
  } finally {
    await w.stop();
  }
  expect(await pair()).toEqual(before);
  expect(pidOf(before.master)).toBe(masterPid);
  expect(pidOf(before.slave)).not.toBe(slavePid);
  await checkNoLoss('t_sb', w);
  await checkMetadbMatchesHosts();
  process.stderr.write(`lifecycle-power: standby restart + stop + start: ${w.acked.length} acked writes, longest write gap ${w.maxGapMs} ms\n`);
  // the master never waited the 10 s semi-sync timeout for the stopped standby
  expect(w.maxGapMs).toBeLessThan(5000);
});

test('stop of both suspends HA and marks both stopped; an open task refuses a second operation; start brings the pair back', async () => {
  const before = await pair();
  const stop = await lab.run(['instance', 'stop', NAME, '--yes', '--no-wait']);
  expect(stop.code).toBe(0);
  const taskId = Number(/stop task (\d+)/.exec(stop.stderr)![1]);
  const n = await tasks();
  const busy = await lab.run(['instance', 'restart', NAME, '--yes']);
  expect({ code: busy.code, err: busy.stderr.trim().split('\n')[0] }).toEqual({ code: 9, err: `rdsctl: instance ${NAME} has an unfinished stop task ${taskId} (pending) (finish or cancel it first: rdsctl task show ${taskId})` });
  expect(await tasks()).toBe(n);
  const run = await lab.run(['task', 'resume', String(taskId)]);
  expect({ code: run.code, err: run.code ? run.stderr : '' }).toEqual({ code: 0, err: '' });
  const p = await pair();
  expect([p.master.status, p.slave.status]).toEqual(['stopped', 'stopped']);
  expect((await db<{ status: string }>('SELECT status FROM aurora_ha WHERE custins_id = ?', [rec.custins_id]))[0]!.status).toBe('added');
  await expect(sql(before.master, 'SELECT 1')).rejects.toThrow();

  const start = await lab.run(['instance', 'start', NAME, '--yes', '-o', 'json']);
  expect({ code: start.code, err: start.code ? start.stderr : '' }).toEqual({ code: 0, err: '' });
  expect((await db<{ status: string }>('SELECT status FROM aurora_ha WHERE custins_id = ?', [rec.custins_id]))[0]!.status).toBe('enabled');
  const w = writer('t_stop');
  w.start();
  try {
    await w.waitAcks(50);
  } finally {
    await w.stop();
  }
  await checkNoLoss('t_stop', w);
  await checkMetadbMatchesHosts();
});

test('a stop that hangs (mariadbd SIGSTOPped on its NC) is reported as stuck and nothing is killed; once the server can shut down, the task finishes', async () => {
  const p = await pair();
  const pid = pidOf(p.slave);
  // Inside the NC: the pid file holds the NC's pid of the server (its own pid namespace).
  const onNc = (argv: string[]) => lab.hostExec(p.slave.host, argv);
  const stateOf = async (): Promise<string> => (await onNc(['sh', '-c', 'sed -n "s/^[0-9]* (.*) \\([A-Za-z]\\) .*/\\1/p" "/proc/$1/stat" 2>/dev/null', 'sh', pid])).stdout.trim();
  const errorLog = lab.hostLayoutOnDisk(p.slave.host, p.slave.port).errorLog;
  // The server's own last line of a clean shutdown (InnoDB's "Shutdown completed; log sequence number" comes before it).
  const shutdowns = (): number => (fs.readFileSync(errorLog, 'utf8').match(/mariadbd: Shutdown complete$/gm) ?? []).length;
  const before = shutdowns();
  expect((await onNc(['kill', '-STOP', pid])).code).toBe(0);
  let stop: Awaited<ReturnType<TestLab['run']>>;
  const t0 = Date.now();
  try {
    stop = await lab.run(['instance', 'stop', NAME, '--role', 'standby', '--yes', '--reason', 'stuck stop test']);
    // Still there, still stopped: the stop sent TERM, waited, reported, and killed nothing.
    expect(await stateOf()).toBe('T');
  } finally {
    await onNc(['kill', '-CONT', pid]);
  }
  process.stderr.write(`lifecycle-power: stuck stop reported after ${Date.now() - t0} ms\n`);
  expect(stop.code).not.toBe(0);
  expect(stop.stderr).toMatch(new RegExp(`stop stuck: mysqld pid ${pid} of port ${p.slave.port} still runs 30 s after SIGTERM \\(process state T\\); not killed`));
  expect(Date.now() - t0).toBeGreaterThanOrEqual(30_000);
  // Continued, the server runs the shutdown its pending TERM asked for: a clean one.
  const end = Date.now() + 120_000;
  while ((await onNc(['kill', '-0', pid])).code === 0) {
    if (Date.now() > end) throw new Error(`mysqld ${pid} did not shut down after SIGCONT`);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(shutdowns()).toBe(before + 1);
  const taskId = (await db<{ id: number }>("SELECT id FROM task_queue WHERE custins_id = ? AND status = 'failed' ORDER BY id DESC LIMIT 1", [rec.custins_id]))[0]!.id;
  const retry = await lab.run(['task', 'retry', String(taskId)]);
  expect({ code: retry.code, err: retry.code ? retry.stderr : '' }).toEqual({ code: 0, err: '' });
  expect((await pair()).slave.status).toBe('stopped');
  const start = await lab.run(['instance', 'start', NAME, '--role', 'standby', '--yes', '-o', 'json']);
  expect({ code: start.code, err: start.code ? start.stderr : '' }).toEqual({ code: 0, err: '' });
  await checkMetadbMatchesHosts();
});
