import { PassThrough } from 'node:stream';
import { createIO, type Palette } from '../../src/core/io.js';
import { cellText, loadPalette, parseOutput, printRecords, printSections, timeText, type Column } from '../../src/core/output.js';

interface Row { name: string; status: string; cpu: number; note: string | null }
const rows: Row[] = [
  { name: 'nc-a01', status: 'online', cpu: 64, note: null },
  { name: 'nc-a02', status: 'offline', cpu: 8, note: 'tab\there' },
];
const columns: Column<Row>[] = [
  { header: 'NAME', value: (r) => r.name },
  { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'online' ? 'ok' : 'bad') },
  { header: 'CPU', value: (r) => r.cpu, align: 'right' },
  { header: 'NOTE', value: (r) => r.note, wide: true },
];

function capture(opts: { tty?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  const io = createIO({ stdout, stderr: new PassThrough(), stdin: new PassThrough(), stdoutIsTTY: Boolean(opts.tty), stderrIsTTY: Boolean(opts.tty), stdinIsTTY: false, env: opts.env ?? {}, palette });
  return { io, text: () => out };
}

let palette: Palette;
beforeAll(async () => {
  palette = await loadPalette();
});

describe('output formats', () => {
  it('table on a pipe: aligned, no colour, wide columns hidden', () => {
    const c = capture();
    printRecords(c.io, 'table', columns, rows);
    expect(c.text()).toBe('NAME    STATUS   CPU\nnc-a01  online    64\nnc-a02  offline    8\n');
    expect(c.text()).not.toMatch(/\u001b\[/);
  });

  it('colour lives in each IO, not in the module: a coloured run leaves the next IO plain', () => {
    const tty = capture({ tty: true });
    printRecords(tty.io, 'table', columns, rows);
    expect(tty.text()).toMatch(/\u001b\[/);
    // A TTY IO made without a palette (cli.ts adds it at start-up) prints plain, whatever ran before.
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    printRecords(createIO({ stdout, stderr: new PassThrough(), stdoutIsTTY: true, env: {} }), 'table', columns, rows);
    expect(out).toBe('NAME    STATUS   CPU\nnc-a01  online    64\nnc-a02  offline    8\n');
  });

  it('table on a TTY is coloured; NO_COLOR turns colour off', () => {
    const tty = capture({ tty: true });
    printRecords(tty.io, 'table', columns, rows);
    expect(tty.text()).toMatch(/\u001b\[/);
    const nc = capture({ tty: true, env: { NO_COLOR: '1' } });
    printRecords(nc.io, 'table', columns, rows);
    expect(nc.text()).not.toMatch(/\u001b\[/);
  });

  it('wide shows the wide columns', () => {
    const c = capture();
    printRecords(c.io, 'wide', columns, rows);
    expect(c.text().split('\n')[0]).toMatch(/NOTE$/);
  });

  it('json prints the records with their own field names', () => {
    const c = capture();
    printRecords(c.io, 'json', columns, rows);
    expect(JSON.parse(c.text())).toEqual(rows);
  });

  it('tsv has a header, every column, and escapes tabs', () => {
    const c = capture();
    printRecords(c.io, 'tsv', columns, rows);
    expect(c.text()).toBe('NAME\tSTATUS\tCPU\tNOTE\nnc-a01\tonline\t64\t-\nnc-a02\toffline\t8\ttab\\there\n');
  });

  it('rejects unknown formats with the valid list', () => {
    expect(() => parseOutput('yaml')).toThrow(/valid: table, wide, json, tsv/);
  });

  it('describe view: sections as text, the object as json', () => {
    const c = capture();
    printSections(c.io, 'table', [{ title: 'NC', fields: [['zone', 'cn-hangzhou-a'], ['locked', false]] }, { title: 'VMs', table: { headers: ['NAME'], rows: [] }, empty: '(no VMs)' }], { zone: 'cn-hangzhou-a' });
    expect(c.text()).toContain('NC:\n  zone:   cn-hangzhou-a\n  locked: no');
    expect(c.text()).toContain('(no VMs)');
    const j = capture();
    printSections(j.io, 'json', [], { zone: 'z' });
    expect(JSON.parse(j.text())).toEqual({ zone: 'z' });
  });

  it('describe view renders a section table with rows', () => {
    const c = capture();
    printSections(c.io, 'table', [{ title: 'VMs', table: { headers: ['NAME', 'STATUS'], rows: [['vm-001', 'running'], ['vm-002', null]] } }], {});
    expect(c.text()).toBe('VMs:\n  NAME    STATUS\n  vm-001  running\n  vm-002  -\n');
  });

  it('cell text is stable', () => {
    expect(cellText(null)).toBe('-');
    expect(cellText(true)).toBe('yes');
    expect(cellText(['a', 'b'])).toBe('a,b');
    expect(cellText(new Date('2026-01-02T03:04:05Z'))).toBe('2026-01-02T03:04:05.000Z');
  });

  it('relative time on a TTY, ISO when piped', () => {
    const now = new Date('2026-01-01T00:10:00Z');
    const d = new Date('2026-01-01T00:07:00Z');
    expect(timeText(d, now, true)).toBe('3m ago');
    expect(timeText(d, now, false)).toBe('2026-01-01T00:07:00.000Z');
  });
});
