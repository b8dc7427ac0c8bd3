import { Option, type Command } from 'commander';
import type TableType from 'cli-table3';
import { createRequire } from 'node:module';
import type { IO, Palette } from './io.js';
import { UsageError } from './errors.js';

// Every command prints through this file, so what it loads every command pays for at start-up:
// cli-table3 (and string-width under it) is required only for a table it must draw (see
// plainLayout), and chalk only when colour is on (see loadPalette).
const load = createRequire(import.meta.url);

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

// chalk colours TTY output. Its import alone costs ~9 ms here, a third of rdsctl's start-up budget
// over node itself, so it is loaded only when a run will colour something: cli.ts calls
// loadPalette when stdout or stderr is a colour TTY and puts the palette into the IO; pipes,
// `--version` and -o json never load it. Nothing here keeps it: the IO carries it.
export async function loadPalette(): Promise<Palette> {
  const { Chalk } = await import('chalk');
  const c = new Chalk({ level: 1 });
  return { ok: c.green, warn: c.yellow, bad: c.red, dim: c.dim, bold: c.bold };
}

/** Colour follows the IO we were given (TTY, NO_COLOR): pass io.outPalette or io.errPalette; none is plain. */
export function paint(text: string, tone: Tone, palette: Palette | undefined): string {
  return palette && tone ? palette[tone](text) : text;
}

export function bold(text: string, palette: Palette | undefined): string {
  return palette ? palette.bold(text) : text;
}

// Every printer escapes what a terminal would act on: C0 and C1 control characters (ESC starts
// CSI/OSC sequences that clear the screen, set the title or write the clipboard; CR and LF forge
// rows), DEL, Unicode line and paragraph separators and the bidi controls that reorder what is
// shown. Metadb values come from many other systems and remote output from any host, so the
// escaping is in the printers, not in each caller.
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\0':
      return '\\0';
    default: {
      const n = c.charCodeAt(0);
      return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
    }
  }
}

/** Text for a terminal: one line, control characters shown as escapes (\n, \x1b, \u202e). */
export function termSafe(s: string): string {
  return s.replace(TERMINAL_UNSAFE, escapeChar);
}

/** A multi-line message of ours whose parts may hold outside text: each line made safe, line breaks kept. */
export function termSafeLines(s: string): string {
  return s.split('\n').map(termSafe).join('\n');
}

/**
 * JSON for stdout. JSON.stringify escapes U+0000-U+001F but leaves DEL, the C1 controls (0x9b is
 * a one-byte CSI on some terminals), U+2028/2029 and the bidi controls as they are.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

/** One JSON value on one line (JSON lines for streams of answers), with jsonText's escapes. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

/** tsv fields must not contain the separators; escape them the way `mysql -B` does, and every other control character. */
export function tsvField(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(TERMINAL_UNSAFE, escapeChar);
}

// Borderless, two spaces between columns (like kubectl / gh): the same text on a TTY and in a
// pipe apart from colour. cli-table3 does the width maths for wide (CJK) and coloured cells.
const BORDERLESS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
  'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

export function renderTable(headers: string[], rows: string[][], opts: { palette?: Palette; tones?: Tone[][]; align?: ('left' | 'right')[] } = {}): string {
  const head = headers.map((h) => bold(h, opts.palette));
  const body = rows.map((r, i) => r.map((c, j) => paint(c, opts.tones?.[i]?.[j], opts.palette)));
  return (plainLayout(head, body, opts.align) ?? tableLayout(head, body, opts.align)).split('\n').map((l) => l.trimEnd()).join('\n') + '\n';
}

