import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { ensureLabCa } from '../../src/lab/tls.js';
import { hostLayout, type HostLayout, type Node } from '../../src/rds/layout.js';
import { renderMyCnf } from '../../src/rds/mycnf.js';
import { replicationTlsOptions } from '../../src/rds/instance-tls.js';
import { caSha256, certProblem, issueServerCert, issuingCa, parseTlsFiles, readTlsFilesScript, writeTlsFilesScript } from '../../src/rds/server-cert.js';

// Instance node certificates (#16): issued on the jump host with the profile's CA, checked with
// openssl itself, written to the NC by the step's script, named in my.cnf.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-cert-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ours = ensureLabCa(path.join(tmp, 'ours'));
const theirs = ensureLabCa(path.join(tmp, 'theirs'));
const ca = issuingCa({ ca: ours.cert, ca_key: ours.key });

function write(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
}

test('the issued certificate verifies against the CA with openssl and names exactly the node IP', async () => {
  const c = await issueServerCert(ca, '10.1.2.3', 'rm-x.master');
  const certFile = write('node.pem', c.cert);
  expect(execFileSync('openssl', ['verify', '-CAfile', ours.cert, certFile], { encoding: 'utf8' }).trim()).toBe(`${certFile}: OK`);
  const text = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-ext', 'subjectAltName,basicConstraints,extendedKeyUsage'], { encoding: 'utf8' });
  expect(text).toMatch(/IP Address:10\.1\.2\.3\s*\n/);
  expect(text).not.toMatch(/DNS:/);
  expect(text).toMatch(/CA:FALSE/);
  expect(text).toMatch(/TLS Web Server Authentication/);
  // The key is the certificate's own, unencrypted PEM (mysqld reads it without a passphrase).
  const keyFile = write('node.key', c.key);
  const pub = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });
  expect(pub(['pkey', '-in', keyFile, '-pubout'])).toBe(pub(['x509', '-in', certFile, '-noout', '-pubkey']));
  // Another CA does not vouch for it.
  expect(spawnSync('openssl', ['verify', '-CAfile', theirs.cert, certFile]).status).not.toBe(0);
});

test('certProblem: kept only when issued by this CA, for this IP, with its key and time left', async () => {
  const now = new Date();
  const c = await issueServerCert(ca, '10.1.2.3', 'rm-x.master');
  const caPem = fs.readFileSync(ours.cert, 'utf8');
  const files = { ca: caPem, cert: c.cert, key: c.key };
  expect(certProblem(files, caPem, '10.1.2.3', now)).toBeNull();
  expect(certProblem(files, caPem, '10.1.2.4', now)).toBe('its certificate does not name 10.1.2.4');
  expect(certProblem({ ...files, cert: '', key: '' }, caPem, '10.1.2.3', now)).toBe('no certificate');
  const other = await issueServerCert(ca, '10.1.2.3', 'other');
  expect(certProblem({ ...files, key: other.key }, caPem, '10.1.2.3', now)).toBe('its key does not match its certificate');
  const theirCa = issuingCa({ ca: theirs.cert, ca_key: theirs.key });
  const foreign = await issueServerCert(theirCa, '10.1.2.3', 'rm-x.master');
  expect(certProblem({ ...files, cert: foreign.cert, key: foreign.key }, caPem, '10.1.2.3', now)).toBe('its certificate was not issued by the CA');
  expect(certProblem({ ...files, ca: theirCa.caPem }, caPem, '10.1.2.3', now)).toBe('its ca.pem is another CA');
  // Near its end (825 days, renewed 30 days before): 800 days from now it is due.
  expect(certProblem(files, caPem, '10.1.2.3', new Date(now.getTime() + 800 * 86_400_000))).toMatch(/^its certificate expires .* \(renewed 30 days before\)$/);
  expect(caSha256(caPem)).toMatch(/^[0-9a-f]{64}$/);
});

test('issuing needs the CA key, readable by its owner only; the IP must be an address', async () => {
  expect(() => issuingCa(undefined)).toThrow(/no tls section/);
  expect(() => issuingCa({ ca: ours.cert })).toThrow(/has no ca_key/);
  const loose = path.join(tmp, 'loose.key');
  fs.copyFileSync(ours.key, loose);
  fs.chmodSync(loose, 0o644);
  expect(() => issuingCa({ ca: ours.cert, ca_key: loose })).toThrow(/mode 644, readable by others/);
  await expect(issueServerCert(ca, '10.1.2.3; rm -rf /', 'x')).rejects.toThrow(/not an IPv4 address/);
});

