import { UsageError } from '../core/errors.js';

// ClusterShell node-set syntax, as operators already type it for clush:
//   nc-a[01-12]          ranges keep their zero padding
//   r[1-2]-nc[01-03]     several brackets make a cartesian product
//   nc-a[1,3,5-7/2]      lists and steps inside brackets
//   @cluster:NAME        groups, resolved by the caller (metadb), never here
//   a,b!c&d              union, difference, intersection: applied left to right, no precedence
// Dots are not separators, so IP addresses are names (127.0.0.5, 127.0.0.[1-5]).
// Everything is checked before anything is expanded, so hostile input costs no memory.

/** Largest number of names one range, one pattern or one whole expression may produce. */
export const MAX_NODES = 100_000;

export type GroupResolver = (kind: string, name: string) => Promise<string[]>;

const NAME_CHARS = /^[A-Za-z0-9_.:-]*$/;
const OPERATORS = new Set([',', '!', '&']);

/**
 * Expand a node set into host names, first-seen order, no duplicates. `@kind:name` groups are
 * resolved through `resolveGroup` (kind is '' for a bare `@name`); their members may use bracket
 * syntax but not groups or operators.
 */
export async function expandNodeSet(expr: string, resolveGroup: GroupResolver): Promise<string[]> {
  const terms = splitTerms(expr);
  let acc = new Set<string>();
  for (const { op, text } of terms) {
    const names = text.startsWith('@') ? await expandGroup(text, resolveGroup) : expandPattern(text);
    if (op === ',') {
      for (const n of names) acc.add(n);
      if (acc.size > MAX_NODES) throw new UsageError(`node set "${clip(expr)}" has more than ${MAX_NODES} nodes`);
    } else if (op === '!') {
      const drop = new Set(names);
      acc = new Set([...acc].filter((n) => !drop.has(n)));
    } else {
      const keep = new Set(names);
      acc = new Set([...acc].filter((n) => keep.has(n)));
    }
  }
  return [...acc];
}

interface Term {
  op: string;
  text: string;
}

/** Split at top-level operators (outside brackets), checking bracket balance on the way. */
function splitTerms(expr: string): Term[] {
  if (typeof expr !== 'string' || expr.trim() === '') throw new UsageError('empty node set');
  const terms: Term[] = [];
  let depth = 0;
  let start = 0;
  let op = ',';
  const push = (end: number, next: string): void => {
    const text = expr.slice(start, end).trim();
    if (text === '') {
      const where = end >= expr.length ? 'at the end' : `before "${expr.slice(end, end + 10)}"`;
      throw new UsageError(`node set "${clip(expr)}": empty name ${where}`);
    }
    terms.push({ op, text });
    op = next;
    start = end + 1;
  };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === '[') {
      if (depth > 0) throw new UsageError(`node set "${clip(expr)}": nested "[" in "${clip(expr.slice(start, i + 1))}"`);
      depth++;
    } else if (c === ']') {
      if (depth === 0) throw new UsageError(`node set "${clip(expr)}": "]" without "[" in "${clip(expr.slice(start, i + 1))}"`);
      depth--;
    } else if (depth === 0 && OPERATORS.has(c)) {
      if (c !== ',' && terms.length === 0 && expr.slice(0, i).trim() === '') {
        throw new UsageError(`node set "${clip(expr)}": "${c}" needs a node set on its left`);
      }
      push(i, c);
    }
  }
  if (depth > 0) throw new UsageError(`node set "${clip(expr)}": unclosed "[" in "${clip(expr.slice(start))}"`);
  push(expr.length, ',');
  return terms;
}

async function expandGroup(text: string, resolveGroup: GroupResolver): Promise<string[]> {
  const body = text.slice(1);
  const colon = body.indexOf(':');
  const kind = colon < 0 ? '' : body.slice(0, colon);
  const namePattern = colon < 0 ? body : body.slice(colon + 1);
  if (!/^[A-Za-z0-9_-]*$/.test(kind) || namePattern === '') throw new UsageError(`bad group "${clip(text)}" (expected @kind:NAME)`);
  const out: string[] = [];
  for (const name of expandPattern(namePattern)) {
    const members = await resolveGroup(kind, name);
    for (const m of members) {
      if (m.includes('@') || [...OPERATORS].some((o) => m.includes(o))) {
        throw new UsageError(`group ${kind ? `${kind}:` : ''}${name}: member "${clip(m)}" is not a host name or bracket pattern`);
      }
      out.push(...expandPattern(m));
      if (out.length > MAX_NODES) throw new UsageError(`group ${kind ? `${kind}:` : ''}${name} has more than ${MAX_NODES} nodes`);
    }
  }
  return out;
}

