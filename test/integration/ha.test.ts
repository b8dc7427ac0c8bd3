import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { hostLayout } from '../../src/rds/layout.js';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import { openInstance } from '../../src/remote/mysql-instance.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { AckedWriter } from '../support/ha-writer.js';

// High availability on a real pair: the data route through HAProxy on a proxy host, semi-sync,
// switchover and back under a write load with every acknowledged write kept, a broken standby
// refused, kill -9 of the master's mariadbd failed over by `ha watch`, and watcher takeover.
// Kills only touch processes this test's lab started (pids from the instance's pid files, the
// watchers this test spawned).

jest.setTimeout(900_000);

const NAME = `rm-ha${randomBytes(4).toString('hex')}`;
const APP_PW = 'Ha-pass_' + randomBytes(4).toString('hex');
let lab: TestLab;
let rec: InstanceRecord;
let suPw: string;
const watchers: ChildProcess[] = [];

async function db<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const { ctx } = lab.context();
  try {
    return await ctx.db('dbaas').query<T>(sql, params);
  } finally {
    await ctx.close();
  }
}

async function sql<T = Record<string, unknown>>(host: string, port: number, q: string): Promise<T[]> {
  const s = await openInstance({ name: host, host, port, user: 'aliyun_root', password: suPw, connectTimeoutMs: 3000 });
  try {
    return await s.query<T>(q);
  } finally {
    await s.close();
  }
}

async function pair(): Promise<{ master: { host: string; ip: string; port: number }; slave: { host: string; ip: string; port: number } }> {
  const rows = await db<{ role: string; host_name: string; ip: string; port: number }>("SELECT role, host_name, ip, port FROM instance WHERE custins_id = ? AND status <> 'deleted'", [rec.custins_id]);
  const f = (r: string) => {
    const x = rows.find((y) => y.role === r)!;
    return { host: x.host_name, ip: x.ip, port: x.port };
  };
  return { master: f('master'), slave: f('slave') };
}

function endpoint(): { host: string; port: number } {
  const [h, p] = rec.endpoint!.split(':');
  return { host: h!, port: Number(p) };
}

function writer(table: string): AckedWriter {
  return new AckedWriter({ ...endpoint(), user: 'app', password: APP_PW, db: 'shop', table });
}

