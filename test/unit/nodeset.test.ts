import { expandNodeSet, expandPattern, foldNodeSet, MAX_NODES } from '../../src/remote/nodeset.js';
import { UsageError } from '../../src/core/errors.js';

// A group table that fails on any group it was not told about (DESIGN convention 9).
const groups: Record<string, string[]> = {
  'cluster:c1': ['nc-a01', 'nc-a02', 'nc-a03'],
  'cluster:c2': ['nc-b[01-02]'],
  'zone:z1': ['nc-a02', 'nc-b01'],
  ':legacy': ['old1'],
  'cluster:rack1': ['r1n1'],
  'cluster:rack2': ['r2n1'],
  'cluster:evil': ['x,y'],
};
const calls: string[] = [];
const resolve = async (kind: string, name: string): Promise<string[]> => {
  calls.push(`${kind}:${name}`);
  const g = groups[`${kind}:${name}`];
  if (!g) throw new Error(`unexpected group lookup ${kind}:${name}`);
  return g;
};
const ex = (s: string): Promise<string[]> => expandNodeSet(s, resolve);

async function usage(s: string, part?: string | RegExp): Promise<void> {
  const p = ex(s);
  await expect(p).rejects.toBeInstanceOf(UsageError);
  if (part !== undefined) await expect(p).rejects.toThrow(part);
}

