import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// #16 "wrong targets": instance A's standby row is pointed at instance B's standby (host, ip,
// port), as a metadb written by other systems can be. `instance delete A` must check on the host
// that the port's files are A's (ins_name file, my.cnf), refuse with a conflict naming the
// owner, and leave B's standby running with its files in place.

jest.setTimeout(600_000);

const tag = randomBytes(3).toString('hex');
const A = `rm-xa${tag}`;
const B = `rm-xb${tag}`;
let lab: TestLab;
let a: InstanceRecord;
let b: InstanceRecord;
type Place = { id: number; hostinfo_id: number; host_name: string; ip: string; port: number };
let rows: { a: Place; b: Place } | undefined;

async function q<T = Record<string, unknown>>(sql: string, params: unknown[]): Promise<T[]> {
  const { ctx } = lab.context();
  try {
    return await ctx.db('dbaas').query<T>(sql, params);
  } finally {
    await ctx.close();
  }
}

beforeAll(async () => {
  lab = sharedLab();
  for (const n of [A, B]) {
    const r = await lab.run(['instance', 'create', '--name', n, '-o', 'json']);
    if (r.code !== 0) throw new Error(`create ${n}: ${r.stderr}`);
    if (n === A) a = json<InstanceRecord>(r);
    else b = json<InstanceRecord>(r);
  }
});

const place = (p: Place, id: number): Promise<unknown> => q('UPDATE instance SET hostinfo_id = ?, host_name = ?, ip = ?, port = ? WHERE id = ?', [p.hostinfo_id, p.host_name, p.ip, p.port, id]);

/** Swap the two standby rows' places (a unique key on host and port needs a free port in between). */
async function swap(x: Place, y: Place): Promise<void> {
  await q('UPDATE instance SET port = 1 WHERE id = ?', [x.id]);
  await place(x, y.id);
  await place(y, x.id);
}

async function restore(): Promise<void> {
  if (!rows) return;
  await q('UPDATE instance SET port = 1 WHERE id = ?', [rows.a.id]);
  await place(rows.b, rows.b.id);
  await place(rows.a, rows.a.id);
  rows = undefined;
}

afterAll(async () => {
  await restore();
  for (const n of [A, B]) {
    const r = await lab.run(['instance', 'delete', n, '--yes', '--reason', 'delete-crossed cleanup']);
    if (r.code !== 0 && r.code !== 3) throw new Error(`delete ${n}: ${r.stderr}`);
  }
});

test("delete A with A's standby row crossed onto B's standby: refused on the host (exit 9), B's standby untouched", async () => {
  const sel = "SELECT id, hostinfo_id, host_name, ip, port FROM instance WHERE custins_id = ? AND role = 'slave'";
  const [ra] = await q<Place>(sel, [a.custins_id]);
  const [rb] = await q<Place>(sel, [b.custins_id]);
  rows = { a: ra!, b: rb! };
  await swap(rows.a, rows.b);

  const d = await lab.run(['instance', 'delete', A, '--yes', '--reason', 'crossed rows']);
  expect(d.code).toBe(9);
  const errs = d.stderr.split('\n').filter((l) => l.startsWith('rdsctl:'));
  expect(errs.join('\n')).toContain(`${b.slave!.host}: refused: port ${b.slave!.port} on this host belongs to ${B}`);

  await restore();
  const v = json<InstanceView>(await lab.run(['instance', 'show', B, '--live', '-o', 'json']));
  expect(v.live!.map((l) => [l.role, l.reachable, l.slave_io_running, l.slave_sql_running])).toEqual([
    ['master', true, 'Yes', 'Yes'],
    ['slave', true, 'Yes', 'Yes'],
  ]);
});
