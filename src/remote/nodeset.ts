import { UsageError } from '../core/errors.js';

// ClusterShell 1.9 node-set syntax, as operators already type it for clush. For every expression
// ClusterShell accepts, rdsctl names exactly the same hosts or refuses with one line; it never
// targets a different set (test/unit/nodeset-clustershell.test.ts checks several hundred
// expressions against ClusterShell's own answers). The rules, all ClusterShell's:
//   nc-a[01-12]          ranges keep their zero padding; "01-010" (padding of different widths) is refused
//   r[1-2]-nc[01-03]     several brackets make a cartesian product
//   nc-a[1,3,5-7/2]      lists and steps inside brackets, whitespace around numbers ignored
//   prod-2[10-320]       digits before a bracket join the bounds: prod-[210-2320], not prod-2 + 10…320
//   n[1-3]0              digits after a bracket shift the range: n[10-30/10]
//   @cluster:NAME, @NAME groups (bare: the profile's default group source), @cluster:* all of a source
//   a,b!c&d^e            union, difference, intersection, xor: left to right, no precedence
// rdsctl refuses what ClusterShell would accept but a jump host should not guess at (README,
// "Node sets"): wildcards (n*), @@source, negative numbers, numbers over 15 digits, characters
// outside [A-Za-z0-9_.:-] in a name. Dots are not separators, so IP addresses are names.
// Work is bounded: every generated name counts against MAX_WORK, so any input up to
// MAX_EXPR_BYTES expands or is refused in well under a second, whatever its shape.

/** Largest number of names one range, one pattern or one whole expression may produce. */
export const MAX_NODES = 100_000;
/** Names generated in total (all terms, all set operations) before an expression is refused. */
export const MAX_WORK = 300_000;
/** Longest expression read at all. */
export const MAX_EXPR_BYTES = 128 * 1024;
/** Most group lookups one expression may make (each is a metadb query). */
export const MAX_GROUP_LOOKUPS = 256;

/**
 * Members of group `name` in group source `kind` ('' for the default source). `name` is '*' for
 * every node of the source (`@cluster:*`, `@*`).
 */
export type GroupResolver = (kind: string, name: string) => Promise<string[]>;

const NAME_CHARS = /^[A-Za-z0-9_.:-]*$/;
const OPERATORS = ',!&^';
const MAX_DIGITS = 15;

interface Budget {
  work: number;
  lookups: number;
  expr: string;
}

/**
 * Expand a node set into host names, first-seen order, no duplicates. Groups are resolved through
 * `resolveGroup`; their members may use bracket syntax and operators but not further groups.
 */
export async function expandNodeSet(expr: string, resolveGroup: GroupResolver): Promise<string[]> {
  if (typeof expr !== 'string') throw new UsageError('empty node set');
  if (expr.length > MAX_EXPR_BYTES) throw new UsageError(`node set of ${expr.length} characters is longer than ${MAX_EXPR_BYTES}`);
  const budget: Budget = { work: 0, lookups: 0, expr };
  return [...(await evaluate(expr, budget, resolveGroup))];
}

async function evaluate(expr: string, budget: Budget, resolveGroup: GroupResolver | null): Promise<Set<string>> {
  const terms = splitTerms(expr, budget.expr);
  let acc = new Set<string>();
  for (const { op, text } of terms) {
    const names = text.startsWith('@') ? await expandGroup(text, budget, resolveGroup) : expandOperand(text, budget);
    if (op === ',') {
      for (const n of names) acc.add(n);
      if (acc.size > MAX_NODES) throw new UsageError(`node set "${clip(budget.expr)}" has more than ${MAX_NODES} nodes`);
    } else if (op === '!') {
      for (const n of names) acc.delete(n);
    } else if (op === '&') {
      spend(budget, acc.size);
      const keep = names instanceof Set ? names : new Set(names);
      acc = new Set([...acc].filter((n) => keep.has(n)));
    } else {
      // ^: ClusterShell's symmetric difference; the right side's new names go last.
      const right = names instanceof Set ? names : new Set(names);
      spend(budget, right.size);
      for (const n of right) {
        if (acc.has(n)) acc.delete(n);
        else acc.add(n);
      }
      if (acc.size > MAX_NODES) throw new UsageError(`node set "${clip(budget.expr)}" has more than ${MAX_NODES} nodes`);
    }
  }
  return acc;
}

