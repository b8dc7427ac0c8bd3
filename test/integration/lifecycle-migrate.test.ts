import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { leftoversScript } from '../../src/rds/host-ops.js';
import { hostLayout } from '../../src/rds/layout.js';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import { openInstance } from '../../src/remote/mysql-instance.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { AckedWriter } from '../support/ha-writer.js';

// `instance migrate` on a real pair under a small write load through the endpoint: the standby
// rebuilt on another NC, the old one removed only after the new one replicates, metadb and
// capacity following; a migration killed (SIGKILL of its runner) at several step boundaries and
// resumed each time ends consistent; a master migrated through a switchover.

jest.setTimeout(1_200_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
const NAME = `rm-mg${randomBytes(4).toString('hex')}`;
const APP_PW = 'Mg-pass_' + randomBytes(4).toString('hex');
let lab: TestLab;
let rec: InstanceRecord;
let suPw: string;

interface N {
  id: number;
  host: string;
  ip: string;
  port: number;
  hostinfo_id: number;
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
  const rows = await db<N & { role: string; host_name: string }>("SELECT id, role, host_name, ip, port, hostinfo_id, status FROM instance WHERE custins_id = ? AND status <> 'deleted'", [rec.custins_id]);
  const f = (r: string): N => {
    const x = rows.find((y) => y.role === r)!;
    return { id: x.id, host: x.host_name, ip: x.ip, port: x.port, hostinfo_id: x.hostinfo_id, status: x.status };
  };
  return { master: f('master'), slave: f('slave') };
}

async function allocated(hostinfoId: number): Promise<number> {
  return Number((await db<{ m: number }>('SELECT mem_allocated_mb AS m FROM hostinfo WHERE id = ?', [hostinfoId]))[0]!.m);
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

/** `show --live` agrees with the metadb and exits 0; returns the master's verdict ('info' when its own channel is stopped, as after a switchover). */
async function checkMetadbMatchesHosts(): Promise<string> {
  const p = await pair();
  const r = await lab.run(['instance', 'show', NAME, '--live', '-o', 'json']);
  const v = json<InstanceView>(r);
  const m = v.live!.find((l) => l.role === 'master')!;
  const s = v.live!.find((l) => l.role === 'slave')!;
  expect({ code: r.code, slave: s.check, master: ['ok', 'info'].includes(m.check) }).toEqual({ code: 0, slave: 'ok', master: true });
  expect({ host: m.host, reachable: m.reachable, ro: m.read_only }).toEqual({ host: p.master.host, reachable: true, ro: false });
  expect({ host: s.host, reachable: s.reachable, ro: s.read_only, from: s.replicating_from, io: s.slave_io_running, sql: s.slave_sql_running }).toEqual({
    host: p.slave.host,
    reachable: true,
    ro: true,
    from: `${p.master.ip}:${p.master.port}`,
    io: 'Yes',
    sql: 'Yes',
  });
  expect(s.server_id).toBe(p.slave.id);
  return m.check;
}

/** Nothing of the instance's port left on the NC (files, config lines, process). */
async function leftovers(host: string, port: number): Promise<string> {
  const r = await lab.hostExec(host, ['sh', '-c', leftoversScript(hostLayout(port))]);
  expect(r.code).toBe(0);
  return r.stdout.trim();
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
  const r = await lab.run(['instance', 'create', '--name', NAME, '--db', 'shop', '--account', 'app', '--password-stdin', '--reason', 'migrate test', '-o', 'json'], { stdin: `${APP_PW}\n` });
  if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  rec = json<InstanceRecord>(r);
  suPw = (await db<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
  for (const t of ['t_mig', 't_crash', 't_master', 't_cancel']) await sql(rec.master!, `CREATE TABLE shop.${t} (id INT PRIMARY KEY)`);
});

afterAll(async () => {
  if (rec) await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'migrate test cleanup']);
});