// cli-table3 measures every cell with string-width: 80 rows of `instance step list` took 40-80 ms,
// 500 rows of `instance list` 200 ms. Metadb values are nearly always printable ASCII, whose width
// is their length once the colour codes are taken out, so such tables are laid out here, the same
// as cli-table3 lays them out (test/unit/output-table.test.ts compares the two). Anything else —
// wide or combining characters, control characters, line breaks, ragged rows — goes to cli-table3.
const SGR_CODE = /\u001b\[\d+m/g;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function plainLayout(head: string[], body: string[][], align: ('left' | 'right')[] | undefined): string | null {
  if (head.length === 0) return null;
  const widths = head.map(() => 0);
  for (const row of [head, ...body]) {
    if (row.length !== head.length) return null;
    for (let j = 0; j < row.length; j++) {
      const visible = row[j]!.includes('\u001b') ? row[j]!.replace(SGR_CODE, '') : row[j]!;
      if (!PRINTABLE_ASCII.test(visible)) return null;
      widths[j] = Math.max(widths[j]!, visible.length);
    }
  }
  const line = (row: string[]): string =>
    row
      .map((cell, j) => {
        const pad = ' '.repeat(widths[j]! - (cell.includes('\u001b') ? cell.replace(SGR_CODE, '') : cell).length);
        return align?.[j] === 'right' ? pad + cell : cell + pad;
      })
      .join('  ');
  return [head, ...body].map(line).join('\n');
}

function tableLayout(head: string[], body: string[][], align: ('left' | 'right')[] | undefined): string {
  const Table = load('cli-table3') as typeof TableType;
  const table = new Table({
    head,
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    ...(align ? { colAligns: align } : {}),
  });
  for (const r of body) table.push(r);
  return table.toString();
}

/**
 * Print a list of records. JSON prints the records themselves (their field names are the
 * documented API); table/wide/tsv print the columns.
 */
export function printRecords<T>(io: IO, format: OutputFormat, columns: Column<T>[], rows: readonly T[], json?: (row: T) => unknown): void {
  if (format === 'json') {
    // Element by element in 64 KiB writes: a 20,000-row list never becomes one 10 MB string.
    const w = recordWriter(io, format, columns, json);
    for (const r of rows) w.write(r);
    w.end();
    return;
  }
  const cols = columns.filter((c) => format === 'wide' || format === 'tsv' ? true : !c.wide);
  const cells = rows.map((r) => cols.map((c) => cellText(c.value(r))));
  if (format === 'tsv') {
    io.out([cols.map((c) => c.header), ...cells].map((r) => r.map(tsvField).join('\t')).join('\n') + '\n');
    return;
  }
  const tones = io.outPalette ? rows.map((r) => cols.map((c) => c.tone?.(r))) : undefined;
  io.out(renderTable(cols.map((c) => c.header), cells.map((r) => r.map(termSafe)), { palette: io.outPalette, tones, align: cols.map((c) => c.align ?? 'left') }));
}

/** Writes records as they come: see recordWriter. */
export interface RecordWriter<T> {
  write(row: T): void;
  /** Finish the output; returns the number of records written. */
  end(): number;
}

const FLUSH_AT = 64 * 1024;

/**
 * printRecords for lists too big to hold (`instance list` of a region: 20,000 rows): JSON goes out
 * as an array one element at a time — the same bytes printRecords prints — and tsv one line at a
 * time, in 64 KiB writes, so memory stays flat whatever the row count. table and wide need every
 * row to size their columns, so they gather the rows and print at end().
 */
export function recordWriter<T>(io: IO, format: OutputFormat, columns: Column<T>[], json?: (row: T) => unknown): RecordWriter<T> {
  let n = 0;
  if (format === 'table' || format === 'wide') {
    const rows: T[] = [];
    return {
      write: (row) => void rows.push(row),
      end: () => (printRecords(io, format, columns, rows, json), rows.length),
    };
  }
  let buf = '';
  const put = (text: string): void => {
    buf += text;
    if (buf.length >= FLUSH_AT) {
      io.out(buf);
      buf = '';
    }
  };
  if (format === 'json') {
    return {
      write(row) {
        // JSON.stringify(array, null, 2) is "[\n  " + elements indented one level, joined by ",\n  ",
        // + "\n]". A one-element array gives an element with that indentation, without a regex pass.
        put((n++ === 0 ? '[\n  ' : ',\n  ') + jsonText([json ? json(row) : row]).slice(4, -3));
      },
      end() {
        io.out(buf + (n === 0 ? '[]\n' : '\n]\n'));
        return n;
      },
    };
  }
  put(columns.map((c) => tsvField(c.header)).join('\t') + '\n');
  return {
    write(row) {
      n++;
      put(columns.map((c) => tsvField(cellText(c.value(row)))).join('\t') + '\n');
    },
    end() {
      io.out(buf);
      return n;
    },
  };
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
    io.out(jsonText(json));
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
    out.push(bold(termSafe(s.title) + ':', io.outPalette));
    if (s.fields?.length) {
      const w = Math.max(...s.fields.map(([k]) => k.length));
      for (const [k, v] of s.fields) out.push(`  ${(termSafe(k) + ':').padEnd(w + 1)} ${termSafe(cellText(v))}`);
    }
    if (s.table) {
      if (s.table.rows.length === 0) out.push(`  ${termSafe(s.empty ?? '(none)')}`);
      else out.push(renderTable(s.table.headers, s.table.rows.map((r) => r.map((c) => termSafe(cellText(c)))), { palette: io.outPalette }).trimEnd().split('\n').map((l) => '  ' + l).join('\n'));
    } else if (!s.fields?.length) {
      out.push(`  ${termSafe(s.empty ?? '(none)')}`);
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
