import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { hostLayout } from '../../src/rds/layout.js';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import { openInstance } from '../../src/remote/mysql-instance.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { AckedWriter } from '../support/ha-writer.js';

// `instance resize` on a real pair under a small write load through the endpoint: a class whose
// changes are all dynamic is applied live (no server restarts: uptime keeps growing); a class with
// a static change by a rolling restart (writes pause for the switchover only); a smaller class
// gives capacity back; a standby whose NC has no room is migrated first; a resize killed (SIGKILL
// of its runner) at several step boundaries and resumed each time ends consistent. Each time:
// no acknowledged write lost, tables identical, `instance show --live` matches the metadb, and
// hostinfo holds exactly the class's capacity on both NCs.

jest.setTimeout(1_500_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
const NAME = `rm-rz${randomBytes(4).toString('hex')}`;
const APP_PW = 'Rz-pass_' + randomBytes(4).toString('hex');
// A class that differs from rds.mysql.s1.small only in cpu: thread_cache_size ({cpu*16}) changes, a dynamic variable.
const LIVE_CLASS = `rds.mysql.t${randomBytes(3).toString('hex')}`;
const SMALL = 'rds.mysql.s1.small';
const LARGE = 'rds.mysql.s2.large';
let lab: TestLab;
let rec: InstanceRecord;
let suPw: string;

interface N {
  id: number;
  host: string;
  ip: string;
  port: number;
  hostinfo_id: number;
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
  const rows = await db<N & { role: string; host_name: string }>("SELECT id, role, host_name, ip, port, hostinfo_id FROM instance WHERE custins_id = ? AND status <> 'deleted'", [rec.custins_id]);
  const f = (r: string): N => {
    const x = rows.find((y) => y.role === r)!;
    return { id: x.id, host: x.host_name, ip: x.ip, port: x.port, hostinfo_id: x.hostinfo_id };
  };
  return { master: f('master'), slave: f('slave') };
}

interface Alloc {
  cpu: number;
  mem: number;
  disk: number;
}
async function allocated(hostinfoId: number): Promise<Alloc> {
  const [r] = await db<{ c: number; m: number; d: number }>('SELECT cpu_allocated AS c, mem_allocated_mb AS m, disk_allocated_gb AS d FROM hostinfo WHERE id = ?', [hostinfoId]);
  return { cpu: Number(r!.c), mem: Number(r!.m), disk: Number(r!.d) };
}
const plus = (a: Alloc, cpu: number, mem: number, disk = 0): Alloc => ({ cpu: a.cpu + cpu, mem: a.mem + mem, disk: a.disk + disk });

async function custins(): Promise<{ class_code: string; storage_gb: number; rows: Array<{ cpu: number; mem_mb: number; disk_gb: number }> }> {
  const [c] = await db<{ class_code: string; storage_gb: number }>('SELECT class_code, storage_gb FROM custins WHERE id = ?', [rec.custins_id]);
  const rows = await db<{ cpu: number; mem_mb: number; disk_gb: number }>("SELECT cpu, mem_mb, disk_gb FROM instance WHERE custins_id = ? AND status <> 'deleted' ORDER BY id", [rec.custins_id]);
  return { class_code: c!.class_code, storage_gb: Number(c!.storage_gb), rows: rows.map((r) => ({ cpu: Number(r.cpu), mem_mb: Number(r.mem_mb), disk_gb: Number(r.disk_gb) })) };
}

async function uptime(n: N): Promise<number> {
  return Number((await sql<{ Value: string }>(n, "SHOW GLOBAL STATUS LIKE 'Uptime'"))[0]!.Value);
}

async function globals(n: N, names: string[]): Promise<Record<string, string>> {
  const rows = await sql<{ n: string; v: string }>(n, `SELECT LOWER(VARIABLE_NAME) AS n, GLOBAL_VALUE AS v FROM information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME IN (${names.map((x) => `'${x.toUpperCase()}'`).join(',')})`);
  return Object.fromEntries(rows.map((r) => [r.n, String(r.v)]));
}

async function paramRow(name: string): Promise<string | undefined> {
  return (await db<{ value: string }>('SELECT value FROM mycnf_custinstance WHERE custins_id = ? AND name = ?', [rec.custins_id, name]))[0]?.value;
}

function writer(table: string): AckedWriter {
  const [h, p] = rec.endpoint!.split(':');
  return new AckedWriter({ host: h!, port: Number(p), user: 'app', password: APP_PW, db: 'shop', table });
}

async function checkNoLoss(table: string, w: AckedWriter): Promise<void> {
  const p = await pair();
  const ids = new Set((await sql<{ id: number }>(p.master, `SELECT id FROM shop.${table}`)).map((r) => Number(r.id)));
  expect({ lost: w.acked.filter((id) => !ids.has(id)).length, acked: w.acked.length > 0 }).toEqual({ lost: 0, acked: true });
  const pos = (await sql<{ p: string }>(p.master, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'))[0]!.p;
  await sql(p.slave, `SELECT MASTER_GTID_WAIT('${pos}', 30)`);
  const sum = async (n: N) => String((await sql<{ Checksum: string }>(n, `CHECKSUM TABLE shop.${table}`))[0]!.Checksum);
  expect(await sum(p.slave)).toBe(await sum(p.master));
}

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
}

/** Both servers run the metadb's value of each parameter, and the class and rows follow. */
async function checkClass(cls: { code: string; cpu: number; mem: number; maxConn: number }): Promise<void> {
  const c = await custins();
  expect({ cls: c.class_code, rows: c.rows.map((r) => [r.cpu, r.mem_mb]) }).toEqual({ cls: cls.code, rows: [[cls.cpu, cls.mem], [cls.cpu, cls.mem]] });
  expect(await paramRow('max_connections')).toBe(String(cls.maxConn));
  expect(await paramRow('thread_cache_size')).toBe(String(cls.cpu * 16));
  const p = await pair();
  for (const n of [p.master, p.slave]) {
    expect(await globals(n, ['max_connections', 'thread_cache_size', 'innodb_buffer_pool_size'])).toEqual({
      max_connections: String(cls.maxConn),
      thread_cache_size: String(cls.cpu * 16),
      innodb_buffer_pool_size: String(Math.floor((cls.mem * 3) / 4) * 2 ** 20),
    });
  }
}

function rdsctl(args: string[], killAfter: RegExp | null): Promise<{ code: number | null; signal: string | null; stderr: string; killedAt: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let partial = '';
    let killedAt = '';
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        if (killAfter && !killedAt && killAfter.test(l)) {
          killedAt = l;
          p.kill('SIGKILL');
        }
      }
    });
    p.stdout.on('data', () => undefined);
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stderr, killedAt }));
  });
}

