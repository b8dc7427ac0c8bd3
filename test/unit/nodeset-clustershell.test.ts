import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from '../../src/core/errors.js';
import { expandNodeSet, foldNodeSet } from '../../src/remote/nodeset.js';

// Differential test: ClusterShell 1.9's own answers (written by test/support/nodeset-oracle.py
// through its Python API) for hand-picked and generated expressions. For every expression
// ClusterShell accepts, rdsctl names exactly the same hosts or refuses with a UsageError; it
// never names a different set. Where both accept, the folded spelling is `nodeset -f`'s.

interface Case {
  expr: string;
  ok: boolean;
  count?: number;
  sha256?: string;
  nodes?: string[];
  folded?: string;
  error?: string;
}
interface Fixture {
  clustershell: string;
  default_source: string;
  groups: Record<string, Record<string, string>>;
  cases: Case[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/nodeset-clustershell.json', import.meta.url), 'utf8')) as Fixture;

const resolve = async (kind: string, name: string): Promise<string[]> => {
  const source = fixture.groups[kind || fixture.default_source];
  if (!source) throw new Error(`unexpected group source ${kind}`);
  if (name === '*') return Object.values(source);
  const g = source[name];
  if (g === undefined) throw new Error(`unexpected group ${kind}:${name}`);
  return [g];
};

// Accepted by ClusterShell, refused by rdsctl on purpose (README, "Node sets"): each one a documented difference.
const REFUSED_ON_PURPOSE: Array<[RegExp, string]> = [
  [/negative numbers/, 'negative ranges'],
  [/not a host name or bracket pattern|is not allowed in a host name/, 'characters outside [A-Za-z0-9_.:-]'],
  [/space before "\/"/, 'a space before a step'],
  [/bad range .* in "\d+-\d+-\d+/, 'N-M-K, which ClusterShell reads as the negative range -M..K'],
  [/^empty node set$/, 'an empty node set (no hosts is never what a fan-out means)'],
  [/more than 100000 (names|nodes|elements)/, `more than ${100_000} names`],
];

const sha = (names: string[]): string => createHash('sha256').update([...names].sort(byCodePoint).join('\n')).digest('hex');
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function outcome(expr: string): Promise<{ names: string[] } | { refused: string }> {
  try {
    return { names: await expandNodeSet(expr, resolve) };
  } catch (e) {
    if (e instanceof UsageError) return { refused: e.message };
    throw e;
  }
}

test('the fixture is ClusterShell 1.9 and has several hundred cases', () => {
  expect(fixture.clustershell).toMatch(/^1\.9/);
  expect(fixture.cases.length).toBeGreaterThanOrEqual(500);
  expect(fixture.cases.filter((c) => c.ok).length).toBeGreaterThanOrEqual(300);
});

describe.each(fixture.cases.filter((c) => c.ok).map((c) => [c.expr, c] as const))('ClusterShell accepts %j', (_expr, c) => {
  test('rdsctl names the same hosts, or refuses on purpose', async () => {
    const got = await outcome(c.expr);
    if ('refused' in got) {
      const why = REFUSED_ON_PURPOSE.find(([re]) => re.test(got.refused));
      expect({ expr: c.expr, refused: got.refused, documented: why?.[1] ?? null }).toEqual({ expr: c.expr, refused: got.refused, documented: expect.any(String) });
      return;
    }
    if (c.nodes) expect([...got.names].sort(byCodePoint)).toEqual(c.nodes);
    expect(got.names).toHaveLength(c.count!);
    expect(sha(got.names)).toBe(c.sha256);
    expect(new Set(got.names).size).toBe(got.names.length);
  });

  test('folds as nodeset -f does', async () => {
    const got = await outcome(c.expr);
    if ('names' in got) expect(foldNodeSet(got.names)).toBe(c.folded);
  });
});

test.each(fixture.cases.filter((c) => !c.ok).map((c) => [c.expr, c.error] as const))('ClusterShell refuses %j (%s): so does rdsctl', async (expr) => {
  const got = await outcome(expr);
  expect(got).toEqual({ refused: expect.any(String) });
});
