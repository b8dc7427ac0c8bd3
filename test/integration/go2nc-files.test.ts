import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { sharedLab, type TestLab } from '../support/lab.js';

// clush --copy/--rcopy, pssh --outdir/--errdir, metadb-state filters, and -b on SIGTERM, against
// the shared lab's real sshds. Lab hosts share this machine's filesystem, so copies go to this
// test's own temporary directory and run one host at a time.

jest.setTimeout(120_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
let lab: TestLab;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-files-'));
const hosts = ['nc-a01', 'nc-a02', 'nc-a03'];
const set = 'nc-a[01-03]';

beforeAll(() => {
  lab = sharedLab();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

test('--copy: files and a directory reach every host under --dest, binary intact; audited', async () => {
  const src = path.join(tmp, 'src');
  fs.mkdirSync(path.join(src, 'conf.d'), { recursive: true });
  const blob = randomBytes(300_000);
  fs.writeFileSync(path.join(src, 'blob.bin'), blob);
  fs.writeFileSync(path.join(src, 'conf.d', 'a.cnf'), '[mysqld]\n');
  fs.writeFileSync(path.join(src, '-dash'), 'x');
  const dest = path.join(tmp, 'dest');
  const r = await lab.run(['go2nc', set, '--concurrency', '1', '--reason', 'copy-test', '--copy', path.join(src, 'blob.bin'), path.join(src, 'conf.d'), path.join(src, '-dash'), '--dest', dest]);
  expect(r.stderr).toMatch(/^3 ok, 0 failed$/m);
  expect(r.code).toBe(0);
  expect(md5(fs.readFileSync(path.join(dest, 'blob.bin')))).toBe(md5(blob));
  expect(fs.readFileSync(path.join(dest, 'conf.d', 'a.cnf'), 'utf8')).toBe('[mysqld]\n');
  expect(fs.readFileSync(path.join(dest, '-dash'), 'utf8')).toBe('x');
  const check = await lab.run(['go2nc', set, '-b', '--', `md5sum < ${dest}/blob.bin`]);
  expect(check.stdout).toContain(`${set} (3)\n---------------\n${md5(blob)}  -\n`);
  const a = JSON.parse((await lab.run(['audit', 'list', '--limit', '5', '-o', 'json'])).stdout) as Array<{ reason: string | null; detail: Record<string, unknown> }>;
  expect(a.find((x) => x.reason === 'copy-test')?.detail).toMatchObject({ dest, bytes: expect.any(Number), copy: expect.any(Array) });
});

test('--copy --dry-run names the files and runs nothing; bad uses are usage errors', async () => {
  const dest = path.join(tmp, 'never');
  fs.writeFileSync(path.join(tmp, 'one'), '1');
  const r = await lab.run(['go2nc', set, '--dry-run', '--copy', path.join(tmp, 'one'), '--dest', dest]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`into ${dest} on every host`);
  expect(fs.existsSync(dest)).toBe(false);
  for (const [args, msg] of [
    [['--copy', path.join(tmp, 'one')], '--copy needs --dest DIR'],
    [['--copy', path.join(tmp, 'nope'), '--dest', dest], 'no such local file'],
    [['--copy', path.join(tmp, 'one'), '--dest', 'relative'], 'must be an absolute directory'],
    [['--copy', path.join(tmp, 'one'), '--rcopy', '/etc/hostname', '--dest', dest], 'do not combine'],
    [['--copy', path.join(tmp, 'one'), '--dest', dest, '--', 'uptime'], 'takes no command'],
  ] as Array<[string[], string]>) {
    const bad = await lab.run(['go2nc', set, ...args]);
    expect({ code: bad.code, msg: bad.stderr.includes(msg) }).toEqual({ code: 2, msg: true });
  }
});

test('--rcopy: each host\'s file comes back as DEST/NAME.HOST; a missing file fails that host with tar\'s code', async () => {
  const remote = path.join(tmp, 'remote');
  fs.mkdirSync(remote, { recursive: true });
  fs.writeFileSync(path.join(remote, 'my.cnf'), '[client]\n');
  const dest = path.join(tmp, 'back');
  const r = await lab.run(['go2nc', set, '--rcopy', path.join(remote, 'my.cnf'), '--dest', dest]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toContain('rdsctl-rcopy');
  expect(fs.readdirSync(dest).sort()).toEqual(hosts.map((h) => `my.cnf.${h}`));
  expect(fs.readFileSync(path.join(dest, 'my.cnf.nc-a02'), 'utf8')).toBe('[client]\n');

  const missing = await lab.run(['go2nc', 'nc-a01', '-o', 'json', '--rcopy', path.join(remote, 'absent'), '--dest', dest]);
  expect(missing.code).toBe(2);
  const rec = (JSON.parse(missing.stdout) as Array<Record<string, unknown>>)[0]!;
  expect(rec).toMatchObject({ category: 'exit', exit_code: 2, stdout: '' });
  expect(String(rec.stderr)).toContain('absent');
});

test('--outdir/--errdir: one file per host, like pssh', async () => {
  const out = path.join(tmp, 'out');
  const err = path.join(tmp, 'err');
  const r = await lab.run(['go2nc', set, '--outdir', out, '--errdir', err, '--', 'hostname; echo oops >&2']);
  expect(r.code).toBe(0);
  expect(fs.readdirSync(out).sort()).toEqual(hosts);
  for (const h of hosts) {
    expect(fs.readFileSync(path.join(out, h), 'utf8')).toBe(`${h}\n`);
    expect(fs.readFileSync(path.join(err, h), 'utf8')).toBe('oops\n');
  }
});

test('--status and --skip-locked filter by houyi state and name what they left out', async () => {
  const { ctx } = lab.context();
  let rows: Array<{ hostname: string; status: string; locked: number }>;
  try {
    rows = await ctx.db('houyi').query('SELECT hostname, status, locked FROM nc ORDER BY hostname');
  } finally {
    await ctx.close();
  }
  const all = `nc-a[01-${String(rows.length).padStart(2, '0')}]`;
  const keep = rows.filter((x) => x.status === 'online' && !x.locked).map((x) => x.hostname);
  const r = await lab.run(['go2nc', all, '--status', 'online', '--skip-locked', '-o', 'json', '--', 'true']);
  expect((JSON.parse(r.stdout) as Array<{ host: string }>).map((x) => x.host).sort()).toEqual(keep.sort());
  if (keep.length < rows.length) expect(r.stderr).toMatch(new RegExp(`^skipped ${rows.length - keep.length}: `, 'm'));
  const bad = await lab.run(['go2nc', all, '--status', 'onlin', '--', 'true']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--status onlin: expected a comma list of online, offline, maintain, locked');
});

test('-b on SIGTERM: prints what was gathered in clush\'s layout and exits 130', async () => {
  const child = spawn(BIN, ['go2nc', set, '-b', '--', 'if [ "$(hostname)" = nc-a01 ]; then echo quick; else echo slow; sleep 30; fi'], { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // Give the quick host time to finish, then stop the run as a supervisor would.
  await new Promise((r) => setTimeout(r, 4000));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  expect(code).toBe(130);
  expect(out).toContain('---------------\nnc-a01\n---------------\nquick\n');
  expect(out).toContain('---------------\nnc-a[02-03] (2, interrupted)\n---------------\nslow\n');
  expect(err).toMatch(/1 ok, 2 failed: nc-a\[02-03\]/);
});