describe('expandNodeSet', () => {
  test.each<[string, string[]]>([
    ['nc-a01', ['nc-a01']],
    ['nc-a[01-03]', ['nc-a01', 'nc-a02', 'nc-a03']],
    ['nc-a[1-3]', ['nc-a1', 'nc-a2', 'nc-a3']],
    ['nc-a[08-11]', ['nc-a08', 'nc-a09', 'nc-a10', 'nc-a11']],
    ['n[001-002]', ['n001', 'n002']],
    ['n[98-101]', ['n98', 'n99', 'n100', 'n101']],
    ['n[1,3,5-7]', ['n1', 'n3', 'n5', 'n6', 'n7']],
    ['n[1-9/3]', ['n1', 'n4', 'n7']],
    ['n[0-10/5]', ['n0', 'n5', 'n10']],
    ['n[ 1 , 2 ]', ['n1', 'n2']],
    ['r[1-2]-nc[01-02]', ['r1-nc01', 'r1-nc02', 'r2-nc01', 'r2-nc02']],
    ['[1-2]x', ['1x', '2x']],
    ['a,b,c', ['a', 'b', 'c']],
    [' a , b ', ['a', 'b']],
    ['a,b,a', ['a', 'b']],
    ['n[3,1,2]', ['n3', 'n1', 'n2']],
    ['n[1-3],n2', ['n1', 'n2', 'n3']],
    ['127.0.0.5', ['127.0.0.5']],
    ['127.0.0.[1-3]', ['127.0.0.1', '127.0.0.2', '127.0.0.3']],
    ['127.0.[0-1].[1-2]', ['127.0.0.1', '127.0.0.2', '127.0.1.1', '127.0.1.2']],
    ['n[1-5]!n3', ['n1', 'n2', 'n4', 'n5']],
    ['n[1-5]!n[2-3]!n5', ['n1', 'n4']],
    ['n[1-5]&n[4-9]', ['n4', 'n5']],
    // Left to right, no precedence: (n1 ∪ n2) \ n2 ∪ n2 = n1, n2
    ['n1,n2!n2,n2', ['n1', 'n2']],
    // (n[1-3] ∩ n[2-9]) ∪ n7
    ['n[1-3]&n[2-9],n7', ['n2', 'n3', 'n7']],
    ['n1!n1', []],
    ['host_1.example-x:22', ['host_1.example-x:22']],
  ])('%s', async (expr, want) => {
    expect(await ex(expr)).toEqual(want);
  });

  test('groups resolve through the callback, with and without a kind, and mix with operators', async () => {
    calls.length = 0;
    expect(await ex('@cluster:c1')).toEqual(['nc-a01', 'nc-a02', 'nc-a03']);
    expect(await ex('@cluster:c2,nc-x1')).toEqual(['nc-b01', 'nc-b02', 'nc-x1']);
    expect(await ex('@cluster:c1!@zone:z1')).toEqual(['nc-a01', 'nc-a03']);
    expect(await ex('@cluster:c1,@cluster:c2&@zone:z1')).toEqual(['nc-a02', 'nc-b01']);
    expect(await ex('@legacy')).toEqual(['old1']);
    expect(await ex('@cluster:rack[1-2]')).toEqual(['r1n1', 'r2n1']);
    expect(calls).toEqual(['cluster:c1', 'cluster:c2', 'cluster:c1', 'zone:z1', 'cluster:c1', 'cluster:c2', 'zone:z1', ':legacy', 'cluster:rack1', 'cluster:rack2']);
  });

  test('a group member that smuggles an operator is refused', async () => {
    await usage('@cluster:evil', /member "x,y"/);
  });

  test('errors from the resolver propagate', async () => {
    await expect(ex('@cluster:nope')).rejects.toThrow('unexpected group lookup cluster:nope');
  });

  test.each<[string, string | RegExp]>([
    ['', 'empty node set'],
    ['   ', 'empty node set'],
    ['a,,b', 'empty name'],
    ['a,', 'empty name at the end'],
    [',a', '"," needs a node set on its left'],
    ['!a', '"!" needs a node set on its left'],
    ['&a', '"&" needs a node set on its left'],
    ['a!', 'empty name at the end'],
    ['nc-a[01-03', 'unclosed "[" in "nc-a[01-03"'],
    ['nc-a01-03]', '"]" without "["'],
    ['nc[[1-2]]', 'nested "["'],
    ['nc[]', 'empty "[]"'],
    ['nc[5-1]', 'reversed range in "5-1"'],
    ['nc[1-9/0]', 'step 0 in "1-9/0"'],
    ['nc[a-b]', 'bad range (expected N, N-M or N-M/STEP) in "a-b"'],
    ['nc[1-2-3]', 'bad range (expected N, N-M or N-M/STEP) in "1-2-3"'],
    ['nc[-1]', 'negative numbers are not supported'],
    ['nc[1,,2]', 'empty range'],
    ['nc[1-100001]', `more than ${MAX_NODES}`],
    ['a[1-1000]b[1-1000]', `more than ${MAX_NODES}`],
    ['nc[1-9999999999999999]', 'number too large'],
    ['nc a01', '" " is not allowed'],
    ['nc;rm -rf /', 'is not allowed in a host name'],
    ['$(reboot)', 'is not allowed in a host name'],
    ['`id`', 'is not allowed'],
    ['a|b', 'is not allowed'],
    ['a\nb', 'is not allowed'],
    ['nc\u00e9', 'is not allowed'],
    ['@', 'bad group'],
    ['@cluster:', 'bad group'],
    ['@clu;ster:x', '";" is not allowed'],
    ['n*', 'wildcards'],
    ['@@cluster', '@@source'],
    ['@:x', 'bad group'],
    ['@cluster:a*', 'bad group'],
    ['n0[1-10]', 'zero padding of different widths in "01-010"'],
    ['n[1-010]', 'zero padding of different widths'],
    ['n[1-2][3-4]', 'a bracket right after a bracket'],
    ['n[1-9/2]0', 'digits after a range with a step'],
  ])('refuses %j', async (expr, part) => {
    await usage(expr, part);
  });

  test('a huge union is refused before it exhausts memory', async () => {
    const expr = Array.from({ length: 3 }, (_, i) => `r${i}n[1-40000]`).join(',');
    await usage(expr, `more than ${MAX_NODES}`);
  });

  test('hostile long input gives a short one-line message', async () => {
    const expr = `${'a'.repeat(10_000)}[1-\n`;
    const err = await ex(expr).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message.length).toBeLessThan(300);
    expect((err as Error).message).not.toContain('\n');
  });

  test('the maximum itself is allowed', () => {
    expect(expandPattern(`n[1-${MAX_NODES}]`)).toHaveLength(MAX_NODES);
  });
});

