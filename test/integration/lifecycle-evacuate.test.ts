import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { InstanceView } from '../../src/rds/show.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// `nc evacuate` of an NC holding 4 RDS nodes (masters and standbys) at concurrency 2: the NC is
// left locked and empty, every instance replicating with its master writable.

jest.setTimeout(1_800_000);

const tag = randomBytes(3).toString('hex');
const names = [0, 1, 2, 3].map((i) => `rm-ev${tag}${i}`);
let lab: TestLab;
let nc = '';

async function db<T>(q: string, params: unknown[] = []): Promise<T[]> {
  const { ctx } = lab.context();
  try {
    return await ctx.db('dbaas').query<T>(q, params);
  } finally {
    await ctx.close();
  }
}

beforeAll(async () => {
  lab = sharedLab();
  for (const name of names) {
    const r = await lab.run(['instance', 'create', '--name', name, '--zone', 'cn-hangzhou-a', '--reason', 'evacuate test']);
    if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  }
});

afterAll(async () => {
  if (nc) await lab.run(['nc', 'unlock', nc, '--reason', 'evacuate test done']);
  for (const name of names) await lab.run(['instance', 'delete', name, '--yes', '--reason', 'evacuate test cleanup']);
});

test('evacuate an NC with 4 nodes at concurrency 2: left locked and empty, every instance healthy', async () => {
  const [m] = await db<{ host_name: string; hostinfo_id: number }>("SELECT i.host_name, i.hostinfo_id FROM instance i JOIN custins c ON c.id = i.custins_id WHERE c.ins_name = ? AND i.role = 'master'", [names[0]]);
  nc = m!.host_name;
  const on = await db<{ ins_name: string; role: string }>("SELECT c.ins_name, i.role FROM instance i JOIN custins c ON c.id = i.custins_id WHERE i.hostinfo_id = ? AND i.status <> 'deleted' AND c.ins_name LIKE ?", [m!.hostinfo_id, `rm-ev${tag}%`]);
  expect(on.length).toBe(4);
  const dry = await lab.run(['nc', 'evacuate', nc, '--reason', 'evacuate test', '--concurrency', '2', '--dry-run']);
  expect(dry.code).toBe(0);
  expect((await db<{ locked: number }>('SELECT locked FROM hostinfo WHERE id = ?', [m!.hostinfo_id]))[0]!.locked).toBe(0);
  const t0 = Date.now();
  const r = await lab.run(['nc', 'evacuate', nc, '--reason', 'evacuate test', '--concurrency', '2', '--yes', '-o', 'json']);
  expect({ code: r.code, err: r.code ? r.stderr : '' }).toEqual({ code: 0, err: '' });
  process.stderr.write(`lifecycle-evacuate: ${nc} with ${on.length} test nodes at concurrency 2: ${Date.now() - t0} ms\n`);
  const rows = json<Array<{ ins_name: string; status: string }>>(r);
  expect(rows.filter((x) => names.includes(x.ins_name)).map((x) => x.status)).toEqual(['done', 'done', 'done', 'done']);
  expect(await db('SELECT id FROM instance WHERE hostinfo_id = ? AND status <> ?', [m!.hostinfo_id, 'deleted'])).toEqual([]);
  expect((await db<{ locked: number; lock_reason: string }>('SELECT locked, lock_reason FROM hostinfo WHERE id = ?', [m!.hostinfo_id]))[0]).toEqual({ locked: 1, lock_reason: 'evacuate test' });
  for (const name of names) {
    const v = json<InstanceView>(await lab.run(['instance', 'show', name, '--live', '-o', 'json']));
    const master = v.live!.find((l) => l.role === 'master')!;
    const slave = v.live!.find((l) => l.role === 'slave')!;
    expect({ name, mro: master.read_only, sro: slave.read_only, io: slave.slave_io_running, sql: slave.slave_sql_running, on: [master.host, slave.host].includes(nc) }).toEqual({ name, mro: false, sro: true, io: 'Yes', sql: 'Yes', on: false });
  }
});