beforeAll(async () => {
  lab = sharedLab();
  await db("INSERT INTO instance_class (class_code, engine, cpu, mem_mb, max_connections, max_iops, sort_order) VALUES (?, 'mysql', 2, 2048, 300, 600, 999)", [LIVE_CLASS]);
  const r = await lab.run(['instance', 'create', '--name', NAME, '--class', SMALL, '--db', 'shop', '--account', 'app', '--password-stdin', '--reason', 'resize test', '-o', 'json'], { stdin: `${APP_PW}\n` });
  if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  rec = json<InstanceRecord>(r);
  suPw = (await db<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
  for (const t of ['t_live', 't_up', 't_crash', 't_mig']) await sql(rec.master!, `CREATE TABLE shop.${t} (id INT PRIMARY KEY)`);
});

afterAll(async () => {
  try {
    if (rec) await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'resize test cleanup']);
  } finally {
    await db('DELETE FROM instance_class WHERE class_code = ?', [LIVE_CLASS]);
  }
});

test('refusals change nothing: unknown class, the same class, a locked NC, no room with --no-migrate; the dry run shows the plan', async () => {
  const p = await pair();
  const tasks = async () => (await db<{ n: number }>('SELECT COUNT(*) AS n FROM task_queue WHERE custins_id = ?', [rec.custins_id]))[0]!.n;
  const n = await tasks();
  const before = [await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)];
  const unknown = await lab.run(['instance', 'resize', NAME, '--class', 'rds.mysql.nope', '--yes']);
  expect({ code: unknown.code, err: unknown.stderr.trim() }).toEqual({ code: 2, err: expect.stringMatching(/^rdsctl: --class rds\.mysql\.nope: no such mysql class \(valid: rds\.mysql\.s1\.small, /) });
  const same = await lab.run(['instance', 'resize', NAME, '--class', SMALL, '--yes']);
  expect({ code: same.code, err: same.stderr.trim() }).toEqual({ code: 9, err: `rdsctl: instance ${NAME} is ${SMALL} with ${rec.storage_gb} GB already: nothing to resize` });
  const noFlag = await lab.run(['instance', 'resize', NAME]);
  expect({ code: noFlag.code, err: noFlag.stderr.trim() }).toEqual({ code: 2, err: 'rdsctl: --class is required (see `rdsctl instance classes`)' });
  expect((await lab.run(['nc', 'lock', p.slave.host, '--reason', 'resize test'])).code).toBe(0);
  try {
    const locked = await lab.run(['instance', 'resize', NAME, '--class', LARGE, '--yes']);
    expect({ code: locked.code, err: locked.stderr.trim() }).toEqual({ code: 9, err: `rdsctl: resize of ${NAME} refused: NC ${p.slave.host} is locked (resize test); move the standby off it first (rdsctl instance migrate ${NAME})` });
  } finally {
    expect((await lab.run(['nc', 'unlock', p.slave.host, '--reason', 'resize test done'])).code).toBe(0);
  }
  // the standby's NC full: 2048 MB more do not fit
  const [h] = await db<{ t: number; a: number }>('SELECT mem_total_mb AS t, mem_allocated_mb AS a FROM hostinfo WHERE id = ?', [p.slave.hostinfo_id]);
  const fill = Number(h!.t) - Number(h!.a) - 1024;
  await db('UPDATE hostinfo SET mem_allocated_mb = mem_allocated_mb + ? WHERE id = ?', [fill, p.slave.hostinfo_id]);
  try {
    const full = await lab.run(['instance', 'resize', NAME, '--class', LARGE, '--no-migrate', '--yes']);
    expect({ code: full.code, err: full.stderr.trim() }).toEqual({ code: 8, err: `rdsctl: resize of ${NAME} refused: ${p.slave.host} has no room for 2048 more MB (free 1024) (--no-migrate)` });
  } finally {
    await db('UPDATE hostinfo SET mem_allocated_mb = mem_allocated_mb - ? WHERE id = ?', [fill, p.slave.hostinfo_id]);
  }
  const dry = await lab.run(['instance', 'resize', NAME, '--class', LARGE, '--dry-run']);
  expect({ code: dry.code, err: dry.stderr }).toEqual({ code: 0, err: '' });
  expect(dry.stdout).toContain(`dry run: ${NAME}: resize ${SMALL} ${rec.storage_gb} GB -> ${LARGE} ${rec.storage_gb} GB`);
  expect(dry.stdout).toContain('note: parameter max_connections: 300 -> 600 (live, SET GLOBAL)');
  expect(dry.stdout).toContain('note: parameter open_files_limit: 1500 -> 3000 (static, rolling restart)');
  expect(dry.stdout).toContain(`note: capacity standby NC ${p.slave.host}: allocated ${before[1]!.cpu} cpu, ${before[1]!.mem} MB, ${before[1]!.disk} GB -> ${before[1]!.cpu + 1} cpu, ${before[1]!.mem + 2048} MB, ${before[1]!.disk} GB of `);
  expect(dry.stdout).toMatch(/^remote \[\S+\]: do_stop_mysql$/m);
  expect(await tasks()).toBe(n);
  expect([await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)]).toEqual(before);
  expect((await custins()).class_code).toBe(SMALL);
  expect(await pair()).toEqual(p);
});

