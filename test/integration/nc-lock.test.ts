import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { Context } from '../../src/core/context.js';
import type { NcLockState } from '../../src/houyi/nc-lock.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { oneErrorLine } from '../support/redlines.js';
import { json } from '../support/run.js';

// `nc lock|unlock` on the shared lab's houyi. The NCs used are not the ones the red-line tests
// pick (the first online hostnames), and every row is put back as it was in afterAll.

jest.setTimeout(60_000);

interface Row {
  hostname: string;
  ip: string;
  status: string;
  locked: number;
  lock_reason: string | null;
}

const tag = randomBytes(3).toString('hex');
let lab: TestLab;
let ctx: Context;
let online: Row;
let offline: Row;

const row = async (hostname: string): Promise<Row> => (await ctx.db('houyi').query<Row>('SELECT hostname, ip, status, locked, lock_reason FROM nc WHERE hostname = ?', [hostname]))[0]!;

beforeAll(async () => {
  lab = sharedLab();
  ctx = lab.context().ctx;
  [online] = (await ctx.db('houyi').query<Row>("SELECT hostname, ip, status, locked, lock_reason FROM nc WHERE status = 'online' AND locked = 0 ORDER BY hostname DESC LIMIT 1")) as [Row];
  [offline] = (await ctx.db('houyi').query<Row>("SELECT hostname, ip, status, locked, lock_reason FROM nc WHERE status = 'offline' AND locked = 0 ORDER BY hostname DESC LIMIT 1")) as [Row];
  expect(online && offline).toBeTruthy();
});

afterAll(async () => {
  try {
    for (const r of [online, offline].filter(Boolean)) {
      await ctx.db('houyi').execute('UPDATE nc SET status = ?, locked = ?, lock_reason = ? WHERE hostname = ?', [r.status, r.locked, r.lock_reason, r.hostname]);
    }
  } finally {
    await ctx.close();
  }
});