test('refusals change nothing: the other node\'s NC, a locked NC, bad input', async () => {
  const p = await pair();
  const tasks = async () => (await db<{ n: number }>('SELECT COUNT(*) AS n FROM task_queue WHERE custins_id = ?', [rec.custins_id]))[0]!.n;
  const n = await tasks();
  const peer = await lab.run(['instance', 'migrate', NAME, '--to-nc', p.master.host, '--yes']);
  expect({ code: peer.code, err: peer.stderr.trim() }).toEqual({ code: 9, err: `rdsctl: --to-nc ${p.master.host} holds the instance's other node: master and standby must be on different NCs` });
  const same = await lab.run(['instance', 'migrate', NAME, '--to-nc', p.slave.host, '--yes']);
  expect(same.code).toBe(9);
  const [other] = await db<{ hostname: string }>("SELECT hostname FROM hostinfo WHERE status = 'online' AND locked = 0 AND id NOT IN (?, ?) ORDER BY id LIMIT 1", [p.master.hostinfo_id, p.slave.hostinfo_id]);
  expect((await lab.run(['nc', 'lock', other!.hostname, '--reason', 'migrate test'])).code).toBe(0);
  try {
    const locked = await lab.run(['instance', 'migrate', NAME, '--to-nc', other!.hostname, '--yes']);
    expect({ code: locked.code, err: locked.stderr.trim() }).toEqual({ code: 9, err: `rdsctl: --to-nc ${other!.hostname} is locked` });
  } finally {
    expect((await lab.run(['nc', 'unlock', other!.hostname, '--reason', 'migrate test done'])).code).toBe(0);
  }
  const bad = await lab.run(['instance', 'migrate', NAME, '--role', 'both']);
  expect({ code: bad.code, err: bad.stderr.trim() }).toEqual({ code: 2, err: 'rdsctl: --role "both": standby or master' });
  const dry = await lab.run(['instance', 'migrate', NAME, '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toMatch(new RegExp(`dry run: ${NAME}: migrate the standby \\(instance ${p.slave.id}\\) ${p.slave.host}:${p.slave.port} -> `));
  expect(await tasks()).toBe(n);
  expect(await db('SELECT * FROM rds_port_reservation WHERE custins_id = ?', [rec.custins_id])).toEqual([]);
  expect(await pair()).toEqual(p);
});

test('a cancelled migrate gives the target port and capacity back: at once when no host was touched, through a migrate_undo task once a copy was built', async () => {
  const before = await pair();
  const capacity = async () => new Map((await db<{ id: number; c: number; m: number; d: number }>('SELECT id, cpu_allocated AS c, mem_allocated_mb AS m, disk_allocated_gb AS d FROM hostinfo ORDER BY id')).map((r) => [r.id, `${r.c}/${r.m}/${r.d}`]));
  const cap0 = await capacity();
  const held = () => db<{ hostinfo_id: number; port: number; why: string }>('SELECT hostinfo_id, port, why FROM rds_port_reservation WHERE custins_id = ?', [rec.custins_id]);
  const undoTasks = () => db<{ id: number; status: string }>("SELECT id, status FROM task_queue WHERE custins_id = ? AND flow = 'migrate_undo' ORDER BY id", [rec.custins_id]);
  const w = writer('t_cancel');
  w.start();
  try {
    await w.waitAcks(30);
    // 1. cancelled after its first check: nothing on any host, the hold goes in the cancel's own transaction
    const early = await rdsctl(['instance', 'migrate', NAME, '--yes', '--reason', 'cancel test'], /^\[\s*1\/21\] /);
    expect(early.signal).toBe('SIGKILL');
    const t1 = Number(/migrate task (\d+)/.exec(early.stderr)![1]);
    expect((await held()).map((r) => r.why)).toEqual(['migrate target']);
    const c1 = await lab.run(['task', 'cancel', String(t1), '--yes', '--reason', 'cancel test']);
    expect({ code: c1.code, err: c1.code ? c1.stderr : '' }).toEqual({ code: 0, err: '' });
    expect(await held()).toEqual([]);
    expect(await capacity()).toEqual(cap0);
    expect(await undoTasks()).toEqual([]);
    expect(await pair()).toEqual(before);

    // 2. cancelled once the copy runs on the target and the old standby stopped replicating (the master's channel maybe repointed)
    const mid = await rdsctl(['instance', 'migrate', NAME, '--yes', '--reason', 'cancel test'], /^\[\s*15\/21\] /);
    expect(mid.signal).toBe('SIGKILL');
    const t2 = Number(/migrate task (\d+)/.exec(mid.stderr)![1]);
    const [target] = await held();
    const [tHost] = await db<{ hostname: string }>('SELECT hostname FROM hostinfo WHERE id = ?', [target!.hostinfo_id]);
    expect(await leftovers(tHost!.hostname, target!.port)).toMatch(/process/);
    const c2 = await lab.run(['task', 'cancel', String(t2), '--yes', '--reason', 'cancel test']);
    expect({ code: c2.code, err: c2.code ? c2.stderr : '' }).toEqual({ code: 0, err: '' });
    // a server of the instance still listens there: the port stays held until the undo removed it
    expect(await held()).toEqual([target]);
    const undo = await undoTasks();
    expect(undo.map((t) => t.status)).toEqual(['pending']);
    const busy = await lab.run(['instance', 'migrate', NAME, '--yes']);
    expect({ code: busy.code, err: busy.stderr }).toEqual({ code: 9, err: expect.stringContaining(`has an unfinished migrate_undo task ${undo[0]!.id} (pending)`) });
    const u = await lab.run(['task', 'resume', String(undo[0]!.id)]);
    expect({ code: u.code, err: u.code ? u.stderr : '' }).toEqual({ code: 0, err: '' });
    await w.waitAcks(30);
  } finally {
    await w.stop();
  }
  const [target] = (await db<{ params: string }>('SELECT params FROM task_queue WHERE custins_id = ? AND flow = ? ORDER BY id DESC LIMIT 1', [rec.custins_id, 'migrate'])).map((r) => (typeof r.params === 'string' ? JSON.parse(r.params) : r.params).target as { host: string; port: number });
  expect(await leftovers(target!.host, target!.port)).toBe('');
  expect(await held()).toEqual([]);
  expect(await capacity()).toEqual(cap0);
  expect((await undoTasks()).map((t) => t.status)).toEqual(['done']);
  expect(await pair()).toEqual(before);
  await checkNoLoss('t_cancel', w);
  await checkMetadbMatchesHosts();
});

test('migrate the standby under a write load: rebuilt elsewhere, old one removed after, metadb and capacity follow, nothing lost', async () => {
  const before = await pair();
  const memOld = await allocated(before.slave.hostinfo_id);
  const mem = Number((await db<{ m: number }>('SELECT mem_mb AS m FROM instance WHERE id = ?', [before.slave.id]))[0]!.m);
  const w = writer('t_mig');
  w.start();
  let out: { status: string; to: string };
  try {
    await w.waitAcks(50);
    const r = await lab.run(['instance', 'migrate', NAME, '--yes', '--reason', 'migrate test', '-o', 'json']);
    expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
    out = json<{ status: string; to: string }>(r);
    await w.waitAcks(50);
  } finally {
    await w.stop();
  }
  expect(out.status).toBe('done');
  const after = await pair();
  expect(after.master).toEqual(before.master);
  expect(after.slave.id).toBe(before.slave.id);
  expect(after.slave.host).not.toBe(before.slave.host);
  expect(after.slave.host).not.toBe(after.master.host);
  expect(`${after.slave.host}:${after.slave.port}`).toBe(out.to);
  expect(await leftovers(before.slave.host, before.slave.port)).toBe('');
  expect(await allocated(before.slave.hostinfo_id)).toBe(memOld - mem);
  expect(await db('SELECT * FROM rds_port_reservation WHERE custins_id = ?', [rec.custins_id])).toEqual([]);
  const link = await db<{ ip: string; port: number }>('SELECT ip, port FROM maxscale_link WHERE custins_id = ? AND instance_id = ?', [rec.custins_id, after.slave.id]);
  expect(link).toEqual([{ ip: after.slave.ip, port: after.slave.port }]);
  await checkNoLoss('t_mig', w);
  await checkMetadbMatchesHosts();
  // The system accounts followed the standby to its new address on both servers (issue #16: bound, never '%').
  for (const n of [after.master, after.slave]) {
    const hosts = async (user: string) => (await sql<{ h: string }>(n, `SELECT Host AS h FROM mysql.user WHERE User = '${user}'`)).map((r) => r.h).sort();
    expect(await hosts('replicator')).toEqual([...new Set(['127.0.0.1', after.master.ip, after.slave.ip])].sort());
    expect(await hosts('aliyun_root')).toEqual([...new Set(['localhost', '127.0.0.1', after.master.ip, after.slave.ip])].sort());
  }
  const rows = await db<{ account_name: string; host: string }>("SELECT account_name, host FROM custins_account WHERE custins_id = ? AND account_name IN ('aliyun_root', 'replicator') ORDER BY account_name", [rec.custins_id]);
  for (const r of rows) expect(r.host.split(',')).toEqual(expect.arrayContaining([after.slave.ip]));
  for (const r of rows) expect(r.host.split(',')).not.toContain(before.slave.ip === after.master.ip ? '-' : before.slave.ip);
  process.stderr.write(`lifecycle-migrate: standby migrate ${before.slave.host} -> ${after.slave.host}: ${w.acked.length} acked writes, longest write gap ${w.maxGapMs} ms\n`);
  expect(w.maxGapMs).toBeLessThan(5000);
});

test('a migration killed at several step boundaries resumes each time to a consistent instance', async () => {
  const before = await pair();
  const w = writer('t_crash');
  w.start();
  const kills: string[] = [];
  try {
    await w.waitAcks(30);
    const first = await rdsctl(['instance', 'migrate', NAME, '--yes', '--reason', 'crash test'], /^\[\s*3\/21\] /);
    expect(first.signal).toBe('SIGKILL');
    kills.push(first.killedAt);
    const taskId = Number(/migrate task (\d+)/.exec(first.stderr)![1]);
    // the metadb still has the node where it was; the target port is held
    expect((await pair()).slave).toEqual(before.slave);
    expect((await db<{ why: string }>('SELECT why FROM rds_port_reservation WHERE task_id = ?', [taskId])).map((r) => r.why)).toEqual(['migrate target']);
    for (const at of [/^\[\s*13\/21\] /, /^\[\s*17\/21\] /, /^\[\s*19\/21\] /]) {
      const r = await rdsctl(['task', 'resume', String(taskId)], at);
      expect({ signal: r.signal, err: r.signal ? '' : r.stderr }).toEqual({ signal: 'SIGKILL', err: '' });
      kills.push(r.killedAt);
      const mid = await pair();
      // never two copies: one slave row, at the old place or at the target
      expect(mid.slave.id).toBe(before.slave.id);
    }
    const last = await lab.run(['task', 'resume', String(taskId)]);
    expect({ code: last.code, err: last.code ? last.stderr : '' }).toEqual({ code: 0, err: '' });
    await w.waitAcks(30);
  } finally {
    await w.stop();
  }
  expect(kills.map((k) => /\] (\w+)/.exec(k)![1])).toEqual(['do_make_dir', 'do_stop_old_standby_replication', 'do_switch_standby_in_metadb', 'do_flush_insinfo_file']);
  const after = await pair();
  expect(after.slave.host).not.toBe(before.slave.host);
  expect(await leftovers(before.slave.host, before.slave.port)).toBe('');
  expect(await db('SELECT * FROM rds_port_reservation WHERE custins_id = ?', [rec.custins_id])).toEqual([]);
  await checkNoLoss('t_crash', w);
  await checkMetadbMatchesHosts();
});

test('migrate the master: a switchover, then the old master migrated as the standby', async () => {
  const before = await pair();
  const w = writer('t_master');
  w.start();
  try {
    await w.waitAcks(50);
    const r = await lab.run(['instance', 'migrate', NAME, '--role', 'master', '--yes', '-o', 'json']);
    expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
    await w.waitAcks(50);
  } finally {
    await w.stop();
  }
  const after = await pair();
  expect(after.master).toEqual(before.slave);
  expect(after.slave.id).toBe(before.master.id);
  expect(after.slave.host).not.toBe(before.master.host);
  expect(await leftovers(before.master.host, before.master.port)).toBe('');
  await checkNoLoss('t_master', w);
  // the new master's own channel was stopped by the switchover: info, and show --live exits 0
  expect(await checkMetadbMatchesHosts()).toBe('info');
  process.stderr.write(`lifecycle-migrate: master migrate: ${w.acked.length} acked writes, longest write gap ${w.maxGapMs} ms\n`);
  expect(w.maxGapMs).toBeLessThan(9000);
});