/** One term without operators: literal text and bracket sets, expanded as a cartesian product. */
export function expandPattern(text: string): string[] {
  // A literal piece, or a bracket's values already formatted with their padding.
  const parts: Array<string | string[]> = [];
  let i = 0;
  let total = 1;
  while (i < text.length) {
    const open = text.indexOf('[', i);
    const literal = open < 0 ? text.slice(i) : text.slice(i, open);
    if (literal.includes(']')) throw new UsageError(`"${clip(text)}": "]" without "["`);
    if (!NAME_CHARS.test(literal)) throw new UsageError(`"${clip(text)}": "${clip(badChars(literal))}" is not allowed in a host name`);
    if (literal) parts.push(literal);
    if (open < 0) break;
    const close = text.indexOf(']', open);
    if (close < 0) throw new UsageError(`"${clip(text)}": unclosed "["`);
    const range = parseBracket(text.slice(open + 1, close), text);
    total *= range.length;
    if (total > MAX_NODES) throw new UsageError(`"${clip(text)}" expands to more than ${MAX_NODES} names`);
    parts.push(range);
    i = close + 1;
  }
  if (parts.length === 0) throw new UsageError('empty host name');
  let names = [''];
  for (const p of parts) {
    if (typeof p === 'string') names = names.map((n) => n + p);
    else names = names.flatMap((n) => p.map((v) => n + v));
  }
  return names;
}

function parseBracket(body: string, whole: string): string[] {
  if (body.trim() === '') throw new UsageError(`"${clip(whole)}": empty "[]"`);
  const values: string[] = [];
  for (const raw of body.split(',')) {
    const item = raw.trim();
    const m = /^(\d+)(?:-(\d+)(?:\/(\d+))?)?$/.exec(item);
    if (!m) throw new UsageError(`"${clip(whole)}": bad range "${clip(item)}" (expected N, N-M or N-M/STEP)`);
    const [, a, b, s] = m;
    if (a!.length > 15 || (b !== undefined && b.length > 15) || (s !== undefined && s.length > 15)) throw new UsageError(`"${clip(whole)}": number too large in "${clip(item)}"`);
    const from = Number(a);
    const to = b === undefined ? from : Number(b);
    const step = s === undefined ? 1 : Number(s);
    if (to < from) throw new UsageError(`"${clip(whole)}": reversed range "${item}"`);
    if (step === 0) throw new UsageError(`"${clip(whole)}": step 0 in "${item}"`);
    const count = Math.floor((to - from) / step) + 1;
    if (count > MAX_NODES || values.length + count > MAX_NODES) throw new UsageError(`"${clip(whole)}": range "${item}" has more than ${MAX_NODES} elements`);
    const pad = a!.length > 1 && a!.startsWith('0') ? a!.length : 0;
    for (let v = from; v <= to; v += step) values.push(String(v).padStart(pad, '0'));
  }
  return values;
}

/**
 * The shortest usual spelling of a list of names: `nc-a01,nc-a02,nc-a03,nc-b01` becomes
 * `nc-a[01-03],nc-b01`. Folds on the last number in each name (the last octet of an IP),
 * keeps zero padding, keeps the first-seen order of the folded groups.
 */
export function foldNodeSet(names: ReadonlyArray<string>): string {
  interface Group {
    prefix: string;
    suffix: string;
    /** Padded width → numbers with that spelling. Width 0 is "no padding". */
    byPad: Map<number, number[]>;
    unpadded: Array<{ value: number; len: number }>;
  }
  const order: Array<string | Group> = [];
  const groups = new Map<string, Group>();
  const seen = new Set<string>();
  for (const name of names) {
    if (name === '' || !NAME_CHARS.test(name)) throw new UsageError(`cannot fold "${clip(name)}": not a host name`);
    if (seen.has(name)) continue;
    seen.add(name);
    const m = /^(.*?)(\d{1,15})(\D*)$/.exec(name);
    if (!m) {
      order.push(name);
      continue;
    }
    const [, prefix, digits, suffix] = m as unknown as [string, string, string, string];
    const key = `${prefix}\0${suffix}`;
    let g = groups.get(key);
    if (!g) {
      g = { prefix, suffix, byPad: new Map(), unpadded: [] };
      groups.set(key, g);
      order.push(g);
    }
    if (digits.length > 1 && digits.startsWith('0')) {
      const list = g.byPad.get(digits.length) ?? [];
      list.push(Number(digits));
      g.byPad.set(digits.length, list);
    } else {
      g.unpadded.push({ value: Number(digits), len: digits.length });
    }
  }
  const out: string[] = [];
  for (const item of order) {
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    // A number without a leading zero prints the same under any padding up to its own length,
    // so 10-12 join 01-09 as [01-12] instead of standing apart.
    const widths = [...item.byPad.keys()].sort((x, y) => y - x);
    for (const u of item.unpadded) {
      const w = widths.find((p) => p <= u.len) ?? 0;
      const list = item.byPad.get(w) ?? [];
      list.push(u.value);
      item.byPad.set(w, list);
    }
    for (const [pad, values] of [...item.byPad.entries()].sort((x, y) => x[0] - y[0])) {
      const ranges = toRanges(values).map(([lo, hi]) => (lo === hi ? fmt(lo, pad) : `${fmt(lo, pad)}-${fmt(hi, pad)}`));
      out.push(values.length === 1 ? `${item.prefix}${ranges[0]}${item.suffix}` : `${item.prefix}[${ranges.join(',')}]${item.suffix}`);
    }
  }
  return out.join(',');
}

function toRanges(values: number[]): Array<[number, number]> {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const v of sorted) {
    const last = out[out.length - 1];
    if (last && v === last[1] + 1) last[1] = v;
    else out.push([v, v]);
  }
  return out;
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