function fakeLayout(root: string): HostLayout {
  const l = hostLayout(3306);
  const dbs = path.join(root, 'dbs3306');
  const data = path.join(root, 'data3306');
  fs.mkdirSync(dbs, { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  const dir = path.join(dbs, 'tls');
  return { ...l, dbsDir: dbs, dataDir: data, tls: { dir, ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server-cert.pem'), key: path.join(dir, 'server-key.pem') } };
}

test('the NC script writes the three files from stdin (key 0600, owned like the datadir) and reads them back', async () => {
  const l = fakeLayout(path.join(tmp, 'nc'));
  const c = await issueServerCert(ca, '10.1.2.3', 'rm-x.master');
  const caPem = fs.readFileSync(ours.cert, 'utf8');
  const r = spawnSync('sh', ['-c', writeTlsFilesScript(l)], { input: caPem + c.cert + c.key, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const st = fs.statSync(l.dataDir);
  expect(r.stdout.trim()).toBe(`${st.uid}:${st.gid}`);
  expect((fs.statSync(l.tls.key).mode & 0o777).toString(8)).toBe('600');
  expect((fs.statSync(l.tls.cert).mode & 0o777).toString(8)).toBe('644');
  expect(fs.readdirSync(l.tls.dir).sort()).toEqual(['ca.pem', 'server-cert.pem', 'server-key.pem']);
  const back = parseTlsFiles(execFileSync('sh', ['-c', readTlsFilesScript(l)], { encoding: 'utf8' }));
  expect(certProblem(back, caPem, '10.1.2.3', new Date())).toBeNull();
  // Two PEM blocks instead of three: nothing is replaced.
  const before = fs.readFileSync(l.tls.cert, 'utf8');
  const bad = spawnSync('sh', ['-c', writeTlsFilesScript(l)], { input: caPem + c.cert, encoding: 'utf8' });
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toMatch(/expected 3 PEM blocks/);
  expect(fs.readFileSync(l.tls.cert, 'utf8')).toBe(before);
  expect(fs.readdirSync(l.tls.dir).sort()).toEqual(['ca.pem', 'server-cert.pem', 'server-key.pem']);
});

describe('my.cnf and replication name the node files', () => {
  const node: Node = { role: 'master', instanceId: 7, hostinfoId: 1, host: 'nc-a01', ip: '127.0.0.5', port: 3306, sshPort: 22, target: { name: 'nc-a01', address: '127.0.0.5', port: 22 }, layout: hostLayout(3306) };
  test('ssl_ca / ssl_cert / ssl_key in [mysqld] for a node with a certificate', () => {
    const cnf = renderMyCnf({ insName: 'rm-x', node, serverId: 7, readOnly: false, params: [{ name: 'require_secure_transport', value: 'ON' }], tls: true });
    expect(cnf).toContain('\nssl_ca = /mysqldata/dbs3306/tls/ca.pem\nssl_cert = /mysqldata/dbs3306/tls/server-cert.pem\nssl_key = /mysqldata/dbs3306/tls/server-key.pem\n');
    expect(renderMyCnf({ insName: 'rm-x', node, serverId: 7, readOnly: false, params: [] })).not.toContain('ssl_');
  });
  test('require_secure_transport without a certificate would lock every TCP client out: refused', () => {
    expect(() => renderMyCnf({ insName: 'rm-x', node, serverId: 7, readOnly: false, params: [{ name: 'require_secure_transport', value: 'ON' }] })).toThrow(/require_secure_transport is ON but the node has no server certificate/);
  });
  test('CHANGE MASTER options: TLS, the CA on the replica, the master certificate verified', () => {
    expect(replicationTlsOptions(hostLayout(3306))).toBe("MASTER_SSL=1, MASTER_SSL_CA='/mysqldata/dbs3306/tls/ca.pem', MASTER_SSL_VERIFY_SERVER_CERT=1");
  });
});
