import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { openInstance } from '../../src/remote/mysql-instance.js';
import type { BackupRecord } from '../../src/backup/view.js';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// Issue 12, data at rest: a canary string written through SQL is in the files before
// `instance encrypt` (datadir, binlogs, relay logs, a backup set) and in none of them after,
// while SQL still reads it on both servers; a backup taken after is encrypted and verifies; a
// clone of the encrypted instance carries its key; the key is in no metadb table, output or audit.

jest.setTimeout(900_000);

const tag = randomBytes(3).toString('hex');
const NAME = `rm-enc${tag}`;
const CANARY = `CANARY-${tag}-${randomBytes(6).toString('hex')}`;
const created: string[] = [];
let lab: TestLab;
let rec: InstanceRecord;

function disk(host: string, p: string): string {
  return path.join(lab.dir, 'hosts', host, p);
}

/** Every file under the dirs holding the canary, as grep -a finds them (relative to the lab's hosts/). */
function holders(dirs: string[]): string[] {
  const existing = dirs.filter((d) => fs.existsSync(d));
  if (!existing.length) return [];
  try {
    return execFileSync('grep', ['-r', '-l', '-a', '-F', CANARY, ...existing], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map((f) => path.relative(path.join(lab.dir, 'hosts'), f));
  } catch (e) {
    if ((e as { status?: number }).status === 1) return [];
    throw e;
  }
}

function serverDirs(r: InstanceRecord): string[] {
  return [r.master!, r.slave!].flatMap((n) => [disk(n.host, `/home/mysql/data${n.port}`), disk(n.host, `/mysqldata/dbs${n.port}`), disk(n.host, `/mysqldata/tmp${n.port}`)]);
}

async function secret(custinsId: number): Promise<string> {
  const { ctx } = lab.context();
  try {
    return (await ctx.db('dbaas').query<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [custinsId]))[0]!.secret;
  } finally {
    await ctx.close();
  }
}

async function sqlOn(r: InstanceRecord, role: 'master' | 'slave', q: string): Promise<Array<Record<string, unknown>>> {
  const n = role === 'master' ? r.master! : r.slave!;
  const s = await openInstance({ name: n.host, host: n.ip, port: n.port, user: 'aliyun_root', password: await secret(r.custins_id) });
  try {
    return await s.query(q);
  } finally {
    await s.close();
  }
}

async function canaryRead(r: InstanceRecord): Promise<unknown[]> {
  return Promise.all((['master', 'slave'] as const).map(async (role) => (await sqlOn(r, role, 'SELECT v FROM shop.c'))[0]?.v));
}

beforeAll(async () => {
  lab = sharedLab();
  created.push(NAME);
  const c = await lab.run(['instance', 'create', '--name', NAME, '--db', 'shop', '-o', 'json']);
  if (c.code !== 0) throw new Error(`create: ${c.stderr}`);
  rec = json<InstanceRecord>(c);
  await sqlOn(rec, 'master', 'CREATE TABLE shop.c (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB');
  await sqlOn(rec, 'master', `INSERT INTO shop.c VALUES (1, '${CANARY}')`);
  await sqlOn(rec, 'master', 'FLUSH TABLES');
});

afterAll(async () => {
  for (const n of created.reverse()) {
    const r = await lab.run(['instance', 'delete', n, '--yes', '--reason', 'integration test cleanup']);
    if (r.code !== 0 && r.code !== 3) throw new Error(`delete ${n}: ${r.stderr}`);
  }
});

let plainSet: BackupRecord;

test('before encryption the canary is in the datadir, the binlogs, the relay logs and a backup set', async () => {
  expect(await canaryRead(rec)).toEqual([CANARY, CANARY]);
  const found = holders(serverDirs(rec));
  expect(found.some((f) => f.includes('/mysql-bin.'))).toBe(true);
  expect(found.some((f) => f.includes('/relay-bin.'))).toBe(true);
  expect(found.some((f) => f.includes(`/home/mysql/data`))).toBe(true);
  const b = await lab.run(['instance', 'backup', NAME, '-o', 'json']);
  expect(b.code).toBe(0);
  plainSet = json<BackupRecord>(b);
  expect(plainSet.encrypted).toBe(false);
  expect(holders([disk('bak-01', plainSet.dir)]).length).toBeGreaterThan(0);
});

