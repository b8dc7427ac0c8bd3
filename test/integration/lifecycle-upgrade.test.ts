import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import { openInstance } from '../../src/remote/mysql-instance.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { AckedWriter } from '../support/ha-writer.js';

// `instance upgrade` on a real pair under a small write load through the endpoint: refusals that
// change nothing; a downgrade (--allow-downgrade) killed (SIGKILL of its runner) at several step
// boundaries and resumed each time; an upgrade back. Each time both servers report the version
// label, custins.minor_version follows, the standby of before is the master (rolling), no
// acknowledged write is lost, tables are identical and `instance show --live` matches the metadb.

jest.setTimeout(1_200_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
const NAME = `rm-up${randomBytes(4).toString('hex')}`;
const APP_PW = 'Up-pass_' + randomBytes(4).toString('hex');
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


async function minor(): Promise<string | null> {
  return (await db<{ m: string | null }>('SELECT minor_version AS m FROM custins WHERE id = ?', [rec.custins_id]))[0]!.m;
}

/** Both servers report "<binary version>-rds<minor>", the metadb says that minor. */
async function checkVersion(want: string): Promise<void> {
  expect(await minor()).toBe(want);
  const p = await pair();
  for (const n of [p.master, p.slave]) {
    const v = String((await sql<{ v: string }>(n, 'SELECT @@GLOBAL.version AS v'))[0]!.v);
    expect(v).toMatch(new RegExp(`^\\d+\\.\\d+\\.\\d+-MariaDB.*-rds${want.replace(/\./g, '\\.')}$`));
  }
  expect((await db<{ value: string }>("SELECT value FROM mycnf_custinstance WHERE custins_id = ? AND name = 'version'", [rec.custins_id]))[0]!.value).toMatch(new RegExp(`-rds${want.replace(/\./g, '\\.')}$`));
}

beforeAll(async () => {
  lab = sharedLab();
  const r = await lab.run(['instance', 'create', '--name', NAME, '--db', 'shop', '--account', 'app', '--password-stdin', '--reason', 'upgrade test', '-o', 'json'], { stdin: `${APP_PW}\n` });
  if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  rec = json<InstanceRecord>(r);
  suPw = (await db<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
  for (const t of ['t_down', 't_up']) await sql(rec.master!, `CREATE TABLE shop.${t} (id INT PRIMARY KEY)`);
});

afterAll(async () => {
  if (rec) await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'upgrade test cleanup']);
});

test('refusals change nothing: newer than offered, another series, the same version, a downgrade without --allow-downgrade; the dry run', async () => {
  const p = await pair();
  const now = (await minor())!;
  expect(now).toMatch(/^\d+\.\d+\.\d+$/);
  const series = now.split('.').slice(0, 2).join('.');
  const next = `${series}.${Number(now.split('.')[2]) + 1}`;
  const tasks = async () => (await db<{ n: number }>('SELECT COUNT(*) AS n FROM task_queue WHERE custins_id = ?', [rec.custins_id]))[0]!.n;
  const n = await tasks();
  const newer = await lab.run(['instance', 'upgrade', NAME, '--minor-version', next, '--yes']);
  expect({ code: newer.code, err: newer.stderr.trim() }).toEqual({ code: 9, err: `rdsctl: upgrade of ${NAME} refused: --minor-version ${next} is newer than the newest ${series} offered (${now}, dbaas.engine_version)` });
  const other = await lab.run(['instance', 'upgrade', NAME, '--minor-version', '1.2.3', '--yes']);
  expect({ code: other.code, err: other.stderr.trim() }).toEqual({ code: 9, err: `rdsctl: upgrade of ${NAME} refused: --minor-version 1.2.3 is not a ${series} version` });
  const same = await lab.run(['instance', 'upgrade', NAME, '--minor-version', now, '--yes']);
  expect({ code: same.code, err: same.stderr.trim() }).toEqual({ code: 9, err: `rdsctl: upgrade of ${NAME} refused: the instance runs ${now} already` });
  const prev = `${series}.${Number(now.split('.')[2]) - 1}`;
  const down = await lab.run(['instance', 'upgrade', NAME, '--minor-version', prev, '--yes']);
  expect({ code: down.code, err: down.stderr.trim() }).toEqual({ code: 9, err: `rdsctl: upgrade of ${NAME} refused: --minor-version ${prev} is older than ${now}: a downgrade needs --allow-downgrade` });
  const bad = await lab.run(['instance', 'upgrade', NAME, '--minor-version', 'latest']);
  expect({ code: bad.code, err: bad.stderr.trim() }).toEqual({ code: 2, err: 'rdsctl: --minor-version "latest": x.y.z' });
  const dry = await lab.run(['instance', 'upgrade', NAME, '--minor-version', prev, '--allow-downgrade', '--dry-run']);
  expect({ code: dry.code, err: dry.stderr }).toEqual({ code: 0, err: '' });
  expect(dry.stdout).toContain(`dry run: ${NAME}: minor version ${now} -> ${prev}`);
  expect(dry.stdout).toMatch(/^remote \[\S+\]: do_stop_mysql$/m);
  expect(dry.stdout).toContain('UPDATE custins SET minor_version = ?');
  expect(await tasks()).toBe(n);
  expect(await minor()).toBe(now);
  expect(await pair()).toEqual(p);
});

