import { PassThrough } from 'node:stream';
import Table from 'cli-table3';
import { createIO, type IO, type Palette } from '../../src/core/io.js';
import { bold, loadPalette, paint, printRecords, recordWriter, renderTable, type Column, type Tone } from '../../src/core/output.js';

// recordWriter streams what printRecords prints (below). renderTable lays out plain-ASCII tables itself (cli-table3 is slow: string-width on every cell)
// and must print exactly what cli-table3 prints for them. The reference below is the renderer as
// it was before, cli-table3 for every table.

const BORDERLESS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
  'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

function reference(headers: string[], rows: string[][], opts: { palette?: Palette; tones?: Tone[][]; align?: ('left' | 'right')[] }): string {
  const table = new Table({
    head: headers.map((h) => bold(h, opts.palette)),
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    ...(opts.align ? { colAligns: opts.align } : {}),
  });
  rows.forEach((r, i) => table.push(r.map((c, j) => paint(c, opts.tones?.[i]?.[j], opts.palette))));
  return table.toString().split('\n').map((l) => l.trimEnd()).join('\n') + '\n';
}

// A small deterministic generator, so a failure names a seed that reproduces it.
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const ALPHABET = 'abcXYZ019 -_.:/@%()[]{}"\'\\|~`!?*+=<>,;#&^$';
const TONES: Tone[] = [undefined, 'ok', 'warn', 'bad', 'dim'];

function text(r: () => number, max: number): string {
  const n = Math.floor(r() * (max + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

let palette: Palette;
beforeAll(async () => {
  palette = await loadPalette();
});

describe('renderTable', () => {
  test('ASCII tables come out exactly as cli-table3 draws them (coloured or not, left and right aligned)', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      const cols = 1 + Math.floor(r() * 6);
      const headers = Array.from({ length: cols }, () => text(r, 12).toUpperCase() || 'H');
      const rows = Array.from({ length: Math.floor(r() * 8) }, () => Array.from({ length: cols }, () => text(r, 20)));
      const opts = {
        ...(r() < 0.5 ? { palette } : {}),
        tones: rows.map((row) => row.map(() => TONES[Math.floor(r() * TONES.length)])),
        ...(r() < 0.7 ? { align: headers.map(() => (r() < 0.5 ? ('left' as const) : ('right' as const))) } : {}),
      };
      expect({ seed, out: renderTable(headers, rows, opts) }).toEqual({ seed, out: reference(headers, rows, opts) });
    }
  });

  test('wide, combining and control characters, line breaks and ragged rows are left to cli-table3', () => {
    const cases: Array<[string[], string[][]]> = [
      [['NAME', 'NOTE'], [['实例-01', 'ok'], ['vm-001', 'é']]],
      [['A', 'B'], [['two\nlines', 'x'], ['tab\there', 'y']]],
      [['A', 'B'], [['only one'], ['a', 'b', 'c']]],
      [[], [['x', 'y']]],
    ];
    for (const [headers, rows] of cases) {
      for (const p of [undefined, palette]) expect(renderTable(headers, rows, { palette: p })).toBe(reference(headers, rows, { palette: p }));
    }
  });
});

describe('recordWriter', () => {
  interface Rec {
    name: string;
    n: number;
    at: Date;
    tags: string[];
    extra: { note: string | null } | null;
  }
  const columns: Column<Rec>[] = [
    { header: 'NAME', value: (r) => r.name },
    { header: 'N', value: (r) => r.n, align: 'right' },
    { header: 'AT', value: (r) => r.at, wide: true },
    { header: 'TAGS', value: (r) => r.tags },
  ];
  const record = (i: number): Rec => ({
    name: `rm-bp1${i}\t"quoted"\n名字`,
    n: i * 7,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    tags: i % 2 ? ['a', 'b'] : [],
    extra: i % 3 ? { note: i % 5 ? `note ${i}` : null } : null,
  });

  function sink(): { io: IO; text: () => string; writes: () => number } {
    const stdout = new PassThrough();
    let out = '';
    let writes = 0;
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    const io = createIO({ stdout, stderr: new PassThrough(), stdin: new PassThrough(), stdoutIsTTY: false, stderrIsTTY: false, stdinIsTTY: false, env: {} });
    return { io: { ...io, out: (t: string) => (writes++, io.out(t)) }, text: () => out, writes: () => writes };
  }

  test('writes the same bytes as printRecords (JSON: as JSON.stringify of the array), record by record, in every format', async () => {
    for (const count of [0, 1, 2, 150]) {
      const rows = Array.from({ length: count }, (_, i) => record(i));
      for (const format of ['json', 'tsv', 'table', 'wide'] as const) {
        for (const json of [undefined, (r: Rec) => ({ ins_name: r.name, at: r.at, extra: r.extra })]) {
          const a = sink();
          // JSON against JSON.stringify itself: printRecords writes JSON through recordWriter too.
          if (format === 'json') a.io.out(JSON.stringify(rows.map((r) => (json ? json(r) : r)), null, 2) + '\n');
          else printRecords(a.io, format, columns, rows, json);
          const b = sink();
          const w = recordWriter(b.io, format, columns, json);
          for (const r of rows) w.write(r);
          expect(w.end()).toBe(count);
          await new Promise((r) => setImmediate(r));
          expect({ format, count, out: b.text() }).toEqual({ format, count, out: a.text() });
        }
      }
    }
    // 32 renderings of up to 150 wide rows: ~1 s alone, over jest's 5 s default at load 15+.
  }, 60_000);

  test('a big JSON list goes out in several writes as it comes, not as one string at the end', () => {
    const b = sink();
    const w = recordWriter(b.io, 'json', columns);
    for (let i = 0; i < 5000; i++) w.write(record(i));
    const before = b.writes();
    w.end();
    expect(before).toBeGreaterThan(10);
  });
});