test('after instance encrypt the canary is readable through SQL and in no file; new sets are encrypted', async () => {
  const e = await lab.run(['instance', 'encrypt', NAME, '--yes', '--reason', 'canary test', '-o', 'json']);
  if (e.code !== 0) throw new Error(`encrypt: ${e.stderr}`);
  const out = json<{ status: string; encryption: string; key_id: string; steps: Array<{ step: string; detail: string | null }> }>(e);
  expect(out).toMatchObject({ status: 'done', encryption: 'enabled' });
  expect(out.steps.find((s) => s.step === 'do_restart_master_for_encryption')!.detail).toMatch(/the master was down \d+\.\d s/);
  expect(await canaryRead(rec)).toEqual([CANARY, CANARY]);
  const v = (await sqlOn(rec, 'slave', 'SELECT @@GLOBAL.innodb_encrypt_tables AS t, @@GLOBAL.encrypt_binlog AS b, @@GLOBAL.innodb_encrypt_log AS l'))[0]!;
  expect([v.t, Number(v.b), Number(v.l)]).toEqual(['ON', 1, 1]);
  expect(holders(serverDirs(rec))).toEqual([]);

  // Keys: 0600, owned by the server's user, on both NCs; never in the metadb or in this host's output and audit.
  const keyFiles = [rec.master!, rec.slave!].map((n) => disk(n.host, `/mysqldata/dbs${n.port}/keys/keyfile`));
  const key = fs.readFileSync(keyFiles[0]!, 'utf8');
  expect(fs.readFileSync(keyFiles[1]!, 'utf8')).toBe(key);
  for (const f of keyFiles) {
    const st = fs.statSync(f);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(fs.statSync(path.dirname(path.dirname(f))).uid);
  }
  const hex = key.split('\n')[0]!.split(';')[1]!;
  expect(hex).toMatch(/^[0-9a-f]{64}$/);
  const dump = execFileSync('mariadb-dump', [`--defaults-extra-file=${lab.clientCnf}`, '--skip-extended-insert', 'dbaas'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  expect(dump).not.toContain(hex);
  expect(e.stdout + e.stderr).not.toContain(hex);
  expect(fs.readFileSync(path.join(lab.dir, 'audit.jsonl'), 'utf8')).not.toContain(hex);

  const b = await lab.run(['instance', 'backup', NAME, '-o', 'json']);
  expect(b.code).toBe(0);
  const set = json<BackupRecord>(b);
  expect(set.encrypted).toBe(true);
  expect(holders([disk('bak-01', set.dir)])).toEqual([]);
  const ver = await lab.run(['backup', 'verify', String(set.id), '-o', 'json']);
  expect(json<{ prepare: string; verify_status: string }>(ver)).toMatchObject({ prepare: 'ok', verify_status: 'ok' });

  // A clone of the encrypted instance carries its key and reads the canary; its files hold it nowhere.
  const cloneName = `rm-enk${tag}`;
  created.push(cloneName);
  const c = await lab.run(['instance', 'clone', NAME, '--backup', String(set.id), '--name', cloneName, '-o', 'json']);
  if (c.code !== 0) throw new Error(`clone: ${c.stderr}`);
  const cr = json<InstanceRecord>(c);
  expect(await canaryRead(cr)).toEqual([CANARY, CANARY]);
  expect(holders(serverDirs(cr))).toEqual([]);
  const show = json<InstanceView>(await lab.run(['instance', 'show', cloneName, '--live', '-o', 'json']));
  expect(show.live!.map((l) => [l.slave_io_running, l.slave_sql_running])).toEqual([
    ['Yes', 'Yes'],
    ['Yes', 'Yes'],
  ]);
  expect(fs.readFileSync(disk(cr.master!.host, `/mysqldata/dbs${cr.master!.port}/keys/keyfile`), 'utf8')).toBe(key);
});

test('instance create --encrypt: encrypted from the first start, the key on both NCs and in the store', async () => {
  const name = `rm-enn${tag}`;
  created.push(name);
  const c = await lab.run(['instance', 'create', '--name', name, '--db', 'shop', '--encrypt', '-o', 'json']);
  if (c.code !== 0) throw new Error(`create --encrypt: ${c.stderr}`);
  const r = json<InstanceRecord>(c);
  await sqlOn(r, 'master', 'CREATE TABLE shop.c (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB');
  await sqlOn(r, 'master', `INSERT INTO shop.c VALUES (1, '${CANARY}')`);
  await sqlOn(r, 'master', 'FLUSH TABLES');
  expect(await canaryRead(r)).toEqual([CANARY, CANARY]);
  expect(holders(serverDirs(r))).toEqual([]);
  const keys = fs.readdirSync(disk('bak-01', `/backup/${name}/keys`));
  expect(keys).toHaveLength(1);
  expect(fs.statSync(disk('bak-01', `/backup/${name}/keys/${keys[0]}`)).mode & 0o777).toBe(0o600);
});