test('a downgrade killed at several step boundaries and resumed each time: rolling, consistent, label reported', async () => {
  const now = (await minor())!;
  const prev = `${now.split('.').slice(0, 2).join('.')}.${Number(now.split('.')[2]) - 1}`;
  const p = await pair();
  const w = writer('t_down');
  w.start();
  const kills: string[] = [];
  try {
    await w.waitAcks(30);
    const first = await rdsctl(['instance', 'upgrade', NAME, '--minor-version', prev, '--allow-downgrade', '--yes', '--reason', 'crash test'], /^\[\s*3\/28\] /);
    expect(first.signal).toBe('SIGKILL');
    kills.push(first.killedAt);
    const taskId = Number(/upgrade task (\d+)/.exec(first.stderr)![1]);
    expect(await minor()).toBe(now);
    for (const at of [/^\[\s*6\/28\] /, /^\[\s*13\/28\] /, /^\[\s*21\/28\] /]) {
      const r = await rdsctl(['task', 'resume', String(taskId)], at);
      expect({ signal: r.signal, err: r.signal ? '' : r.stderr }).toEqual({ signal: 'SIGKILL', err: '' });
      kills.push(r.killedAt);
    }
    const last = await lab.run(['task', 'resume', String(taskId)]);
    expect({ code: last.code, err: last.code ? last.stderr : '' }).toEqual({ code: 0, err: '' });
    await w.waitAcks(30);
  } finally {
    await w.stop();
  }
  expect(kills.map((k) => /\] (\w+)/.exec(k)![1])).toEqual(['do_build_mysql_params', 'do_start_mysql', 'do_promote_standby', 'do_start_mysql']);
  const after = await pair();
  expect({ master: after.master.id, slave: after.slave.id }).toEqual({ master: p.slave.id, slave: p.master.id });
  await checkVersion(prev);
  await checkNoLoss('t_down', w);
  await checkMetadbMatchesHosts();
});

test('an upgrade under a write load: pause only for the switchover', async () => {
  const [ev] = await db<{ m: string }>("SELECT minor_version AS m FROM engine_version WHERE engine = 'mysql' AND version = (SELECT version FROM custins WHERE id = ?)", [rec.custins_id]);
  const p = await pair();
  const w = writer('t_up');
  w.start();
  try {
    await w.waitAcks(50);
    const r = await lab.run(['instance', 'upgrade', NAME, '--minor-version', ev!.m, '--yes', '--reason', 'upgrade test', '-o', 'json']);
    expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
    expect(json<{ status: string; minor_version: string }>(r)).toMatchObject({ status: 'done', minor_version: ev!.m });
    await w.waitAcks(50);
  } finally {
    await w.stop();
  }
  const after = await pair();
  expect({ master: after.master.id, slave: after.slave.id }).toEqual({ master: p.slave.id, slave: p.master.id });
  await checkVersion(ev!.m);
  await checkNoLoss('t_up', w);
  await checkMetadbMatchesHosts();
  process.stderr.write(`lifecycle-upgrade: rolling upgrade: ${w.acked.length} acked writes, longest write gap ${w.maxGapMs} ms\n`);
  expect(w.maxGapMs).toBeLessThan(9000);
});