test('lock then unlock an online NC: houyi row, go2ncinfo, audit with the reason', async () => {
  const reason = `disk SMART warning ${tag}`;
  const dry = await lab.run(['nc', 'lock', online.hostname, '--reason', reason, '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain(`targets (1): ${online.hostname} (${online.ip})`);
  expect(dry.stdout).toMatch(/^sql \[houyi\]: UPDATE nc SET locked = 1, lock_reason = \?/m);
  expect(dry.stdout).toContain('note: status online -> locked, locked no -> yes');
  expect(await row(online.hostname)).toEqual(online);

  const lock = await lab.run(['nc', 'lock', online.hostname, '--reason', reason, '-o', 'json']);
  expect(lock.code).toBe(0);
  expect(json<NcLockState>(lock)).toMatchObject({ nc_name: online.hostname, ip: online.ip, status: 'locked', locked: true, lock_reason: reason });
  expect(await row(online.hostname)).toEqual({ ...online, status: 'locked', locked: 1, lock_reason: reason });
  const info = json<{ locked: boolean; lock_reason: string; status: string }>(await lab.run(['go2ncinfo', online.hostname, '-o', 'json']));
  expect(info).toMatchObject({ locked: true, lock_reason: reason, status: 'locked' });

  const again = await lab.run(['nc', 'lock', online.hostname, '--reason', 'another reason']);
  expect(again.code).toBe(9);
  expect(oneErrorLine(again.stderr)).toBe(`rdsctl: NC ${online.hostname} is already locked (${reason}); unlock it first to change the reason`);
  expect((await row(online.hostname)).lock_reason).toBe(reason);

  // By IP, table output.
  const unlock = await lab.run(['nc', 'unlock', online.ip, '--reason', `disk replaced ${tag}`]);
  expect(unlock.code).toBe(0);
  expect(unlock.stdout.split('\n')[0]).toMatch(/^NC\s+IP\s+STATUS\s+LOCKED\s+REASON$/);
  expect(unlock.stdout.split('\n')[1]).toMatch(new RegExp(`^${online.hostname}\\s+${online.ip.replace(/\./g, '\\.')}\\s+online\\s+no\\s*$`));
  expect(await row(online.hostname)).toEqual(online);
  const twice = await lab.run(['nc', 'unlock', online.hostname, '--reason', 'x']);
  expect(twice.code).toBe(9);
  expect(oneErrorLine(twice.stderr)).toBe(`rdsctl: NC ${online.hostname} is not locked (status online)`);

  const audit = ctx.audit().readLocal().filter((r) => r.reason === reason || r.reason === `disk replaced ${tag}`);
  expect(audit.map((r) => [r.phase, r.command, r.targets, r.ok])).toEqual([
    ['intent', 'nc lock', [online.hostname], undefined],
    ['result', 'nc lock', [online.hostname], true],
    ['intent', 'nc unlock', [online.hostname], undefined],
    ['result', 'nc unlock', [online.hostname], true],
  ]);
});

test('an offline NC keeps its status when locked and unlocked', async () => {
  const lock = await lab.run(['nc', 'lock', offline.hostname, '--reason', `power supply ${tag}`, '-o', 'json']);
  expect(lock.code).toBe(0);
  expect(await row(offline.hostname)).toEqual({ ...offline, locked: 1, lock_reason: `power supply ${tag}` });
  expect((await lab.run(['nc', 'unlock', offline.hostname, '--reason', `replaced ${tag}`])).code).toBe(0);
  expect(await row(offline.hostname)).toEqual(offline);
});

test('a locked RDS NC gets no new instance: hostinfo carries the lock, allocation skips it', async () => {
  const dbaas = ctx.db('dbaas');
  // A zone with exactly two online RDS hosts: locking one leaves no pair for a create there.
  const zones = await dbaas.query<{ zone: string; n: number }>("SELECT zone, COUNT(*) AS n FROM hostinfo WHERE status = 'online' AND locked = 0 GROUP BY zone HAVING n = 2 ORDER BY zone");
  expect(zones.length).toBeGreaterThan(0);
  const zone = zones[0]!.zone;
  const [h] = await dbaas.query<{ hostname: string }>("SELECT hostname FROM hostinfo WHERE zone = ? AND status = 'online' ORDER BY hostname LIMIT 1", [zone]);
  const reason = `allocation check ${tag}`;
  const hostinfo = async () => (await dbaas.query<{ locked: number; lock_reason: string | null }>('SELECT locked, lock_reason FROM hostinfo WHERE hostname = ?', [h!.hostname]))[0];
  const dry = await lab.run(['nc', 'lock', h!.hostname, '--reason', reason, '--dry-run']);
  expect(dry.stdout).toMatch(/^sql \[dbaas\]: UPDATE hostinfo SET locked = 1, lock_reason = \? WHERE hostname = \?/m);
  expect(await hostinfo()).toEqual({ locked: 0, lock_reason: null });
  expect((await lab.run(['nc', 'lock', h!.hostname, '--reason', reason])).code).toBe(0);
  try {
    expect(await hostinfo()).toEqual({ locked: 1, lock_reason: reason });
    const create = await lab.run(['instance', 'create', '--dry-run', '--zone', zone, '-o', 'json']);
    expect({ code: create.code, line: oneErrorLine(create.stderr) }).toEqual({ code: 8, line: expect.stringMatching(new RegExp(`^rdsctl: zone ${zone}: no two online unlocked hosts with room`)) });
  } finally {
    expect((await lab.run(['nc', 'unlock', h!.hostname, '--reason', `done ${tag}`])).code).toBe(0);
  }
  expect(await hostinfo()).toEqual({ locked: 0, lock_reason: null });
  const create = await lab.run(['instance', 'create', '--dry-run', '--zone', zone, '-o', 'json']);
  expect(create.code).toBe(0);
  expect(create.stdout).toContain(h!.hostname);
});

test('bad input: one line, its exit code, nothing written', async () => {
  const before = await row(online.hostname);
  const cases: Array<[string[], number, RegExp]> = [
    [['nc', 'lock', online.hostname], 2, /^rdsctl: --reason is required/],
    [['nc', 'unlock', online.hostname], 2, /^rdsctl: --reason is required/],
    [['nc', 'lock', online.hostname, '--reason', 'x'.repeat(256)], 2, /^rdsctl: --reason is 256 characters; houyi keeps at most 255$/],
    [['nc', 'lock', online.hostname, '--reason', '  '], 2, /^rdsctl: --reason must be one line/],
    [['nc', 'lock', `${online.hostname.slice(0, -1)}zz`, '--reason', 'x'], 3, new RegExp(`not found in houyi .*did you mean: .*${online.hostname.slice(0, -1)}`)],
    [['nc', 'unlock', 'no-such-nc', '--reason', 'x'], 3, /^rdsctl: NC "no-such-nc" not found in houyi/],
  ];
  for (const [args, code, line] of cases) {
    const r = await lab.run(args);
    expect({ args, code: r.code, line: oneErrorLine(r.stderr) }).toEqual({ args, code, line: expect.stringMatching(line) });
  }
  expect(await row(online.hostname)).toEqual(before);
});
