// "Did you mean", the one implementation (NCs, VMs, instances, steps, Tianji, Pangu, VPC names):
// near matches for a name that matched nothing. The exact-match path never scans;
// this one runs only after a miss, and only as bounded prefix range scans (LIKE 'prefix%' on an
// indexed column, LIMIT n), shortest prefix last, so a typo late in a name is found cheaply and a
// garbage name costs a handful of empty index probes.

/** Candidates per probe: enough to rank, small enough that a probe is one short range scan. */
export const PROBE_LIMIT = 20;
const MIN_PREFIX = 3;
const MAX_NAME = 128;

/** `value%` for LIKE with the value's own wildcards and the escape character escaped. */
export function likePrefix(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

export function isIpv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return Boolean(m && m.slice(1).every((o) => Number(o) <= 255));
}

export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Prefix lengths to probe, longest first: a typo near the end is found by the first probes. */
export function probeLengths(name: string): number[] {
  const L = Math.min(name.length, MAX_NAME);
  const lens = [L, L - 1, L - 2, Math.ceil((L * 2) / 3), Math.ceil(L / 2), MIN_PREFIX];
  return [...new Set(lens.filter((n) => n >= MIN_PREFIX && n <= L))].sort((x, y) => y - x);
}

/** How far a candidate may be from the name and still be offered. */
function maxDistance(name: string): number {
  return Math.max(2, Math.ceil(name.length * 0.4));
}

/** The closest candidates, nearest first, ties by name; at most `limit`. */
export function rankNear(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const cap = maxDistance(name);
  return [...new Set(candidates)]
    .filter((c) => c !== name)
    .map((c) => ({ c, d: editDistance(name.toLowerCase(), c.toLowerCase()) }))
    .filter((x) => x.d <= cap)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, limit)
    .map((x) => x.c);
}

/**
 * Near matches through `search(likePattern)`, which must run one bounded, indexed prefix query.
 * Stops probing as soon as enough close candidates are in hand.
 */
export async function nearByPrefix(name: string, search: (likePattern: string) => Promise<string[]>, limit = 3): Promise<string[]> {
  if (!name || /[\0\r\n]/.test(name)) return [];
  const found = new Set<string>();
  for (const len of probeLengths(name)) {
    for (const c of await search(likePrefix(name.slice(0, len)))) found.add(c);
    if (rankNear(name, found, limit).length >= limit) break;
  }
  return rankNear(name, found, limit);
}
