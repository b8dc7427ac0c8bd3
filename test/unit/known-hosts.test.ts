import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { KnownHosts, keyTypeOfBlob, knownHostsName } from '../../src/remote/known-hosts.js';

/** An ed25519 public key in SSH wire format, as ssh2 hands it to the host verifier. */
function newBlob(): Buffer {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const raw = Buffer.from(jwk.x!, 'base64url');
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
}
const line = (hosts: string, blob: Buffer, marker = ''): string => `${marker ? `${marker} ` : ''}${hosts} ssh-ed25519 ${blob.toString('base64')}`;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-kh-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const A = newBlob();
const B = newBlob();
const C = newBlob();

describe('KnownHosts.check', () => {
  test('plain entries: port 22 bare, other ports bracketed, case-insensitive', () => {
    const kh = new KnownHosts('/x', [line('nc-a01', A), line('[127.0.0.5]:2222', B), line('NC-UP', C)].join('\n'));
    expect(kh.check('nc-a01', 22, A)).toEqual({ status: 'ok' });
    expect(kh.check('127.0.0.5', 2222, B)).toEqual({ status: 'ok' });
    expect(kh.check('nc-up', 22, C)).toEqual({ status: 'ok' });
    // The bare entry does not cover another port, and the bracketed one does not cover 22.
    expect(kh.check('nc-a01', 2222, A)).toEqual({ status: 'unknown' });
    expect(kh.check('127.0.0.5', 22, B)).toEqual({ status: 'unknown' });
  });

  test('a different key is "changed" with its line number', () => {
    const kh = new KnownHosts('/x', ['# comment', '', line('nc-a01', A)].join('\n'));
    expect(kh.check('nc-a01', 22, B)).toEqual({ status: 'changed', line: 3 });
  });

  test('comma lists, wildcards and negation', () => {
    const kh = new KnownHosts('/x', [line('nc-a01,nc-a02,10.0.0.1', A), line('vm-*,!vm-bad', B), line('[10.1.*]:2222', C)].join('\n'));
    expect(kh.check('nc-a02', 22, A).status).toBe('ok');
    expect(kh.check('10.0.0.1', 22, A).status).toBe('ok');
    expect(kh.check('vm-7', 22, B).status).toBe('ok');
    expect(kh.check('vm-bad', 22, B).status).toBe('unknown');
    expect(kh.check('10.1.2.3', 2222, C).status).toBe('ok');
    expect(kh.check('10.1.2.3', 22, C).status).toBe('unknown');
    expect(kh.check('nc-a01', 22, B)).toEqual({ status: 'changed', line: 1 });
  });

  test('a matching key anywhere wins over another key on record (OpenSSH semantics)', () => {
    const kh = new KnownHosts('/x', [line('nc-a01', A), line('nc-a01', B)].join('\n'));
    expect(kh.check('nc-a01', 22, B).status).toBe('ok');
  });

  test('hashed entries written by ssh-keygen -H', () => {
    const file = path.join(dir, 'hashed');
    fs.writeFileSync(file, [line('nc-h01', A), line('[127.0.0.9]:2200', B)].join('\n') + '\n');
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain('nc-h01');
    expect(text).toMatch(/^\|1\|/);
    const kh = KnownHosts.load(file);
    expect(kh.check('nc-h01', 22, A).status).toBe('ok');
    expect(kh.check('127.0.0.9', 2200, B).status).toBe('ok');
    expect(kh.check('nc-h01', 22, B).status).toBe('changed');
    expect(kh.check('nc-h02', 22, A).status).toBe('unknown');
    expect(kh.keyTypes('127.0.0.9', 2200)).toEqual(['ssh-ed25519']);
  });

  test('@revoked refuses the key even when another line vouches for it', () => {
    const kh = new KnownHosts('/x', [line('nc-a01', A), line('*', A, '@revoked')].join('\n'));
    expect(kh.check('nc-a01', 22, A)).toEqual({ status: 'revoked', line: 2 });
    expect(kh.check('nc-a01', 22, B).status).toBe('changed');
  });

  test('@cert-authority lines never vouch for a plain key', () => {
    const kh = new KnownHosts('/x', line('*.example', A, '@cert-authority'));
    expect(kh.check('nc.example', 22, A).status).toBe('unknown');
    expect(kh.keyTypes('nc.example', 22)).toEqual([]);
  });

  test('malformed and unknown-marker lines are skipped, line numbers still count them', () => {
    const kh = new KnownHosts('/x', ['garbage', '@weird nc-a01 ssh-ed25519 AAAA', 'nc-a01 ssh-ed25519 not*base64', '|1|onlysalt', line('nc-a01', A)].join('\n'));
    expect(kh.check('nc-a01', 22, B)).toEqual({ status: 'changed', line: 5 });
  });

  test('keyTypes lists the types on record', () => {
    const kh = new KnownHosts('/x', [line('nc-a01', A), 'nc-a01 ssh-rsa AAAAB3NzaC1yc2E='].join('\n'));
    expect(kh.keyTypes('nc-a01', 22).sort()).toEqual(['ssh-ed25519', 'ssh-rsa']);
  });
});

describe('KnownHosts.append', () => {
  test('creates the file 0600 and records in memory and on disk', () => {
    const file = path.join(dir, 'sub', 'known_hosts');
    const kh = KnownHosts.load(file);
    expect(kh.check('127.0.0.7', 2022, A).status).toBe('unknown');
    expect(kh.append('127.0.0.7', 2022, A)).toBe(`[127.0.0.7]:2022 ssh-ed25519 ${A.toString('base64')}`);
    expect(kh.check('127.0.0.7', 2022, A).status).toBe('ok');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(KnownHosts.load(file).check('127.0.0.7', 2022, A).status).toBe('ok');
    // OpenSSH reads what we write.
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.7]:2022', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(A.toString('base64'));
  });

  test('adds a newline first when the file does not end with one', () => {
    const file = path.join(dir, 'no-newline');
    fs.writeFileSync(file, line('nc-a01', A));
    KnownHosts.load(file).append('nc-a02', 22, B);
    expect(fs.readFileSync(file, 'utf8').split('\n')).toEqual([line('nc-a01', A), line('nc-a02', B), '']);
  });
});

test('helpers', () => {
  expect(knownHostsName('h', 22)).toBe('h');
  expect(knownHostsName('h', 2222)).toBe('[h]:2222');
  expect(keyTypeOfBlob(A)).toBe('ssh-ed25519');
  expect(keyTypeOfBlob(Buffer.alloc(2))).toBe('');
  expect(keyTypeOfBlob(Buffer.from([0, 0, 1, 0, 65]))).toBe('');
});