test('a class whose changes are all dynamic is applied live: no restart, capacity taken on both NCs', async () => {
  const p = await pair();
  const cap = [await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)];
  const up = [await uptime(p.master), await uptime(p.slave)];
  const w = writer('t_live');
  w.start();
  let out: { status: string; live: string[]; restart: string[] };
  try {
    await w.waitAcks(30);
    const r = await lab.run(['instance', 'resize', NAME, '--class', LIVE_CLASS, '--yes', '--reason', 'resize test', '-o', 'json']);
    expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
    out = json(r);
    await w.waitAcks(30);
  } finally {
    await w.stop();
  }
  expect(out).toMatchObject({ status: 'done', live: ['thread_cache_size'], restart: [] });
  // the same servers, never restarted
  expect(await pair()).toEqual(p);
  const upAfter = [await uptime(p.master), await uptime(p.slave)];
  expect(upAfter[0]).toBeGreaterThanOrEqual(up[0]!);
  expect(upAfter[1]).toBeGreaterThanOrEqual(up[1]!);
  await checkClass({ code: LIVE_CLASS, cpu: 2, mem: 2048, maxConn: 300 });
  expect([await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)]).toEqual([plus(cap[0]!, 1, 0), plus(cap[1]!, 1, 0)]);
  await checkNoLoss('t_live', w);
  await checkMetadbMatchesHosts();
  process.stderr.write(`lifecycle-resize: live resize: ${w.acked.length} acked writes, longest write gap ${w.maxGapMs} ms\n`);
  expect(w.maxGapMs).toBeLessThan(5000);
});

