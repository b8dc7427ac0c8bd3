import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkSumsScript, hashSetScript } from '../../src/backup/scripts.js';
import { STREAM_DONE, checkList, filesFrom } from '../../src/backup/manifest.js';

// The store-side checksum scripts run for real with bash on temporary files: `backup verify` and
// the clone's archived-binlog check (checkSumsScript, openssl) must be exactly as strict as the
// `sha256sum --quiet --strict -c` they replace, and say which file failed in its words.

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-sums-'));
  fs.mkdirSync(path.join(dir, 'shop'));
  // More files than one openssl batch (32), some with spaces, so both hashers and the join are used.
  for (let i = 0; i < 70; i++) fs.writeFileSync(path.join(dir, 'shop', `t${i}.ibd`), `rows of table ${i}\n`.repeat(i + 1));
  fs.writeFileSync(path.join(dir, 'ibdata1'), Buffer.alloc(3 * 1024 * 1024, 7));
  fs.writeFileSync(path.join(dir, 'shop', 'a name with spaces.frm'), 'frm');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function listing(): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${sha(fs.readFileSync(p))}  ./${path.relative(dir, p)}\n`);
    }
  };
  walk(dir);
  return out.sort().join('');
}

function check(stdin: string, cwd: string | null = dir): { code: number; out: string; err: string } {
  const r = spawnSync('bash', ['-c', checkSumsScript(cwd)], { input: stdin, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('every file matching its line passes', () => {
  const r = check(listing());
  expect(r).toEqual({ code: 0, out: '', err: '' });
});

test('absolute paths without a directory (the archived binlogs), binary-mode lines too', () => {
  const f = path.join(dir, 'ibdata1');
  expect(check(`${sha(fs.readFileSync(f))} *${f}\n`, null).code).toBe(0);
});

test('a changed file fails with sha256sum -c words and its path', () => {
  const list = listing();
  fs.appendFileSync(path.join(dir, 'shop', 't40.ibd'), 'x');
  const r = check(list);
  expect(r.code).toBe(1);
  expect(r.out).toBe('./shop/t40.ibd: FAILED\n');
});

test('a missing file fails as "FAILED open or read", the others are still checked', () => {
  const list = listing();
  fs.rmSync(path.join(dir, 'shop', 'a name with spaces.frm'));
  fs.writeFileSync(path.join(dir, 'shop', 't3.ibd'), 'other');
  const r = check(list);
  expect(r.code).toBe(1);
  expect(r.out.split('\n').filter(Boolean).sort()).toEqual(['./shop/a name with spaces.frm: FAILED open or read', './shop/t3.ibd: FAILED']);
});

test('an empty list, a malformed line, an upper-case digest or a blank line fail before anything is read', () => {
  expect(check('').code).toBe(1);
  expect(check('').err).toMatch(/no properly formatted checksum lines/);
  const good = listing();
  for (const bad of [`${'0'.repeat(63)}  ./ibdata1\n`, `${'A'.repeat(64)}  ./ibdata1\n`, '\n', `${'0'.repeat(64)}./ibdata1\n`, 'garbage\n']) {
    const r = check(good + bad);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/improperly formatted checksum line/);
  }
});

test('the set listing the backup writes: the same digests as node computes, one line per file, none lost or split', () => {
  const want = listing();
  fs.writeFileSync(path.join(dir, STREAM_DONE), '');
  const out = execFileSync('bash', ['-c', hashSetScript(dir)], { encoding: 'utf8' });
  const [sizes, sums] = out.split('--\n');
  const files = filesFrom(sizes!, sums!);
  expect(files).toHaveLength(72);
  const m = { files } as Parameters<typeof checkList>[0];
  expect(checkList(m).split('\n').sort().join('\n')).toBe(want.split('\n').sort().join('\n'));
  expect(check(checkList(m)).code).toBe(0);
});