describe('foldNodeSet', () => {
  test.each<[string[], string]>([
    [['nc-a01', 'nc-a02', 'nc-a03', 'nc-b01'], 'nc-a[01-03],nc-b01'],
    [['nc-a03', 'nc-a01', 'nc-a02'], 'nc-a[01-03]'],
    [['n1', 'n2', 'n3', 'n5', 'n7', 'n8'], 'n[1-3,5,7-8]'],
    [['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8', 'n9', 'n10', 'n11', 'n12'], 'n[1-12]'],
    [['n08', 'n09', 'n10', 'n11'], 'n[08-11]'],
    [['n098', 'n099', 'n100'], 'n[098-100]'],
    [['n1', 'n01'], 'n[1,01]'],
    [['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.10'], '127.0.0.[1-3,10]'],
    [['127.0.0.1', '127.0.1.1'], '127.0.[0-1].1'],
    [Array.from({ length: 1000 }, (_, i) => `artcore${i + 1}-ib0`), 'artcore[1-1000]-ib0'],
    [['r1-nc01', 'r1-nc02', 'r2-nc01', 'r2-nc02'], 'r[1-2]-nc[01-02]'],
    [['r1-nc01', 'r1-nc02', 'r2-nc01'], 'r1-nc[01-02],r2-nc01'],
    [['web', 'db', 'web'], 'db,web'],
    [['n1a', 'n2a', 'n3b'], 'n[1-2]a,n3b'],
    [['solo7'], 'solo7'],
    [[], ''],
  ])('%j → %s', (names, want) => {
    expect(foldNodeSet(names)).toBe(want);
  });

  test('refuses names that would corrupt the folded syntax', () => {
    expect(() => foldNodeSet(['a,b'])).toThrow(UsageError);
    expect(() => foldNodeSet(['a[1]'])).toThrow(UsageError);
    expect(() => foldNodeSet([''])).toThrow(UsageError);
  });

  test('fold then expand gives back the same names', async () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const names = new Set<string>();
      for (let i = 0; i < 40; i++) {
        const pad = rnd(3);
        const num = String(rnd(120)).padStart(pad + 1, '0');
        names.add(`${['nc-a', 'nc-b', 'vm', '10.0.0.'][rnd(4)]}${num}${['', '-x'][rnd(2)]}`);
      }
      const folded = foldNodeSet([...names]);
      expect(new Set(await ex(folded))).toEqual(names);
    }
  });
});

describe('bounded time: any input up to 128 KiB expands or is refused within 1 s', () => {
  const KIB128 = 128 * 1024;
  const fill = (unit: string, lead = '', tail = ''): string => lead + unit.repeat(Math.floor((KIB128 - lead.length - tail.length) / unit.length)) + tail;
  test.each<[string, string]>([
    ['unions of one name', fill('a,', '', 'a')],
    ['unions of ranges', fill('n[1-99999],', '', 'n1')],
    ['intersections with a full set', fill('&n[1-99999]', 'n[1-99999]')],
    ['differences from a full set', fill('!n[1-9]', 'n[1-99999]')],
    ['xor chains', fill('^n[1-99999]', 'n[1-99999]')],
    ['one long name', fill('a')],
    ['one bracket with many values', fill('1,', 'n[', '1]')],
    ['digits before a bracket with many runs', fill('1,3,', 'n2[', '5]')],
    ['digits after a bracket with many runs', fill('1-2,', 'n[', '5]0')],
    ['many brackets in one name', fill('x[1-2]', 'n')],
    ['unclosed brackets', fill('[')],
    ['many group references', fill(',@cluster:c1', 'n1')],
    ['past the limit', `${'a,'.repeat(KIB128)}a`],
  ])('%s', async (_what, expr) => {
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const out = await ex(expr).then(
      (names) => `expanded to ${names.length}`,
      (e: Error) => {
        expect(e).toBeInstanceOf(UsageError);
        expect(e.message).not.toContain('\n');
        expect(e.message.length).toBeLessThan(300);
        return 'refused';
      },
    );
    const cpu = process.cpuUsage(cpu0);
    // CPU time, not wall time: the bound is on the work, and the test machine may be loaded.
    expect({ out, cpuMs: (cpu.user + cpu.system) / 1000 < 1000 }).toEqual({ out, cpuMs: true });
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
});