test('a bigger class with a static change: rolling restart under a write load, pause only for the switchover', async () => {
  const p = await pair();
  const cap = [await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)];
  const w = writer('t_up');
  w.start();
  let out: { status: string; live: string[]; restart: string[] };
  try {
    await w.waitAcks(50);
    const r = await lab.run(['instance', 'resize', NAME, '--class', LARGE, '--yes', '--reason', 'resize test', '-o', 'json']);
    expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
    out = json(r);
    await w.waitAcks(50);
  } finally {
    await w.stop();
  }
  expect(out.status).toBe('done');
  expect(out.restart).toEqual(['open_files_limit']);
  expect(out.live).toEqual(expect.arrayContaining(['innodb_buffer_pool_size', 'max_connections', 'innodb_io_capacity']));
  // rolling: the standby of before is the master now
  const after = await pair();
  expect({ master: after.master.id, slave: after.slave.id }).toEqual({ master: p.slave.id, slave: p.master.id });
  await checkClass({ code: LARGE, cpu: 2, mem: 4096, maxConn: 600 });
  for (const n of [after.master, after.slave]) expect(Number((await globals(n, ['open_files_limit'])).open_files_limit)).toBeGreaterThanOrEqual(3000);
  expect([await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)]).toEqual([plus(cap[0]!, 0, 2048), plus(cap[1]!, 0, 2048)]);
  await checkNoLoss('t_up', w);
  await checkMetadbMatchesHosts();
  process.stderr.write(`lifecycle-resize: rolling resize up: ${w.acked.length} acked writes, longest write gap ${w.maxGapMs} ms\n`);
  expect(w.maxGapMs).toBeLessThan(9000);
});

test('a smaller class, killed at several step boundaries and resumed each time: consistent, capacity given back', async () => {
  const p = await pair();
  const cap = [await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)];
  const w = writer('t_crash');
  w.start();
  const kills: string[] = [];
  try {
    await w.waitAcks(30);
    const first = await rdsctl(['instance', 'resize', NAME, '--class', SMALL, '--yes', '--reason', 'crash test'], /^\[\s*2\/33\] /);
    expect(first.signal).toBe('SIGKILL');
    kills.push(first.killedAt);
    const taskId = Number(/resize task (\d+)/.exec(first.stderr)![1]);
    // nothing given back yet: the servers still run the bigger class
    expect([await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)]).toEqual(cap);
    expect((await custins()).class_code).toBe(LARGE);
    for (const at of [/^\[\s*8\/33\] /, /^\[\s*11\/33\] /, /^\[\s*18\/33\] /, /^\[\s*26\/33\] /]) {
      const r = await rdsctl(['task', 'resume', String(taskId)], at);
      expect({ signal: r.signal, err: r.signal ? '' : r.stderr }).toEqual({ signal: 'SIGKILL', err: '' });
      kills.push(r.killedAt);
      const rows = await db<{ n: number }>("SELECT COUNT(*) AS n FROM instance WHERE custins_id = ? AND status <> 'deleted'", [rec.custins_id]);
      expect(Number(rows[0]!.n)).toBe(2);
    }
    const last = await lab.run(['task', 'resume', String(taskId)]);
    expect({ code: last.code, err: last.code ? last.stderr : '' }).toEqual({ code: 0, err: '' });
    await w.waitAcks(30);
  } finally {
    await w.stop();
  }
  expect(kills.map((k) => /\] (\w+)/.exec(k)![1])).toEqual(['do_build_params', 'do_apply_dynamic_params', 'do_start_mysql', 'do_promote_standby', 'do_start_mysql']);
  await checkClass({ code: SMALL, cpu: 1, mem: 2048, maxConn: 300 });
  expect([await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)]).toEqual([plus(cap[0]!, -1, -2048), plus(cap[1]!, -1, -2048)]);
  await checkNoLoss('t_crash', w);
  await checkMetadbMatchesHosts();
});

