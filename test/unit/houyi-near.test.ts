import { editDistance, isIpv4, likePrefix, nearByPrefix, probeLengths, rankNear } from '../../src/core/near.js';

describe('near matches', () => {
  it('escapes LIKE wildcards and the escape character in a prefix', () => {
    expect(likePrefix('nc-a0')).toBe('nc-a0%');
    expect(likePrefix('a%b_c\\d')).toBe('a\\%b\\_c\\\\d%');
  });

  it('knows IPv4 addresses', () => {
    expect(isIpv4('127.0.0.1')).toBe(true);
    expect(isIpv4('10.255.1.0')).toBe(true);
    expect(isIpv4('256.1.1.1')).toBe(false);
    expect(isIpv4('1.2.3')).toBe(false);
    expect(isIpv4('nc-a01')).toBe(false);
    expect(isIpv4('1.2.3.4\n')).toBe(false);
  });

  it('measures edit distance', () => {
    expect(editDistance('nc-a01', 'nc-a01')).toBe(0);
    expect(editDistance('nc-a1', 'nc-a01')).toBe(1);
    expect(editDistance('vm-010', 'vm-001')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('probes a handful of prefix lengths, longest first, never shorter than 3', () => {
    expect(probeLengths('nc-a99')).toEqual([6, 5, 4, 3]);
    expect(probeLengths('ab')).toEqual([]);
    const long = probeLengths('x'.repeat(500));
    expect(long.length).toBeLessThanOrEqual(6);
    expect(Math.max(...long)).toBe(128);
  });

  it('ranks the nearest three and drops far ones', () => {
    expect(rankNear('nc-a13', ['nc-a01', 'nc-a12', 'nc-a11', 'nc-a03', 'zzzzzz'])).toEqual(['nc-a03', 'nc-a11', 'nc-a12']);
    expect(rankNear('nc-a01', ['nc-a01'])).toEqual([]);
    expect(rankNear('nc-a01; rm -rf /', ['nc-a01'])).toEqual([]);
  });

  it('searches with escaped prefixes only, stopping once three close names are found', async () => {
    const names = ['nc-a01', 'nc-a02', 'nc-a03', 'nc-a10', 'nc-a11', 'nc-a12'];
    const asked: string[] = [];
    const search = async (pattern: string): Promise<string[]> => {
      asked.push(pattern);
      if (!pattern.endsWith('%')) throw new Error(`unexpected pattern ${pattern}`);
      const prefix = pattern.slice(0, -1).replace(/\\(.)/g, '$1');
      return names.filter((n) => n.startsWith(prefix));
    };
    expect(await nearByPrefix('nc-a13', search)).toEqual(['nc-a10', 'nc-a11', 'nc-a12']);
    expect(asked).toEqual(['nc-a13%', 'nc-a1%']);
  });

  it('never searches for names with newlines or NUL', async () => {
    const search = async (): Promise<string[]> => {
      throw new Error('must not be called');
    };
    expect(await nearByPrefix('a\nb', search)).toEqual([]);
    expect(await nearByPrefix('a\0b', search)).toEqual([]);
    expect(await nearByPrefix('', search)).toEqual([]);
  });
});