function spend(budget: Budget, n: number): void {
  budget.work += n;
  if (budget.work > MAX_WORK) throw new UsageError(`node set "${clip(budget.expr)}" needs more than ${MAX_WORK} names of work to expand`);
}

interface Term {
  op: string;
  text: string;
}

/** Split at top-level operators (outside brackets), checking bracket balance on the way. */
function splitTerms(expr: string, whole: string): Term[] {
  if (expr.trim() === '') throw new UsageError('empty node set');
  const terms: Term[] = [];
  let depth = 0;
  let start = 0;
  let op = ',';
  const push = (end: number, next: string): void => {
    const text = trimWs(expr.slice(start, end));
    if (text === '') {
      if (terms.length === 0 && end < expr.length) throw new UsageError(`node set "${clip(whole)}": "${next}" needs a node set on its left`);
      const where = end >= expr.length ? 'at the end' : `before "${clip(expr.slice(end, end + 10))}"`;
      throw new UsageError(`node set "${clip(whole)}": empty name ${where}`);
    }
    terms.push({ op, text });
    op = next;
    start = end + 1;
  };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === '[') {
      if (depth > 0) throw new UsageError(`node set "${clip(whole)}": nested "[" in "${clip(expr.slice(start, i + 1))}"`);
      depth++;
    } else if (c === ']') {
      if (depth === 0) throw new UsageError(`node set "${clip(whole)}": "]" without "[" in "${clip(expr.slice(start, i + 1))}"`);
      depth--;
    } else if (depth === 0 && OPERATORS.includes(c)) {
      push(i, c);
    }
  }
  if (depth > 0) throw new UsageError(`node set "${clip(whole)}": unclosed "[" in "${clip(expr.slice(start))}"`);
  push(expr.length, ',');
  return terms;
}

/** ClusterShell strips spaces and tabs around names; anything else unusual is refused later. */
function trimWs(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}

async function expandGroup(text: string, budget: Budget, resolveGroup: GroupResolver | null): Promise<Set<string>> {
  if (!resolveGroup) throw new UsageError(`group "${clip(text)}" inside a group: groups do not nest in rdsctl`);
  if (text === '@') throw new UsageError('bad group "@" (expected @NAME, @source:NAME or @source:*)');
  if (text.startsWith('@@')) throw new UsageError(`"${clip(text)}": listing group names (@@source) is not a host set; use @source:NAME or @source:*`);
  const out = new Set<string>();
  // Brackets in a group name expand to several groups, as in ClusterShell: @cluster:rack[1-2].
  for (const group of expandOperand(text.slice(1), budget, /^[A-Za-z0-9_.:*-]*$/)) {
    const colon = group.indexOf(':');
    const kind = colon < 0 ? '' : group.slice(0, colon);
    const name = colon < 0 ? group : group.slice(colon + 1);
    if (!/^[A-Za-z0-9_-]*$/.test(kind) || (colon >= 0 && kind === '') || name === '' || (name.includes('*') && name !== '*')) {
      throw new UsageError(`bad group "${clip(`@${group}`)}" (expected @NAME, @source:NAME or @source:*)`);
    }
    if (++budget.lookups > MAX_GROUP_LOOKUPS) throw new UsageError(`node set "${clip(budget.expr)}" names more than ${MAX_GROUP_LOOKUPS} groups`);
    const members = await resolveGroup(kind, name);
    const label = `group ${kind ? `${kind}:` : ''}${name}`;
    if (members.length === 0) continue;
    for (const m of members) {
      // Members come from a metadb: a host name or a bracket pattern, never an operator or a group.
      if (/[@,!&^]/.test(m)) throw new UsageError(`${label}: member "${clip(m)}" is not a host name or bracket pattern`);
    }
    for (const n of await evaluate(members.join(','), budget, null).catch((e: unknown) => {
      throw e instanceof UsageError ? new UsageError(`${label}: ${e.message}`) : e;
    })) {
      out.add(n);
    }
    if (out.size > MAX_NODES) throw new UsageError(`${label} has more than ${MAX_NODES} nodes`);
  }
  return out;
}

/** One operand without operators: literal text and bracket sets, expanded as a cartesian product. */
export function expandPattern(text: string): string[] {
  return expandOperand(trimWs(text), { work: 0, lookups: 0, expr: text });
}