test('an NC without room for the new class: the standby is migrated first, then the resize', async () => {
  const p = await pair();
  const [h] = await db<{ t: number; a: number }>('SELECT mem_total_mb AS t, mem_allocated_mb AS a FROM hostinfo WHERE id = ?', [p.slave.hostinfo_id]);
  const fill = Number(h!.t) - Number(h!.a) - 1024;
  const masterCap = await allocated(p.master.hostinfo_id);
  const slaveCap = await allocated(p.slave.hostinfo_id);
  await db('UPDATE hostinfo SET mem_allocated_mb = mem_allocated_mb + ? WHERE id = ?', [fill, p.slave.hostinfo_id]);
  const w = writer('t_mig');
  w.start();
  let out: { status: string; migrated: string[]; task_ids: number[] };
  try {
    await w.waitAcks(30);
    const r = await lab.run(['instance', 'resize', NAME, '--class', LARGE, '--yes', '--reason', 'resize test', '-o', 'json']);
    expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
    out = json(r);
    await w.waitAcks(30);
  } finally {
    await w.stop();
    await db('UPDATE hostinfo SET mem_allocated_mb = mem_allocated_mb - ? WHERE id = ?', [fill, p.slave.hostinfo_id]);
  }
  expect({ status: out.status, migrated: out.migrated.length, tasks: out.task_ids.length }).toEqual({ status: 'done', migrated: 1, tasks: 2 });
  const flows = await db<{ flow: string }>(`SELECT flow FROM task_queue WHERE id IN (${out.task_ids.join(',')}) ORDER BY id`);
  expect(flows.map((f) => f.flow)).toEqual(['migrate', 'resize']);
  const after = await pair();
  // the old standby's NC gave its node back; the node is elsewhere with the bigger class
  const moved = [after.master, after.slave].find((n) => n.id === p.slave.id)!;
  expect(moved.hostinfo_id).not.toBe(p.slave.hostinfo_id);
  expect(await allocated(p.slave.hostinfo_id)).toEqual(plus(slaveCap, -1, -2048, -rec.storage_gb));
  expect(await allocated(p.master.hostinfo_id)).toEqual(plus(masterCap, 1, 2048));
  await checkClass({ code: LARGE, cpu: 2, mem: 4096, maxConn: 600 });
  await checkNoLoss('t_mig', w);
  await checkMetadbMatchesHosts();
  process.stderr.write(`lifecycle-resize: migrate + resize: ${w.acked.length} acked writes, longest write gap ${w.maxGapMs} ms\n`);
});

test('more storage alone: no parameter changes, no restart, disk taken on both NCs; an instance with an unfinished task is refused', async () => {
  const p = await pair();
  const restart = await lab.run(['instance', 'restart', NAME, '--no-wait', '--yes', '--reason', 'resize test: a task in the way']);
  expect({ code: restart.code, err: restart.code ? restart.stderr : '' }).toEqual({ code: 0, err: '' });
  const pending = Number(/restart task (\d+)/.exec(restart.stderr)![1]);
  const busy = await lab.run(['instance', 'resize', NAME, '--class', SMALL, '--yes']);
  expect({ code: busy.code, err: busy.stderr.trim() }).toEqual({ code: 9, err: `rdsctl: instance ${NAME} has an unfinished restart task ${pending} (pending) (finish or cancel it first: rdsctl task show ${pending})` });
  expect((await lab.run(['task', 'cancel', String(pending), '--yes', '--reason', 'resize test'])).code).toBe(0);
  const [st] = await db<{ step: number }>('SELECT step_gb AS step FROM storage_type WHERE name = ?', [rec.storage_type]);
  const before = await custins();
  const gb = before.storage_gb + Number(st!.step);
  const cap = [await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)];
  const up = [await uptime(p.master), await uptime(p.slave)];
  const r = await lab.run(['instance', 'resize', NAME, '--class', LARGE, '--storage', String(gb), '--yes', '--reason', 'resize test', '-o', 'json']);
  expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
  expect(json(r)).toMatchObject({ status: 'done', storage_from: before.storage_gb, storage_to: gb, live: [], restart: [] });
  expect(await pair()).toEqual(p);
  expect(await uptime(p.master)).toBeGreaterThanOrEqual(up[0]!);
  expect(await uptime(p.slave)).toBeGreaterThanOrEqual(up[1]!);
  const after = await custins();
  expect({ cls: after.class_code, gb: after.storage_gb, disks: after.rows.map((x) => x.disk_gb) }).toEqual({ cls: LARGE, gb, disks: [gb, gb] });
  const more = gb - before.storage_gb;
  expect([await allocated(p.master.hostinfo_id), await allocated(p.slave.hostinfo_id)]).toEqual([plus(cap[0]!, 0, 0, more), plus(cap[1]!, 0, 0, more)]);
  // the NC's resource config says the new disk size
  for (const n of [p.master, p.slave]) {
    const conf = await lab.hostExec(n.host, ['sh', '-c', `cat ${hostLayout(n.port).resourceConf}`]);
    expect(conf.stdout).toContain(`[${n.port}]\nins_name = ${NAME}\n`);
    expect(conf.stdout).toMatch(new RegExp(`\\[${n.port}\\][^[]*disk_gb = ${gb}\\n`));
  }
  await checkMetadbMatchesHosts();
});
