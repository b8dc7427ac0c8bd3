import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// An unknown value in a list filter is a not-found with near matches (exit 3), as an unknown name
// is everywhere else; a known value with nothing under it is an empty list (exit 0).

jest.setTimeout(60_000);

let lab: TestLab;
let rdsNc: { hostname: string; zone: string };
beforeAll(async () => {
  lab = sharedLab();
  const { ctx } = lab.context();
  try {
    [rdsNc] = (await ctx.db('dbaas').query<{ hostname: string; zone: string }>('SELECT hostname, zone FROM hostinfo ORDER BY hostname LIMIT 1')) as [typeof rdsNc];
  } finally {
    await ctx.close();
  }
});

test.each([
  ['--nc', () => `${rdsNc.hostname.slice(0, -1)}9`, () => rdsNc.hostname],
  ['--zone', () => `${rdsNc.zone}x`, () => rdsNc.zone],
])('instance list %s with an unknown value: exit 3, one line, near matches', async (flag, bad, near) => {
  const r = await lab.run(['instance', 'list', flag, bad()]);
  expect(r.code).toBe(3);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^rdsctl: ${flag} .*did you mean: .*${near()}`));
});

test('instance list --nc and --zone with known values and no instances there: an empty list, exit 0', async () => {
  // Nothing in the shared lab stays in state deleting (tests run one at a time).
  for (const args of [['--nc', rdsNc.hostname, '--status', 'deleting'], ['--zone', rdsNc.zone, '--status', 'deleting']]) {
    const r = await lab.run(['instance', 'list', ...args, '-o', 'json']);
    expect(r.code).toBe(0);
    expect(json<unknown[]>(r)).toEqual([]);
  }
});