function expandOperand(text: string, budget: Budget, chars: RegExp = NAME_CHARS): string[] {
  // A literal piece, or a bracket's values already formatted with their padding.
  const parts: Array<string | string[]> = [];
  const literal = (s: string): void => {
    if (s.includes(']')) throw new UsageError(`"${clip(text)}": "]" without "["`);
    if (/[*?]/.test(s) && chars === NAME_CHARS) throw new UsageError(`"${clip(text)}": wildcards (* ?) are not supported in node sets`);
    if (!chars.test(s)) throw new UsageError(`"${clip(text)}": "${clip(badChars(s))}" is not allowed in a host name`);
    if (s) parts.push(s);
  };
  let rest = text;
  let total = 1;
  for (;;) {
    const open = rest.indexOf('[');
    if (open < 0) {
      literal(rest);
      break;
    }
    const close = rest.indexOf(']', open);
    if (close < 0) throw new UsageError(`"${clip(text)}": unclosed "["`);
    let prefix = rest.slice(0, open);
    let rng = rest.slice(open + 1, close);
    let suffix = rest.slice(close + 1);
    if (prefix.includes(']')) throw new UsageError(`"${clip(text)}": "]" without "["`);
    if (rng.includes('[')) throw new UsageError(`"${clip(text)}": nested "["`);
    if (trimWs(rng) === '') throw new UsageError(`"${clip(text)}": empty "[]"`);
    // Digits right after a bracket belong to its numbers: n[1-3]0 is n[10-30/10].
    const trailing = /^\d+/.exec(suffix)?.[0];
    if (trailing) {
      if (rng.includes('/')) throw new UsageError(`"${clip(text)}": digits after a range with a step ("${clip(rng)}]${trailing}")`);
      rng = rng
        .split(',')
        .map((elem) => {
          const shifted = elem.split('-').map((bound) => bound + trailing).join('-');
          return elem.includes('-') ? `${shifted}/1${'0'.repeat(trailing.length)}` : shifted;
        })
        .join(',');
      suffix = suffix.slice(trailing.length);
    }
    if (suffix.startsWith('[')) throw new UsageError(`"${clip(text)}": a bracket right after a bracket ("]${trailing ?? ''}[")`);
    // Digits right before a bracket join each contiguous run's bounds: 2[10-320] is [210-2320].
    const leading = /\d+$/.exec(prefix)?.[0];
    if (leading) {
      rng = contiguousRuns(parseRangeSet(rng, text))
        .map(([lo, hi]) => (hi === undefined ? leading + lo : `${leading}${lo}-${leading}${hi}`))
        .join(',');
      prefix = prefix.slice(0, prefix.length - leading.length);
    }
    literal(prefix);
    const values = parseRangeSet(rng, text);
    total *= values.length;
    if (total > MAX_NODES) throw new UsageError(`"${clip(text)}" expands to more than ${MAX_NODES} names`);
    parts.push(values);
    rest = suffix;
  }
  if (parts.length === 0) throw new UsageError('empty host name');
  spend(budget, total);
  let names = [''];
  for (const p of parts) {
    const next: string[] = [];
    if (typeof p === 'string') for (const n of names) next.push(n + p);
    else for (const n of names) for (const v of p) next.push(n + v);
    names = next;
  }
  return names;
}

