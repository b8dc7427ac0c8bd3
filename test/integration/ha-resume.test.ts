import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { FAILOVER_STEPS, SWITCHOVER_STEPS } from '../../src/ha/flows.js';
import { REBUILD_STEPS } from '../../src/ha/rebuild.js';
import type { InstanceRecord } from '../../src/rds/record.js';
import { openInstance } from '../../src/remote/mysql-instance.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { AckedWriter } from '../support/ha-writer.js';

// The HA flows interrupted at every step boundary: the runner (bin/rdsctl as its own process) is
// killed with SIGKILL as soon as it reports step k finished, for every k of switchover, failover
// and rebuild-standby. Right after the kill: never two writable servers, and the route, when it
// takes connections, leads to a writable one. Then `instance step NAME resume` finishes the flow:
// one writable master the route leads to, the standby replicating, no acknowledged write lost.

jest.setTimeout(1_800_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
const NAME = `rm-hr${randomBytes(4).toString('hex')}`;
const APP_PW = 'Hr-pass_' + randomBytes(4).toString('hex');
let lab: TestLab;
let rec: InstanceRecord;
let suPw: string;
let table = 0;

async function db<T>(q: string, params: unknown[] = []): Promise<T[]> {
  const { ctx } = lab.context();
  try {
    return await ctx.db('dbaas').query<T>(q, params);
  } finally {
    await ctx.close();
  }
}

async function sql<T = Record<string, unknown>>(host: string, port: number, q: string, connectTimeoutMs = 3000): Promise<T[]> {
  const s = await openInstance({ name: host, host, port, user: 'aliyun_root', password: suPw, connectTimeoutMs });
  try {
    return await s.query<T>(q);
  } finally {
    await s.close();
  }
}

type Srv = { host: string; ip: string; port: number; instanceId: number };
async function pair(): Promise<{ master: Srv; slave: Srv }> {
  const rows = await db<{ id: number; role: string; host_name: string; ip: string; port: number }>("SELECT id, role, host_name, ip, port FROM instance WHERE custins_id = ? AND status <> 'deleted'", [rec.custins_id]);
  const f = (r: string): Srv => {
    const x = rows.find((y) => y.role === r)!;
    return { host: x.host_name, ip: x.ip, port: x.port, instanceId: x.id };
  };
  return { master: f('master'), slave: f('slave') };
}

function endpoint(): { host: string; port: number } {
  const [h, p] = rec.endpoint!.split(':');
  return { host: h!, port: Number(p) };
}

const readOnly = async (n: { ip: string; port: number }): Promise<string> => String((await sql<{ r: number }>(n.ip, n.port, 'SELECT @@GLOBAL.read_only AS r', 2000).catch(() => [{ r: 'down' }]))[0]!.r);

/** The invariants at any instant, also mid-flow: at most one writable server; an open route leads to a writable one. */
async function invariants(where: string): Promise<void> {
  const p = await pair();
  const ro = [await readOnly(p.master), await readOnly(p.slave)];
  expect({ where, writable: ro.filter((x) => x === '0').length <= 1 }).toEqual({ where, writable: true });
  const via = await sql<{ r: number }>(endpoint().host, endpoint().port, 'SELECT @@GLOBAL.read_only AS r', 2000).catch(() => null);
  if (via) expect({ where, routeTo: String(via[0]!.r) }).toEqual({ where, routeTo: '0' });
}

/** After the flow finished: one writable master, the route leads to it, the standby replicates from it. */
async function healthyPair(): Promise<{ master: Srv; slave: Srv }> {
  const p = await pair();
  expect([await readOnly(p.master), await readOnly(p.slave)]).toEqual(['0', '1']);
  const via = (await sql<{ b: string }>(endpoint().host, endpoint().port, 'SELECT @@bind_address AS b'))[0]!.b;
  expect(via).toBe(p.master.ip);
  const st = (await sql<Record<string, unknown>>(p.slave.ip, p.slave.port, 'SHOW SLAVE STATUS'))[0]!;
  expect({ io: st.Slave_IO_Running, sql: st.Slave_SQL_Running, host: st.Master_Host }).toEqual({ io: 'Yes', sql: 'Yes', host: p.master.ip });
  return p;
}

/** Every acknowledged write is on the master; with `standby`, the standby has the same table. */
async function noLoss(t: string, w: AckedWriter, standby: boolean): Promise<void> {
  const p = await pair();
  const ids = new Set((await sql<{ id: number }>(p.master.ip, p.master.port, `SELECT id FROM shop.${t}`)).map((r) => Number(r.id)));
  expect({ table: t, lost: w.acked.filter((id) => !ids.has(id)).length }).toEqual({ table: t, lost: 0 });
  if (standby) await sameOnStandby(t);
}

async function sameOnStandby(t: string): Promise<void> {
  const p = await pair();
  const pos = (await sql<{ p: string }>(p.master.ip, p.master.port, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'))[0]!.p;
  await sql(p.slave.ip, p.slave.port, `SELECT MASTER_GTID_WAIT('${pos}', 30)`);
  const sum = async (n: Srv) => String((await sql<{ Checksum: string }>(n.ip, n.port, `CHECKSUM TABLE shop.${t}`))[0]!.Checksum);
  expect(await sum(p.slave)).toBe(await sum(p.master));
}

/** bin/rdsctl as its own process, SIGKILLed as soon as it reports step k of n finished. */
function runKilledAfter(args: string[], k: number, n: number): Promise<{ killedAt: string; code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let partial = '';
    let killedAt = '';
    const re = new RegExp(`^\\[\\s*${k}/${n}\\]`);
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        if (!killedAt && re.test(l)) {
          killedAt = l;
          p.kill('SIGKILL');
        }
      }
    });
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ killedAt, code, signal, stderr }));
  });
}

