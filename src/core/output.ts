import { Option, type Command } from 'commander';
import Table from 'cli-table3';
import { Chalk } from 'chalk';
import type { IO } from './io.js';
import { UsageError } from './errors.js';

// One definition of `-o`: the flag, its help text and its validation all come from this list.
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'tsv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputOption(defaultFormat: OutputFormat = 'table'): Option {
  return new Option('-o, --output <format>', `output format: ${OUTPUT_FORMATS.join('|')}`)
    .choices(OUTPUT_FORMATS as unknown as string[])
    .default(defaultFormat);
}

export function addOutputOption(cmd: Command, defaultFormat: OutputFormat = 'table'): Command {
  return cmd.addOption(outputOption(defaultFormat));
}

export function parseOutput(v: unknown): OutputFormat {
  if (typeof v === 'string' && (OUTPUT_FORMATS as readonly string[]).includes(v)) return v as OutputFormat;
  throw new UsageError(`-o ${String(v)}: unknown output format (valid: ${OUTPUT_FORMATS.join(', ')})`);
}

export type Tone = 'ok' | 'warn' | 'bad' | 'dim' | undefined;

export interface Column<T> {
  /** Header shown in table/tsv; JSON keeps the record's own field names. */
  header: string;
  value: (row: T) => unknown;
  /** Shown only with -o wide. */
  wide?: boolean;
  /** Colour for a cell on a TTY. */
  tone?: (row: T) => Tone;
  align?: 'left' | 'right';
}

/** Plain text of a cell: stable across TTY and pipe, so scripts can rely on it. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.length ? v.map(cellText).join(',') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// chalk instances per decision, not the global one: colour follows the IO we were given.
const painters = { on: new Chalk({ level: 1 }), off: new Chalk({ level: 0 }) };

export function paint(text: string, tone: Tone, color: boolean): string {
  if (!color || !tone) return text;
  const c = painters.on;
  return tone === 'ok' ? c.green(text) : tone === 'warn' ? c.yellow(text) : tone === 'bad' ? c.red(text) : c.dim(text);
}

export function bold(text: string, color: boolean): string {
  return (color ? painters.on : painters.off).bold(text);
}

/** tsv fields must not contain the separators; escape them the way `mysql -B` does. */
function tsvField(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

// Borderless, two spaces between columns (like kubectl / gh): the same text on a TTY and in a
// pipe apart from colour. cli-table3 does the width maths for wide (CJK) and coloured cells.
const BORDERLESS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
  'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

export function renderTable(headers: string[], rows: string[][], opts: { color?: boolean; tones?: Tone[][]; align?: ('left' | 'right')[] } = {}): string {
  const color = Boolean(opts.color);
  const table = new Table({
    head: headers.map((h) => bold(h, color)),
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    ...(opts.align ? { colAligns: opts.align } : {}),
  });
  rows.forEach((r, i) => table.push(r.map((c, j) => paint(c, opts.tones?.[i]?.[j], color))));
  return table.toString().split('\n').map((l) => l.trimEnd()).join('\n') + '\n';
}

/**
 * Print a list of records. JSON prints the records themselves (their field names are the
 * documented API); table/wide/tsv print the columns.
 */
export function printRecords<T>(io: IO, format: OutputFormat, columns: Column<T>[], rows: readonly T[], json?: (row: T) => unknown): void {
  if (format === 'json') {
    io.out(JSON.stringify(rows.map((r) => (json ? json(r) : r)), null, 2) + '\n');
    return;
  }
  const cols = columns.filter((c) => format === 'wide' || format === 'tsv' ? true : !c.wide);
  const cells = rows.map((r) => cols.map((c) => cellText(c.value(r))));
  if (format === 'tsv') {
    io.out([cols.map((c) => c.header), ...cells].map((r) => r.map(tsvField).join('\t')).join('\n') + '\n');
    return;
  }
  const tones = io.color ? rows.map((r) => cols.map((c) => c.tone?.(r))) : undefined;
  io.out(renderTable(cols.map((c) => c.header), cells, { color: io.color, tones, align: cols.map((c) => c.align ?? 'left') }));
}

/** A describe-style view: titled sections of key/value pairs or nested tables. */
export interface Section {
  title: string;
  fields?: Array<[string, unknown]>;
  table?: { headers: string[]; rows: unknown[][] };
  /** Shown when the section has no rows. */
  empty?: string;
}

export function printSections(io: IO, format: OutputFormat, sections: Section[], json: unknown): void {
  if (format === 'json') {
    io.out(JSON.stringify(json, null, 2) + '\n');
    return;
  }
  if (format === 'tsv') {
    // tsv of a describe view: section, key, value — greppable and stable.
    const lines: string[] = ['section\tkey\tvalue'];
    for (const s of sections) {
      for (const [k, v] of s.fields ?? []) lines.push([s.title, k, cellText(v)].map(tsvField).join('\t'));
      for (const r of s.table?.rows ?? []) lines.push([s.title, cellText(r[0]), r.slice(1).map(cellText).join(' ')].map(tsvField).join('\t'));
    }
    io.out(lines.join('\n') + '\n');
    return;
  }
  const out: string[] = [];
  for (const s of sections) {
    out.push(bold(s.title + ':', io.color));
    if (s.fields?.length) {
      const w = Math.max(...s.fields.map(([k]) => k.length));
      for (const [k, v] of s.fields) out.push(`  ${(k + ':').padEnd(w + 1)} ${cellText(v)}`);
    }
    if (s.table) {
      if (s.table.rows.length === 0) out.push(`  ${s.empty ?? '(none)'}`);
      else out.push(renderTable(s.table.headers, s.table.rows.map((r) => r.map(cellText)), { color: io.color }).trimEnd().split('\n').map((l) => '  ' + l).join('\n'));
    } else if (!s.fields?.length) {
      out.push(`  ${s.empty ?? '(none)'}`);
    }
    out.push('');
  }
  io.out(out.join('\n'));
}

/** "3m ago" on a TTY; ISO time when piped so that scripts can parse it. */
export function timeText(d: Date | null | undefined, now: Date, tty: boolean): string {
  if (!d) return '-';
  if (!tty) return d.toISOString();
  const s = Math.round((now.getTime() - d.getTime()) / 1000);
  const abs = Math.abs(s);
  const f = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.floor(abs / 60)}m` : abs < 86400 ? `${Math.floor(abs / 3600)}h` : `${Math.floor(abs / 86400)}d`;
  return s >= 0 ? `${f} ago` : `in ${f}`;
}