/** ClusterShell's RangeSet syntax: N, N-M, N-M/STEP, comma-separated; values as padded strings. */
function parseRangeSet(body: string, whole: string): string[] {
  const values: string[] = [];
  const items = body.split(',');
  const seen = items.length > 1 ? new Set<string>() : null;
  for (const raw of items) {
    const item = trimWs(raw);
    const bad = (why: string): UsageError => new UsageError(`"${clip(whole)}": ${why} in "${clip(item)}"`);
    if (item === '') throw bad('empty range');
    const slash = item.indexOf('/');
    const base = slash < 0 ? item : item.slice(0, slash);
    const stepText = slash < 0 ? '1' : trimWs(item.slice(slash + 1));
    if (!/^\d+$/.test(stepText)) throw bad(`bad step "${clip(stepText)}"`);
    const step = Number(stepText);
    let begin: string;
    let end: string;
    if (!base.includes('-')) {
      if (step !== 1) throw bad('a step needs a range (N-M/STEP)');
      if (base !== trimWs(base)) throw bad('space before "/"');
      begin = end = base;
    } else {
      const bounds = base.split('-').map(trimWs);
      if (bounds[0] === '' || bounds.slice(1, -1).includes('')) throw bad('negative numbers are not supported');
      if (bounds.length !== 2) throw bad('bad range (expected N, N-M or N-M/STEP)');
      [begin, end] = bounds as [string, string];
    }
    if (!/^\d+$/.test(begin) || !/^\d+$/.test(end)) throw bad('bad range (expected N, N-M or N-M/STEP)');
    if (begin.length > MAX_DIGITS || end.length > MAX_DIGITS || stepText.length > MAX_DIGITS) throw bad('number too large');
    const start = Number(begin);
    const stop = Number(end);
    // ClusterShell's padding rule: a zero-padded bound fixes the width, and both bounds must have it.
    let pad = 0;
    if (begin.length > 1 && begin.startsWith('0')) pad = begin.length;
    const endPadded = stop !== 0 && end.length > 1 && end.startsWith('0');
    if ((pad > 0 || endPadded) && begin.length !== end.length) throw bad('zero padding of different widths');
    if (start > stop) throw bad('reversed range');
    if (step < 1) throw bad('step 0');
    const count = Math.floor((stop - start) / step) + 1;
    if (count > MAX_NODES || values.length + count > MAX_NODES) throw bad(`more than ${MAX_NODES} elements`);
    for (let v = start; v <= stop; v += step) {
      const s = pad ? String(v).padStart(pad, '0') : String(v);
      if (!seen) values.push(s);
      else if (!seen.has(s)) {
        seen.add(s);
        values.push(s);
      }
    }
  }
  return values;
}

/** ClusterShell's contiguous(): runs of consecutive numbers that share a padding, as strings. */
function contiguousRuns(values: readonly string[]): Array<[string, string | undefined]> {
  const sorted = sortIndexes(values);
  const runs: Array<[string, string | undefined]> = [];
  for (const r of runsOf(sorted)) {
    const lo = fmt(r.lo, r.pad);
    runs.push([lo, r.lo === r.hi ? undefined : fmt(r.hi, r.pad)]);
  }
  return runs;
}

/** ClusterShell's RangeSet order: shorter strings first, then by string. */
function sortIndexes(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
}

interface Run {
  lo: number;
  hi: number;
  pad: number;
}

/**
 * ClusterShell's RangeSet._slices_padding without autostep, ported line for line because its
 * quirks show in the folded text: a run cut by a gap keeps the zero padding it started with, so
 * after 08 the run 10-99 is "padded" and 100 starts a new one (n[08,10-99,100-101]).
 */
function runsOf(sorted: readonly string[]): Run[] {
  const out: Run[] = [];
  let curPad = 0;
  let curPadded = false;
  let curStart: number | null = null;
  let curStep: number | null = null;
  let lastIdx = 0;
  const pad = (): number => (curPadded ? curPad : 0);
  for (const si of sorted) {
    const idx = Number(si);
    const len = si.length;
    const padded = len > 1 && si.startsWith('0');
    if (curStart === null) {
      curPadded = padded;
      curPad = len;
      curStart = idx;
      curStep = null;
      lastIdx = idx;
      continue;
    }
    const padMismatch = curPadded ? len !== curPad : padded;
    const stepMismatch: boolean = !padMismatch && curStep !== null && curStep !== idx - lastIdx;
    if (padMismatch || stepMismatch) {
      const step = curStep ?? 1;
      if (curStep === null || curStep === 1) {
        out.push({ lo: curStart, hi: lastIdx, pad: pad() });
        curStart = idx;
        curPadded = padded;
        curPad = len;
      } else {
        const stop = padMismatch ? lastIdx + 1 : lastIdx - step + 1;
        for (let j = curStart; j < stop; j += step) out.push({ lo: j, hi: j, pad: pad() });
        if (padMismatch) {
          curStart = idx;
          curPadded = padded;
          curPad = len;
        } else {
          curStart = lastIdx;
        }
      }
      curStep = stepMismatch ? idx - lastIdx : null;
      lastIdx = idx;
      continue;
    }
    curStep = idx - lastIdx;
    lastIdx = idx;
  }
  if (curStart !== null) {
    if (curStep === null || curStep === 1) out.push({ lo: curStart, hi: lastIdx, pad: pad() });
    else for (let j = curStart; j <= lastIdx; j += curStep) out.push({ lo: j, hi: j, pad: pad() });
  }
  return out;
}

