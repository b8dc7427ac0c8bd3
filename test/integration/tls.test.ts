import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import { toNode } from '../../src/rds/layout.js';
import { superuserSession } from '../../src/rds/instance-sql.js';
import { haSession } from '../../src/ha/operate.js';
import { optionValue } from '../../src/monitor/connect.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { startRogue, type Rogue } from '../support/rogue-mysql.js';

// TLS for instances (#16) on a created pair of a class with require_secure_transport=ON: each
// node has a certificate from the lab CA for its IP, rdsctl's sessions and replication use
// verified TLS, a plain login is refused, the HA endpoint carries TLS through to the master, and a
// rogue server on a stopped node's ip:port gets no login from `instance show --live`, `check rds`,
// `instance sessions` or an HA session.

jest.setTimeout(600_000);

const NAME = `rm-tls${randomBytes(4).toString('hex')}`;
// A class of the test's own with the seed's per-class setting (the lab seeds it ON for the
// dedicated rds.mysql.c1.* classes, whose 16 GB+ buffer pools a test lab should not run).
const CLASS = `rds.mysql.tls${randomBytes(3).toString('hex')}`;
let lab: TestLab;
let rec: InstanceRecord;
let suPw: string;
let caFile: string;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-tls-it-'));

async function dbaas<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const { ctx } = lab.context();
  try {
    return await ctx.db('dbaas').query<T>(sql, params);
  } finally {
    await ctx.close();
  }
}

type Row = { id: number; custins_id: number; role: 'master' | 'slave'; hostinfo_id: number; host_name: string; ip: string; port: number; ssh_port: number };
async function nodes(): Promise<Row[]> {
  return dbaas<Row>("SELECT i.id, i.custins_id, i.role, i.hostinfo_id, i.host_name, i.ip, i.port, h.ssh_port FROM instance i JOIN hostinfo h ON h.id = i.hostinfo_id WHERE i.custins_id = ? AND i.status <> 'deleted' ORDER BY i.role", [rec.custins_id]);
}

/** Statements in a session opened the way rdsctl opens them (rds/instance-sql.ts superuserSession). */
async function viaRdsctl<T = Record<string, unknown>>(r: Row, sql: string): Promise<T[]> {
  const { ctx } = lab.context();
  try {
    const s = await superuserSession(ctx.db('dbaas'), rec.custins_id, toNode(r));
    try {
      return await s.query<T>(sql);
    } finally {
      await s.close();
    }
  } finally {
    await ctx.close();
  }
}