/** Every acknowledged id is on the server; the two servers agree (CHECKSUM TABLE) once the standby caught up. */
async function checkNoLoss(table: string, w: AckedWriter, both = true): Promise<void> {
  const p = await pair();
  const ids = new Set((await sql<{ id: number }>(p.master.ip, p.master.port, `SELECT id FROM shop.${table}`)).map((r) => Number(r.id)));
  const lost = w.acked.filter((id) => !ids.has(id));
  expect({ lost: lost.length, acked: w.acked.length > 0 }).toEqual({ lost: 0, acked: true });
  if (!both) return;
  const pos = (await sql<{ p: string }>(p.master.ip, p.master.port, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'))[0]!.p;
  await sql(p.slave.ip, p.slave.port, `SELECT MASTER_GTID_WAIT('${pos}', 30)`);
  const sum = async (n: { ip: string; port: number }) => String((await sql<{ Checksum: string }>(n.ip, n.port, `CHECKSUM TABLE shop.${table}`))[0]!.Checksum);
  expect(await sum(p.slave)).toBe(await sum(p.master));
}

/** Exactly one writable server, and the route leads to it. */
async function checkOneWritable(): Promise<void> {
  const p = await pair();
  const ro = async (n: { ip: string; port: number }) => String((await sql<{ r: number }>(n.ip, n.port, 'SELECT @@GLOBAL.read_only AS r').catch(() => [{ r: 'down' }]))[0]!.r);
  expect([await ro(p.master), await ro(p.slave)].sort()).toEqual(['0', '1'].sort());
  const via = (await sql<{ b: string }>(endpoint().host, endpoint().port, 'SELECT @@bind_address AS b'))[0]!.b;
  expect(via).toBe(p.master.ip);
}

function startWatcher(): ChildProcess {
  const bin = path.resolve('bin/rdsctl');
  const c = spawn(bin, ['ha', 'watch', '--interval', '300', '--window', '2000', '--lease-ttl', '3000', '-o', 'json'], { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  (c as ChildProcess & { events: () => Array<{ ins_name: string; kind: string; detail: string }> }).events = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { ins_name: string; kind: string; detail: string });
  watchers.push(c);
  return c;
}

function events(c: ChildProcess): Array<{ ins_name: string; kind: string; detail: string }> {
  return (c as ChildProcess & { events: () => Array<{ ins_name: string; kind: string; detail: string }> }).events().filter((e) => e.ins_name === NAME);
}

async function eventually(what: string, fn: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  lab = sharedLab();
  const r = await lab.run(['instance', 'create', '--name', NAME, '--db', 'shop', '--account', 'app', '--password-stdin', '--reason', 'ha test', '-o', 'json'], { stdin: `${APP_PW}\n` });
  if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  rec = json<InstanceRecord>(r);
  suPw = (await db<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
  for (const t of ['t_sw', 't_kill', 't_take']) await sql(rec.master!.ip, rec.master!.port, `CREATE TABLE shop.${t} (id INT PRIMARY KEY)`);
});

afterAll(async () => {
  for (const w of watchers) if (w.exitCode === null) w.kill('SIGKILL');
  if (rec) await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'ha test cleanup']);
});

test('the endpoint is a route through HAProxy on a proxy host to the master; semi-sync (AFTER_SYNC) is on and binlogs expire', async () => {
  expect(rec.endpoint).toMatch(/^127\.\d+\.201\.\d+:\d+$/);
  const route = (await db<{ proxy_host: string; target_ip: string; status: string }>('SELECT proxy_host, target_ip, status FROM rds_data_route WHERE custins_id = ?', [rec.custins_id]))[0]!;
  expect(route).toMatchObject({ target_ip: rec.master!.ip, status: 'valid' });
  // The route file in the proxy host's /etc (its disk on this machine).
  const cfgFile = path.join(lab.hostDisk(route.proxy_host), 'etc/haproxy/rds/routes.d', `${rec.custins_id}.cfg`);
  expect(fs.readFileSync(cfgFile, 'utf8')).toContain(`server master ${rec.master!.ip}:${rec.master!.port}`);
  await checkOneWritable();
  const m = (await sql<Record<string, string>>(rec.master!.ip, rec.master!.port, "SELECT @@rpl_semi_sync_master_enabled AS e, @@rpl_semi_sync_master_wait_point AS wp, @@binlog_expire_logs_seconds AS x, (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_STATUS') AS st"))[0]!;
  expect({ ...m, e: String(m.e), x: String(m.x) }).toEqual({ e: '1', wp: 'AFTER_SYNC', x: '604800', st: 'ON' });
});

/** rpl_semi_sync_master_enabled in the my.cnf of a server (its NC's disk on this machine). */
function cnfSemisyncMaster(host: string, port: number): string | undefined {
  const text = fs.readFileSync(path.join(lab.hostDisk(host), hostLayout(port).mycnf), 'utf8');
  return /^rpl_semi_sync_master_enabled\s*=\s*(\S+)/m.exec(text)?.[1];
}

test('instance ha enable: a pair without semi-sync gets it through a flow (dry run first changes nothing); my.cnf is role-correct', async () => {
  const p = await pair();
  // A pair from before HA: no HA parameters in the metadb, semi-sync off on both servers.
  await db('DELETE FROM mycnf_custinstance WHERE custins_id = ? AND source = ?', [rec.custins_id, 'ha']);
  await db('UPDATE aurora_ha SET semisync = 0 WHERE custins_id = ?', [rec.custins_id]);
  for (const n of [p.master, p.slave]) await sql(n.ip, n.port, 'SET GLOBAL rpl_semi_sync_master_enabled = OFF');
  await sql(p.slave.ip, p.slave.port, 'SET GLOBAL rpl_semi_sync_slave_enabled = OFF');
  await sql(p.slave.ip, p.slave.port, 'STOP SLAVE IO_THREAD');
  await sql(p.slave.ip, p.slave.port, 'START SLAVE IO_THREAD');
  const tasks = async () => (await db<{ n: number }>('SELECT COUNT(*) AS n FROM task_queue WHERE custins_id = ?', [rec.custins_id]))[0]!.n;
  const n0 = await tasks();
  const dry = await lab.run(['instance', 'ha', 'enable', NAME, '--dry-run']);
  expect({ code: dry.code, err: dry.stderr }).toEqual({ code: 0, err: '' });
  expect(dry.stdout).toMatch(/do_enable_semisync_standby/);
  expect(await tasks()).toBe(n0);
  const bad = await lab.run(['instance', 'ha', 'frobnicate', NAME]);
  expect(bad.code).toBe(2);
  const r = await lab.run(['instance', 'ha', 'enable', NAME, '--reason', 'ha test', '-o', 'json']);
  expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
  expect(json<{ status: string }>(r).status).toBe('done');
  const st = async (n: { ip: string; port: number }) =>
    Object.fromEntries(
      (await sql<{ n: string; v: string }>(n.ip, n.port, "SELECT LOWER(VARIABLE_NAME) AS n, VARIABLE_VALUE AS v FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME IN ('RPL_SEMI_SYNC_MASTER_ENABLED','RPL_SEMI_SYNC_SLAVE_ENABLED') UNION ALL SELECT LOWER(VARIABLE_NAME), VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('RPL_SEMI_SYNC_MASTER_STATUS','RPL_SEMI_SYNC_SLAVE_STATUS','RPL_SEMI_SYNC_MASTER_CLIENTS')")).map((x) => [x.n, x.v]),
    );
  expect(await st(p.master)).toMatchObject({ rpl_semi_sync_master_enabled: 'ON', rpl_semi_sync_master_status: 'ON', rpl_semi_sync_master_clients: '1' });
  expect(await st(p.slave)).toMatchObject({ rpl_semi_sync_master_enabled: 'OFF', rpl_semi_sync_slave_enabled: 'ON', rpl_semi_sync_slave_status: 'ON' });
  expect({ m: cnfSemisyncMaster(p.master.host, p.master.port), s: cnfSemisyncMaster(p.slave.host, p.slave.port) }).toEqual({ m: 'ON', s: 'OFF' });
  const ha = (await db<{ semisync: number }>('SELECT semisync FROM aurora_ha WHERE custins_id = ?', [rec.custins_id]))[0]!;
  expect(Number(ha.semisync)).toBe(1);
  expect((await db<{ kind: string }>("SELECT kind FROM ha_event WHERE custins_id = ? AND kind = 'enable'", [rec.custins_id])).length).toBe(1);
  // again: every step finds its work done
  const again = await lab.run(['instance', 'ha', 'enable', NAME]);
  expect({ code: again.code, err: again.code ? again.stderr : '' }).toEqual({ code: 0, err: '' });
});

test('a standby with broken replication is refused (exit 4) before anything changes', async () => {
  const p = await pair();
  await sql(p.slave.ip, p.slave.port, 'STOP SLAVE SQL_THREAD');
  try {
    const tasks = (await db<{ n: number }>('SELECT COUNT(*) AS n FROM task_queue WHERE custins_id = ?', [rec.custins_id]))[0]!.n;
    const r = await lab.run(['instance', 'switchover', NAME, '--yes']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/refused: the standby's replication is broken: IO Yes, SQL No/);
    expect((await db<{ n: number }>('SELECT COUNT(*) AS n FROM task_queue WHERE custins_id = ?', [rec.custins_id]))[0]!.n).toBe(tasks);
    await checkOneWritable();
  } finally {
    await sql(p.slave.ip, p.slave.port, 'START SLAVE');
  }
});

test('switchover and back under a write load: every acknowledged write kept, one writable server, roles and route follow', async () => {
  const before = await pair();
  const w = writer('t_sw');
  w.start();
  try {
    await w.waitAcks(50);
    const r1 = await lab.run(['instance', 'switchover', NAME, '--yes', '-o', 'json']);
    expect({ code: r1.code, err: r1.code ? r1.stderr : '' }).toEqual({ code: 0, err: '' });
    await w.waitAcks(50);
    expect((await pair()).master).toEqual(before.slave);
    await checkOneWritable();
    // the new master's own channel toward its standby is stopped after the switchover: info, not exit 4
    const live = await lab.run(['instance', 'show', NAME, '--live', '-o', 'json']);
    const lv = json<InstanceView>(live).live!;
    expect({ code: live.code, checks: lv.map((l) => [l.role, l.check]) }).toEqual({ code: 0, checks: [['master', 'info'], ['slave', 'ok']] });
    // my.cnf follows the roles: the semi-sync master side on for the new master only
    expect({ m: cnfSemisyncMaster(before.slave.host, before.slave.port), s: cnfSemisyncMaster(before.master.host, before.master.port) }).toEqual({ m: 'ON', s: 'OFF' });
    const r2 = await lab.run(['instance', 'switchover', NAME, '--yes', '-o', 'json']);
    expect({ code: r2.code, err: r2.code ? r2.stderr : '' }).toEqual({ code: 0, err: '' });
    await w.waitAcks(50);
  } finally {
    await w.stop();
  }
  expect((await pair()).master).toEqual(before.master);
  await checkOneWritable();
  await checkNoLoss('t_sw', w);
  // two switchovers' worth of write unavailability, loosely: a loaded CI host is slow, a semi-sync stall is 10 s
  expect(w.maxGapMs).toBeLessThan(9000);
  const ev = await db<{ kind: string }>("SELECT kind FROM ha_event WHERE custins_id = ? AND kind = 'switchover'", [rec.custins_id]);
  expect(ev.length).toBe(2);
});

test('kill -9 of the master mariadbd: ha watch declares it dead on two vantage points and fails over with no acknowledged write lost', async () => {
  const w1 = startWatcher();
  await eventually('the watcher takes the instance', () => events(w1).some((e) => e.kind === 'acquired'));
  await eventually('a semi-sync sample', async () => (await db<{ s: number | null }>('SELECT last_semisync_on AS s FROM aurora_ha WHERE custins_id = ?', [rec.custins_id]))[0]!.s === 1);
  const before = await pair();
  const w = writer('t_kill');
  w.start();
  try {
    await w.waitAcks(50);
    // The master's mysqld, killed inside its NC (the pid file holds the NC's own pid of it).
    const killed = await lab.hostExec(before.master.host, ['sh', '-c', 'kill -KILL "$(cat "$1")"', 'sh', hostLayout(before.master.port).pidFile]);
    expect(killed.code).toBe(0);
    await eventually('the failover', () => events(w1).some((e) => e.kind === 'failover'), 60_000);
    await w.waitAcks(50, 30_000);
  } finally {
    await w.stop();
  }
  const dead = events(w1).find((e) => e.kind === 'dead')!;
  expect(dead.detail).toMatch(/direct probes failed over \d+ ms; the standby .* lost it too/);
  expect((await pair()).master).toEqual(before.slave);
  await checkNoLoss('t_kill', w, false);
  const via = (await sql<{ b: string }>(endpoint().host, endpoint().port, 'SELECT @@bind_address AS b, @@read_only AS r'))[0]!;
  expect(via).toMatchObject({ b: before.slave.ip });
  const ha = (await db<{ rebuild_instance_id: number; q: number }>('SELECT rebuild_instance_id, quiet_until > NOW(3) AS q FROM aurora_ha WHERE custins_id = ?', [rec.custins_id]))[0]!;
  expect(ha.rebuild_instance_id).toBeGreaterThan(0);
  expect(String(ha.q)).toBe('1');
  expect((await db<{ kind: string }>('SELECT kind FROM ha_event WHERE custins_id = ? ORDER BY id', [rec.custins_id])).map((e) => e.kind)).toEqual(expect.arrayContaining(['master_dead', 'failover']));
});

test('watcher takeover: when the watcher holding the instance is killed, another takes it within the lease time', async () => {
  const w1 = watchers[0]!;
  const w2 = startWatcher();
  await new Promise((r) => setTimeout(r, 1500));
  expect(events(w2).some((e) => e.kind === 'acquired')).toBe(false);
  const t0 = Date.now();
  w1.kill('SIGKILL');
  await eventually('the second watcher takes over', () => events(w2).some((e) => e.kind === 'acquired'), 20_000);
  expect(Date.now() - t0).toBeLessThan(3000 + 2000);
  const holder = (await db<{ owner: string }>('SELECT owner FROM ha_watch_lease WHERE custins_id = ?', [rec.custins_id]))[0]!.owner;
  expect(holder).toMatch(new RegExp(`:${w2.pid}:`));
});

test('rebuild-standby after the failover restores a replicating, semi-sync pair from a streamed backup of the master', async () => {
  const before = await pair();
  const r = await lab.run(['instance', 'rebuild-standby', NAME, '--yes', '-o', 'json']);
  expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
  const after = await pair();
  expect(after).toEqual(before);
  const st = (await sql<Record<string, unknown>>(after.slave.ip, after.slave.port, 'SHOW SLAVE STATUS'))[0]!;
  expect({ io: st.Slave_IO_Running, sql: st.Slave_SQL_Running, host: st.Master_Host }).toEqual({ io: 'Yes', sql: 'Yes', host: after.master.ip });
  // a write through the endpoint reaches the rebuilt standby, with every earlier acknowledged write
  const w = writer('t_take');
  w.start();
  try {
    await w.waitAcks(20);
  } finally {
    await w.stop();
  }
  await checkNoLoss('t_take', w);
  const sum = async (n: { ip: string; port: number }) => String((await sql<{ Checksum: string }>(n.ip, n.port, 'CHECKSUM TABLE shop.t_kill'))[0]!.Checksum);
  expect(await sum(after.slave)).toBe(await sum(after.master));
  const ha = (await db<{ rebuild_instance_id: number | null }>('SELECT rebuild_instance_id FROM aurora_ha WHERE custins_id = ?', [rec.custins_id]))[0]!;
  expect(ha.rebuild_instance_id).toBeNull();
  const m = (await sql<{ st: string }>(after.master.ip, after.master.port, "SELECT VARIABLE_VALUE AS st FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_CLIENTS'"))[0]!;
  expect(Number(m.st)).toBeGreaterThanOrEqual(1);
  const chk = json<{ checks: Array<{ details: { instances: Array<{ ins_name: string; problem: string | null; ha?: { semisync: boolean; route_target: string } }> } }> }>(await lab.run(['check', 'rds', '-o', 'json']));
  const mine = chk.checks[0]!.details.instances.find((x) => x.ins_name === NAME)!;
  expect(mine).toMatchObject({ problem: null, ha: { semisync: true, route_target: `${after.master.ip}:${after.master.port}` } });
});

test("the master's NC made unreachable (every process of it frozen): ha watch fails over with no acknowledged write lost; the thawed old master is fenced", async () => {
  const w2 = watchers[1]!;
  // the rebuilt pair: the quiet period of the earlier failover is over for this test
  await db('UPDATE aurora_ha SET quiet_until = NULL WHERE custins_id = ?', [rec.custins_id]);
  await eventually('a semi-sync sample', async () => (await db<{ s: number | null }>('SELECT last_semisync_on AS s FROM aurora_ha WHERE custins_id = ?', [rec.custins_id]))[0]!.s === 1);
  const before = await pair();
  await sql(before.master.ip, before.master.port, 'CREATE TABLE IF NOT EXISTS shop.t_nc (id INT PRIMARY KEY)');
  const w = writer('t_nc');
  w.start();
  const seen = events(w2).length;
  let frozen = false;
  try {
    await w.waitAcks(50);
    lab.freezeHost(before.master.host);
    frozen = true;
    await eventually('the failover', () => events(w2).slice(seen).some((e) => e.kind === 'failover'), 90_000);
    await w.waitAcks(50, 30_000);
  } finally {
    await w.stop();
    if (frozen) lab.thawHost(before.master.host);
  }
  const dead = events(w2).slice(seen).find((e) => e.kind === 'dead')!;
  expect(dead.detail).toMatch(/does not answer over SSH either/);
  expect((await pair()).master).toEqual(before.slave);
  await checkNoLoss('t_nc', w, false);
  // thawed, the old master would be writable: the watcher fences it (read-only), one writable server
  await eventually('the old master fenced', async () => String((await sql<{ r: number }>(before.master.ip, before.master.port, 'SELECT @@GLOBAL.read_only AS r').catch(() => [{ r: 0 }]))[0]!.r) === '1', 30_000);
  await checkOneWritable();
});

test('rebuild-standby --nc NC: the lost standby rebuilt on another NC, streamed through the jump host, replicating with every row', async () => {
  const before = await pair();
  const other = (await db<{ hostname: string }>("SELECT hostname FROM hostinfo WHERE status = 'online' AND hostname NOT IN (?, ?) ORDER BY hostname LIMIT 1", [before.master.host, before.slave.host]))[0]!.hostname;
  const dry = await lab.run(['instance', 'rebuild-standby', NAME, '--nc', other, '--dry-run']);
  expect({ code: dry.code, err: dry.stderr }).toEqual({ code: 0, err: '' });
  expect(dry.stdout).toContain(`${before.master.host} -> ${other}`);
  const same = await lab.run(['instance', 'rebuild-standby', NAME, '--nc', before.master.host, '--yes']);
  expect(same.code).toBe(2);
  const r = await lab.run(['instance', 'rebuild-standby', NAME, '--nc', other, '--yes', '--reason', 'ha test: standby NC lost', '-o', 'json']);
  expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
  const after = await pair();
  expect(after.master).toEqual(before.master);
  expect(after.slave.host).toBe(other);
  const st = (await sql<Record<string, unknown>>(after.slave.ip, after.slave.port, 'SHOW SLAVE STATUS'))[0]!;
  expect({ io: st.Slave_IO_Running, sql: st.Slave_SQL_Running, host: st.Master_Host }).toEqual({ io: 'Yes', sql: 'Yes', host: after.master.ip });
  // the old standby's mysqld is stopped on its NC (no second server of this instance there)
  const old = await sql(before.slave.ip, before.slave.port, 'SELECT 1').then(() => 'answers', () => 'down');
  expect(old).toBe('down');
  await sql(after.master.ip, after.master.port, 'CREATE TABLE shop.t_nc2 (id INT PRIMARY KEY)');
  const w = writer('t_nc2');
  w.start();
  try {
    await w.waitAcks(20);
  } finally {
    await w.stop();
  }
  await checkNoLoss('t_nc2', w);
  const sum = async (n: { ip: string; port: number }) => String((await sql<{ Checksum: string }>(n.ip, n.port, 'CHECKSUM TABLE shop.t_nc'))[0]!.Checksum);
  expect(await sum(after.slave)).toBe(await sum(after.master));
  await checkOneWritable();
  const m = (await sql<{ st: string }>(after.master.ip, after.master.port, "SELECT VARIABLE_VALUE AS st FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_CLIENTS'"))[0]!;
  expect(Number(m.st)).toBeGreaterThanOrEqual(1);
});