function rangeSetString(values: Iterable<string>): string {
  return runsOf(sortIndexes(values))
    .map((r) => (r.lo === r.hi ? fmt(r.lo, r.pad) : `${fmt(r.lo, r.pad)}-${fmt(r.hi, r.pad)}`))
    .join(',');
}

/**
 * The folded spelling of a list of names, as `nodeset -f` prints it: names split into text and
 * numbers, folded over every numeric dimension (`artcore[1-1000]-ib0`, `r[1-2]-nc[01-03]`), patterns
 * in ClusterShell's sorted order, zero padding kept. A name that is not a host name is refused.
 */
export function foldNodeSet(names: ReadonlyArray<string>): string {
  const patterns = new Map<string, Map<string, string[]>>();
  const literals: string[] = [];
  for (const name of new Set(names)) {
    if (name === '' || !NAME_CHARS.test(name)) throw new UsageError(`cannot fold "${clip(name)}": not a host name`);
    const texts: string[] = [];
    const idx: string[] = [];
    const re = /(\D*)(\d*)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(name)) && m[0] !== '') {
      texts.push(m[1]!);
      if (m[2]) {
        if (m[2].length > MAX_DIGITS) {
          texts[texts.length - 1] += m[2];
          continue;
        }
        texts[texts.length - 1] += '%s';
        idx.push(m[2]);
      }
    }
    const pat = texts.join('');
    if (idx.length === 0) {
      literals.push(pat);
      continue;
    }
    let vecs = patterns.get(pat);
    if (!vecs) patterns.set(pat, (vecs = new Map()));
    vecs.set(idx.join(','), idx);
  }
  const out: Array<[string, string[]]> = literals.map((l) => [l, [l]]);
  for (const [pat, vecs] of patterns) out.push([pat, foldVectors(pat, [...vecs.values()])]);
  // ClusterShell sorts by pattern text, where a number is "%s".
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out.flatMap(([, s]) => s).join(',');
}

function foldVectors(pat: string, vecs: string[][]): string[] {
  const dims = vecs[0]!.length;
  // Merge along one dimension at a time, last first: vectors equal on every other dimension join.
  let sets: Array<Array<Set<string>>> = vecs.map((v) => v.map((i) => new Set([i])));
  const changing = (d: number): boolean => new Set(vecs.map((v) => v[d])).size > 1;
  const order = [...Array(dims).keys()].reverse();
  // ClusterShell's univariate case (one dimension varies) is exact; others are merged per dimension.
  if (dims === 1 || order.filter(changing).length <= 1) {
    const d = order.find(changing) ?? 0;
    const merged = vecs[0]!.map((i) => new Set([i]));
    for (const v of vecs) merged[d]!.add(v[d]!);
    sets = [merged];
  } else {
    for (let round = 0; round < 2; round++) {
      for (const d of order) {
        const by = new Map<string, Array<Set<string>>>();
        for (const vec of sets) {
          const key = vec.map((s, i) => (i === d ? '' : rangeSetString(s))).join('|');
          const g = by.get(key);
          if (g) for (const x of vec[d]!) g[d]!.add(x);
          else by.set(key, vec.map((s) => new Set(s)));
        }
        sets = [...by.values()];
      }
    }
  }
  const size = (vec: Array<Set<string>>): number => vec.reduce((n, s) => n * s.size, 1);
  const first = (s: Set<string>): string => sortIndexes(s)[0]!;
  const last = (s: Set<string>): string => sortIndexes(s).at(-1)!;
  sets.sort((a, b) => {
    if (size(a) !== size(b)) return size(b) - size(a);
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x.size !== y.size) return y.size - x.size;
      if (first(x) !== first(y)) return first(x) < first(y) ? -1 : 1;
      if (last(x) !== last(y)) return last(x) < last(y) ? -1 : 1;
    }
    return 0;
  });
  return sets.map((vec) => {
    let i = 0;
    return pat.replace(/%s/g, () => {
      const s = vec[i++]!;
      const r = rangeSetString(s);
      return s.size > 1 ? `[${r}]` : r;
    });
  });
}

function fmt(v: number, pad: number): string {
  return String(v).padStart(pad, '0');
}

function badChars(s: string): string {
  return [...new Set([...s].filter((c) => !/[A-Za-z0-9_.:-]/.test(c)))].join('');
}

/** Keep error lines short and printable when the input is hostile. */
function clip(s: string): string {
  const t = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
}
