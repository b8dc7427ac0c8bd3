import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { newEd25519KeyPair } from '../../src/remote/keys.js';

// The lab's keys are made in process (src/remote/keys.ts); OpenSSH itself must read them back.
// Comments of every length mod 8 exercise the private block's padding.

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-keys-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('newEd25519KeyPair', () => {
  test('ssh-keygen reads each private key and derives the same public line', () => {
    for (let i = 0; i < 48; i++) {
      const comment = `root@nc-${'a'.repeat(i % 9)}${i}`;
      const k = newEd25519KeyPair(comment);
      const file = path.join(tmp, `k${i}`);
      fs.writeFileSync(file, k.private, { mode: 0o600 });
      expect(execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' })).toBe(k.public);
    }
  });

  test('the public key blob carries all 32 bytes of the key, and keys differ', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const k = newEd25519KeyPair('x');
      const [type, b64, comment] = k.public.trim().split(' ');
      expect([type, comment]).toEqual(['ssh-ed25519', 'x']);
      const blob = Buffer.from(b64!, 'base64');
      expect(blob.readUInt32BE(15)).toBe(32);
      expect(blob.length).toBe(4 + 11 + 4 + 32);
      seen.add(b64!);
    }
    expect(seen.size).toBe(300);
  });

  test('the private key is an unencrypted openssh-key-v1 block', () => {
    const k = newEd25519KeyPair('c');
    expect(k.private).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=]{1,70}\n)+-----END OPENSSH PRIVATE KEY-----\n$/);
    const body = Buffer.from(k.private.split('\n').slice(1, -2).join(''), 'base64');
    expect(body.subarray(0, 15).toString()).toBe('openssh-key-v1\0');
    expect(body.subarray(15, 23).toString()).toBe('\0\0\0\x04none');
  });
});