async function lastTask(): Promise<{ id: number; flow: string; status: string }> {
  return (await db<{ id: number; flow: string; status: string }>('SELECT id, flow, status FROM task_queue WHERE custins_id = ? ORDER BY id DESC LIMIT 1', [rec.custins_id]))[0]!;
}

/** Kill the flow's runner after step k, check the invariants, resume, check them again. */
async function killAndResume(args: string[], flow: string, k: number, n: number): Promise<void> {
  const r = await runKilledAfter(args, k, n);
  expect({ k, killed: r.signal, at: r.killedAt !== '' }).toEqual({ k, killed: 'SIGKILL', at: true });
  await invariants(`${flow} killed after step ${k}`);
  const t = await lastTask();
  expect(t.flow).toBe(flow);
  if (t.status !== 'done') {
    const res = await lab.run(['instance', 'step', NAME, 'resume', '--reason', `ha-resume test: ${flow} runner killed after step ${k}`]);
    expect({ k, code: res.code, err: res.code ? res.stderr : '' }).toEqual({ k, code: 0, err: '' });
  }
  expect((await lastTask()).status).toBe('done');
}

beforeAll(async () => {
  lab = sharedLab();
  const r = await lab.run(['instance', 'create', '--name', NAME, '--db', 'shop', '--account', 'app', '--password-stdin', '--reason', 'ha-resume test', '-o', 'json'], { stdin: `${APP_PW}\n` });
  if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  rec = json<InstanceRecord>(r);
  suPw = (await db<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
});

afterAll(async () => {
  if (rec) await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'ha-resume test cleanup']);
});

/** fn under a write load through the endpoint; returns the table written. */
async function withWriter(fn: () => Promise<void>, standby = true): Promise<string> {
  const t = `t_r${++table}`;
  const p = await pair();
  await sql(p.master.ip, p.master.port, `CREATE TABLE shop.${t} (id INT PRIMARY KEY)`);
  const w = new AckedWriter({ ...endpoint(), user: 'app', password: APP_PW, db: 'shop', table: t });
  w.start();
  try {
    await w.waitAcks(20);
    await fn();
    await w.waitAcks(20, 30_000);
  } finally {
    await w.stop();
  }
  await noLoss(t, w, standby);
  return t;
}

const N_SW = SWITCHOVER_STEPS.length;
test.each(Array.from({ length: N_SW - 1 }, (_, i) => i + 1))(`switchover: runner SIGKILLed after step %i of ${N_SW}, then resumed`, async (k) => {
  const before = await pair();
  await withWriter(() => killAndResume(['instance', 'switchover', NAME, '--yes', '--reason', 'ha-resume'], 'switchover', k, N_SW));
  const after = await healthyPair();
  expect(after.master.instanceId).toBe(before.slave.instanceId);
});

const N_FO = FAILOVER_STEPS.length;
test.each(Array.from({ length: N_FO - 1 }, (_, i) => i + 1))(`failover: runner SIGKILLed after step %i of ${N_FO}, then resumed; rebuild-standby restores the pair`, async (k) => {
  const before = await pair();
  // the old master stops replicating at the failover: its tables are compared after the rebuild
  const t = await withWriter(() => killAndResume(['instance', 'failover', NAME, '--yes', '--reason', 'ha-resume'], 'failover', k, N_FO), false);
  const p = await pair();
  expect(p.master.instanceId).toBe(before.slave.instanceId);
  expect(await readOnly(p.master)).toBe('0');
  expect(['1', 'down']).toContain(await readOnly(p.slave));
  const ha = (await db<{ r: number | null }>('SELECT rebuild_instance_id AS r FROM aurora_ha WHERE custins_id = ?', [rec.custins_id]))[0]!;
  expect(Number(ha.r)).toBe(before.master.instanceId);
  const rb = await lab.run(['instance', 'rebuild-standby', NAME, '--yes', '--reason', 'ha-resume']);
  expect({ code: rb.code, err: rb.code ? rb.stderr : '' }).toEqual({ code: 0, err: '' });
  await healthyPair();
  await sameOnStandby(t);
});

const N_RB = REBUILD_STEPS.length;
test.each(Array.from({ length: N_RB - 1 }, (_, i) => i + 1))(`rebuild-standby: runner SIGKILLed after step %i of ${N_RB}, then resumed`, async (k) => {
  const before = await pair();
  await withWriter(() => killAndResume(['instance', 'rebuild-standby', NAME, '--yes', '--reason', 'ha-resume'], 'rebuild_standby', k, N_RB));
  const after = await healthyPair();
  expect(after).toEqual(before);
  const m = (await sql<{ st: string }>(after.master.ip, after.master.port, "SELECT VARIABLE_VALUE AS st FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_CLIENTS'"))[0]!;
  expect(Number(m.st)).toBeGreaterThanOrEqual(1);
});
