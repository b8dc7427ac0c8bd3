import { PassThrough } from 'node:stream';
import { createIO, type Palette } from '../../src/core/io.js';
import { loadPalette, printRecords, type OutputFormat } from '../../src/core/output.js';
import { componentRow, STATUS_COLUMNS, statusSummary, type ComponentRow } from '../../src/lab/status.js';

const probe = { kind: 'nc' as const, address: '127.77.1.1', port: 2222, pid: 42 };
const rows: ComponentRow[] = [
  componentRow({ name: 'mariadb', kind: 'mariadb', address: '127.0.0.1', port: 13306, wanted: true, answers: true, pid: 7 }),
  componentRow({ ...probe, name: 'nc-a01', wanted: true, answers: true }),
  componentRow({ ...probe, name: 'nc-a02', address: '127.77.1.2', wanted: true, answers: false }),
  componentRow({ ...probe, name: 'vm-005', kind: 'vm', address: '127.77.2.5', wanted: false, answers: false, pid: undefined }),
];

function render(format: OutputFormat, tty = false, palette?: Palette): string {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  const io = createIO({ stdout, stderr: new PassThrough(), stdoutIsTTY: tty, env: {}, ...(palette ? { palette } : {}) });
  printRecords(io, format, STATUS_COLUMNS, rows);
  return out;
}

describe('lab status rows', () => {
  test('up when it answers; down when it should and does not; stopped when it is off on purpose', () => {
    expect(rows.map((r) => r.status)).toEqual(['up', 'up', 'down', 'stopped']);
    // A pid is only reported for something that answers.
    expect(rows.map((r) => r.pid)).toEqual([7, 42, null, null]);
    expect(componentRow({ ...probe, name: 'vm-009', kind: 'vm', wanted: false, answers: true })).toMatchObject({ status: 'up' });
  });

  test('json keeps the documented field names', () => {
    const parsed = JSON.parse(render('json')) as ComponentRow[];
    expect(parsed[2]).toEqual({ name: 'nc-a02', kind: 'nc', address: '127.77.1.2', port: 2222, status: 'down', pid: null });
  });

  test('table when piped: aligned columns, no colour, "-" for no pid', () => {
    expect(render('table')).toBe(
      [
        'NAME     KIND     ADDRESS          STATUS   PID',
        'mariadb  mariadb  127.0.0.1:13306  up         7',
        'nc-a01   nc       127.77.1.1:2222  up        42',
        'nc-a02   nc       127.77.1.2:2222  down       -',
        'vm-005   vm       127.77.2.5:2222  stopped    -',
        '',
      ].join('\n'),
    );
  });

  test('tsv: header and one line per component', () => {
    expect(render('tsv').split('\n')[0]).toBe('NAME\tKIND\tADDRESS\tSTATUS\tPID');
    expect(render('tsv').split('\n')[3]).toBe('nc-a02\tnc\t127.77.1.2:2222\tdown\t-');
  });

  test('on a TTY the status is coloured', async () => {
    const out = render('table', true, await loadPalette());
    expect(out).toContain('\u001b[31mdown\u001b[39m');
    expect(out).toContain('\u001b[32mup\u001b[39m');
  });

  test('summary by kind for stderr', () => {
    expect(statusSummary(rows)).toBe('mariadb: up; 2 nc: 1 up, 1 down; 1 vm: 1 stopped');
  });
});
