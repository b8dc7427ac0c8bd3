import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { openInstance } from '../../src/remote/mysql-instance.js';
import { createDb } from '../../src/remote/mysql.js';
import { ensureLabCa, ensureServerCert } from '../../src/lab/tls.js';
import { startRogue, type Rogue } from '../support/rogue-mysql.js';
import { runCli } from '../support/run.js';

// Rogue MySQL servers on loopback (#16): a metadb DSN or an instance address answered by a server
// rdsctl should not trust. With the profile's tls.ca, a server without TLS, with a certificate
// from another CA, or with the right CA's certificate for another address is refused before any
// credential is sent. Whatever the TLS setting, a server that asks for the password in readable
// form (RSA public-key retrieval, sha256_password / caching_sha2_password full authentication)
// outside a verified TLS session does not get it.

jest.setTimeout(60_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-rogue-'));
const PW = `Secret-${randomBytes(9).toString('hex')}`;
const USER = `usr${randomBytes(4).toString('hex')}`;
const ours = path.join(tmp, 'ours');
const theirs = path.join(tmp, 'theirs');
let rogue: Rogue | undefined;

afterEach(async () => {
  await rogue?.close();
  rogue = undefined;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function certFor(labDir: string, name: string, ip: string): { key: string; cert: string } {
  const c = ensureServerCert(labDir, name, [ip], []);
  return { key: fs.readFileSync(c.key, 'utf8'), cert: fs.readFileSync(c.cert, 'utf8') };
}

function writeProfile(port: number, withTls: boolean): string {
  const file = path.join(tmp, `config-${port}.json`);
  const profile = {
    name: 'rogue',
    databases: { dbaas: { dsn: `mysql://${USER}@127.0.0.1:${port}/dbaas`, password: PW } },
    ssh: {},
    roles_source: 'none',
    audit_log: path.join(tmp, 'audit.jsonl'),
    ...(withTls ? { tls: { ca: ensureLabCa(ours).cert } } : {}),
  };
  fs.writeFileSync(file, JSON.stringify({ current: 'rogue', profiles: [profile] }), { mode: 0o600 });
  return file;
}

function nothingSent(r: Rogue): void {
  expect(r.recovered()).toBeNull();
  expect(r.keyRequested()).toBe(false);
  expect(r.inTls().length).toBe(0);
  expect(r.raw().includes(Buffer.from(USER))).toBe(false);
  expect(r.raw().includes(Buffer.from(PW))).toBe(false);
}

describe('instance address answered by a rogue (no TLS configured): the password is never given away', () => {
  for (const plugin of ['sha256_password', 'caching_sha2_password'] as const) {
    test(`switch to ${plugin} with the rogue's own RSA key: refused, nothing recovered`, async () => {
      rogue = await startRogue({ switchTo: plugin });
      const err = await openInstance({ name: 'nc-x', host: '127.0.0.1', port: rogue.port, user: USER, password: PW, connectTimeoutMs: 5000 }).then(
        () => null,
        (e: Error) => e,
      );
      expect(rogue.recovered()).toBeNull();
      expect(rogue.keyRequested()).toBe(false);
      expect(err?.message).toBe(`nc-x 127.0.0.1:${rogue.port} is not trusted: refused to send the password: the server asked for it in readable form (RSA public-key retrieval or cleartext) outside a verified TLS session; no password was sent`);
    });
  }
});

describe('metadb DSN answered by a rogue, profile with tls.ca', () => {
  test('a server that offers no TLS: exit 8, one line, not a byte sent', async () => {
    rogue = await startRogue({ switchTo: 'sha256_password' });
    const r = await runCli(['instance', 'list'], { env: { ...process.env, RDSCTL_CONFIG: writeProfile(rogue.port, true), NO_COLOR: '1' } });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 8, stderr: expect.stringMatching(new RegExp(`^rdsctl: metadb dbaas at 127\\.0\\.0\\.1:${rogue.port} is not trusted: the server offers no TLS; no password was sent \\(the profile's tls\\.ca must have issued the server's certificate for the DSN's host\\)\\n$`)) });
    expect(rogue.raw().length).toBe(0);
    nothingSent(rogue);
  });

  test('TLS with a certificate from another CA: exit 8, one line, nothing inside TLS', async () => {
    rogue = await startRogue({ switchTo: 'sha256_password', tls: certFor(theirs, 'metadb', '127.0.0.1') });
    const r = await runCli(['instance', 'list'], { env: { ...process.env, RDSCTL_CONFIG: writeProfile(rogue.port, true), NO_COLOR: '1' } });
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(new RegExp(`^rdsctl: metadb dbaas at 127\\.0\\.0\\.1:${rogue.port} is not trusted: its TLS certificate is not trusted: [^\\n]+; no password was sent \\(the profile's tls\\.ca [^\\n]*\\)\\n$`));
    nothingSent(rogue);
  });

  test("TLS with our CA's certificate for another address: refused the same way", async () => {
    rogue = await startRogue({ switchTo: 'sha256_password', tls: certFor(ours, 'elsewhere', '127.0.0.9') });
    const db = createDb('dbaas', { dsn: `mysql://${USER}@127.0.0.1:${rogue.port}/dbaas`, password: PW }, { tls: { ca: ensureLabCa(ours).cert } });
    const err = await db.query('SELECT 1').then(
      () => null,
      (e: Error) => e,
    );
    await db.close();
    expect(err?.message).toMatch(/is not trusted: its TLS certificate is not trusted: .*IP: 127\.0\.0\.1 is not in the cert's list: 127\.0\.0\.9; no password was sent$/);
    nothingSent(rogue);
  });

  test("control: our CA's certificate for 127.0.0.1 is accepted (TLS up, the login goes inside it)", async () => {
    rogue = await startRogue({ switchTo: 'sha256_password', tls: certFor(ours, 'metadb', '127.0.0.1') });
    const db = createDb('dbaas', { dsn: `mysql://${USER}@127.0.0.1:${rogue.port}/dbaas`, password: PW }, { tls: { ca: ensureLabCa(ours).cert } });
    await db.query('SELECT 1').catch(() => undefined);
    await db.close();
    // A server the CA vouches for is trusted with the password: that is what the CA is for.
    expect(rogue.inTls().includes(Buffer.from(USER))).toBe(true);
    expect(rogue.raw().includes(Buffer.from(USER))).toBe(false);
  });
});