/** The system mariadb client with the superuser's login from a 0600 option file. */
function client(host: string, port: number, extra: string[], sql: string): { status: number | null; stdout: string; stderr: string } {
  const cnf = path.join(tmp, `client-${randomBytes(3).toString('hex')}.cnf`);
  fs.writeFileSync(cnf, `[client]\nuser=aliyun_root\npassword=${optionValue(suPw)}\n`, { mode: 0o600 });
  try {
    const r = spawnSync('mariadb', [`--defaults-file=${cnf}`, '-h', host, '-P', String(port), '--connect-timeout=5', '-N', '-B', ...extra, '-e', sql], { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(cnf, { force: true });
  }
}

beforeAll(async () => {
  lab = sharedLab();
  await dbaas("INSERT INTO instance_class (class_code, engine, cpu, mem_mb, max_connections, max_iops, sort_order) VALUES (?, 'mysql', 2, 2048, 300, 600, 998)", [CLASS]);
  await dbaas("INSERT INTO mycnf_template (engine, version, class_code, name, value) SELECT engine, version, ?, 'require_secure_transport', 'ON' FROM engine_version WHERE engine = 'mysql'", [CLASS]);
  expect((await dbaas<{ n: number }>("SELECT COUNT(*) AS n FROM mycnf_template WHERE class_code IN ('rds.mysql.c1.large', 'rds.mysql.c1.xlarge') AND name = 'require_secure_transport' AND value = 'ON'"))[0]!.n).toBeGreaterThan(0);
  const r = await lab.run(['instance', 'create', '--name', NAME, '--class', CLASS, '--reason', 'tls test', '-o', 'json']);
  if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  rec = json<InstanceRecord>(r);
  suPw = (await dbaas<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
  caFile = path.join(lab.dir, 'tls', 'ca.pem');
});

afterAll(async () => {
  if (rec) await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'tls test cleanup']);
  await dbaas('DELETE FROM mycnf_template WHERE class_code = ?', [CLASS]);
  await dbaas('DELETE FROM instance_class WHERE class_code = ?', [CLASS]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('each node holds a certificate from the lab CA for its own IP, the key 0600 and owned like the datadir; the instance is recorded as TLS', async () => {
  for (const n of await nodes()) {
    const l = lab.hostLayoutOnDisk(n.host_name, n.port);
    expect(execFileSync('openssl', ['verify', '-CAfile', caFile, l.tls.cert], { encoding: 'utf8' }).trim()).toBe(`${l.tls.cert}: OK`);
    const san = execFileSync('openssl', ['x509', '-in', l.tls.cert, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    expect(san.trim().split('\n').pop()!.trim()).toBe(`IP Address:${n.ip}`);
    const key = fs.statSync(l.tls.key);
    const data = fs.statSync(l.dataDir);
    expect({ mode: (key.mode & 0o777).toString(8), uid: key.uid }).toEqual({ mode: '600', uid: data.uid });
    expect(fs.readFileSync(l.mycnf, 'utf8')).toContain(`ssl_cert = /mysqldata/dbs${n.port}/tls/server-cert.pem`);
  }
  expect(await dbaas('SELECT custins_id FROM custins_tls WHERE custins_id = ?', [rec.custins_id])).toHaveLength(1);
});

test("rdsctl's sessions are TLS (Ssl_cipher set); replication uses TLS and verifies the master's certificate", async () => {
  for (const n of await nodes()) {
    const [c] = await viaRdsctl<{ Value: string }>(n, "SHOW STATUS LIKE 'Ssl_cipher'");
    expect(c!.Value).not.toBe('');
    const [st] = await viaRdsctl<Record<string, string>>(n, 'SHOW SLAVE STATUS');
    expect({ host: n.role, allowed: st!.Master_SSL_Allowed, verify: st!.Master_SSL_Verify_Server_Cert, ca: st!.Master_SSL_CA_File }).toEqual({ host: n.role, allowed: 'Yes', verify: 'Yes', ca: `/mysqldata/dbs${n.port}/tls/ca.pem` });
    if (n.role === 'slave') expect({ io: st!.Slave_IO_Running, sql: st!.Slave_SQL_Running, err: st!.Last_IO_Error }).toEqual({ io: 'Yes', sql: 'Yes', err: '' });
  }
});

test('require_secure_transport=ON for the class: a plain login is refused, a verified TLS login works, also through the HA endpoint', async () => {
  const m = (await nodes()).find((n) => n.role === 'master')!;
  const [v] = await viaRdsctl<{ r: number }>(m, 'SELECT @@GLOBAL.require_secure_transport AS r');
  expect(Number(v!.r)).toBe(1);
  const verified = client(m.ip, m.port, ['--ssl', `--ssl-ca=${caFile}`, '--ssl-verify-server-cert'], "SHOW STATUS LIKE 'Ssl_cipher'");
  expect(verified.stderr).toBe('');
  expect(verified.stdout).toMatch(/^Ssl_cipher\t\S+/);
  // The same login without TLS is refused, and only because of the transport: with the variable
  // OFF for a moment it is let in.
  const plain = client(m.ip, m.port, ['--ssl=0'], 'SELECT 1');
  expect({ status: plain.status, stderr: plain.stderr }).toEqual({ status: 1, stderr: expect.stringMatching(/^ERROR (3159|1045) /) });
  await viaRdsctl(m, 'SET GLOBAL require_secure_transport = OFF');
  try {
    expect(client(m.ip, m.port, ['--ssl=0'], 'SELECT 1')).toEqual({ status: 0, stdout: '1\n', stderr: '' });
  } finally {
    await viaRdsctl(m, 'SET GLOBAL require_secure_transport = ON');
  }
  // The endpoint is a TCP route (HAProxy, no health check of its own: the HA watcher checks the
  // servers over verified TLS): TLS goes through to the master, whose certificate names its IP.
  const [eh, ep] = rec.endpoint!.split(':');
  const viaEndpoint = client(eh!, Number(ep), ['--ssl', `--ssl-ca=${caFile}`], 'SELECT @@GLOBAL.server_id, @@GLOBAL.read_only');
  expect(viaEndpoint.stderr).toBe('');
  expect(viaEndpoint.stdout.trim()).toBe(`${m.id}\t0`);
  expect(client(eh!, Number(ep), ['--ssl=0'], 'SELECT 1').status).toBe(1);
});

test('after a switchover both replication channels still verify TLS', async () => {
  const r = await lab.run(['instance', 'switchover', NAME, '--yes', '--reason', 'tls test']);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  const ns = await nodes();
  const slave = ns.find((n) => n.role === 'slave')!;
  const oldMaster = rec.master!;
  expect(`${slave.ip}:${slave.port}`).toBe(`${oldMaster.ip}:${oldMaster.port}`);
  const [st] = await viaRdsctl<Record<string, string>>(slave, 'SHOW SLAVE STATUS');
  expect({ allowed: st!.Master_SSL_Allowed, verify: st!.Master_SSL_Verify_Server_Cert, io: st!.Slave_IO_Running }).toEqual({ allowed: 'Yes', verify: 'Yes', io: 'Yes' });
});

describe('a rogue server on the stopped standby ip:port gets no login', () => {
  let rogue: Rogue | undefined;
  let standby: Row;

  beforeAll(async () => {
    standby = (await nodes()).find((n) => n.role === 'slave')!;
    const stop = await lab.run(['instance', 'stop', NAME, '--role', 'standby', '--yes', '--reason', 'tls test']);
    if (stop.code !== 0) throw new Error(`instance stop failed: ${stop.stderr}`);
    rogue = await startRogue({ switchTo: 'caching_sha2_password', listen: { host: standby.ip, port: standby.port } });
  });

  afterAll(async () => {
    await rogue?.close();
    await lab.run(['instance', 'start', NAME, '--role', 'standby', '--yes', '--reason', 'tls test']);
  });

  function nothingSent(): void {
    expect(rogue!.recovered()).toBeNull();
    expect(rogue!.keyRequested()).toBe(false);
    expect(rogue!.inTls().length).toBe(0);
    expect(rogue!.raw().includes(Buffer.from('aliyun_root'))).toBe(false);
    expect(rogue!.raw().includes(Buffer.from('aurora'))).toBe(false);
    expect(rogue!.raw().includes(Buffer.from(suPw))).toBe(false);
  }

  const UNTRUSTED = (n: Row) => `${n.host_name} ${n.ip}:${n.port} is not trusted: the server offers no TLS; no password was sent`;

  test('instance show --live: the standby is reported untrusted (exit 4: a server that does not answer as it should)', async () => {
    const r = await lab.run(['instance', 'show', NAME, '--live', '-o', 'json']);
    expect(r.code).toBe(4);
    const live = json<InstanceView>(r).live!.find((x) => x.role === 'slave')!;
    expect(live.error).toBe(UNTRUSTED(standby));
    nothingSent();
  });

  test('check rds: the instance fails with the untrusted standby', async () => {
    const r = await lab.run(['check', 'rds', '-o', 'json']);
    expect(r.code).toBe(4);
    const states = json<{ checks: Array<{ details: { instances: Array<{ ins_name: string; problem: string | null }> } }> }>(r).checks[0]!.details.instances;
    expect(states.find((s) => s.ins_name === NAME)!.problem).toBe(`standby: ${UNTRUSTED(standby)}`);
    nothingSent();
  });

  test('instance sessions --standby (a monitor connection): exit 8, one line', async () => {
    const r = await lab.run(['instance', 'sessions', NAME, '--standby']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 8, stderr: `rdsctl: ${NAME} slave on ${standby.host_name} ${standby.ip}:${standby.port} is not trusted: the server offers no TLS; no password was sent\n` });
    nothingSent();
  });

  test('an HA session (the watcher and switchover probes): refused the same way', async () => {
    const { ctx } = lab.context();
    try {
      const err = await haSession(ctx.db('dbaas'), rec.custins_id, toNode(standby), 3000).then(
        (s) => s.close().then(() => null),
        (e: Error & { exitCode?: number }) => e,
      );
      expect({ message: err?.message, exitCode: err?.exitCode }).toEqual({ message: UNTRUSTED(standby), exitCode: 8 });
    } finally {
      await ctx.close();
    }
    nothingSent();
  });
});
