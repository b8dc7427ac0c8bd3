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
import { AckedWriter } from '../support/ha-writer.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// Issue 12, data at rest: a canary string written through SQL is in the files before
// `instance encrypt` (datadir, binlogs, relay logs, a backup set) and in none of them after,
// while SQL still reads it on both servers; a backup taken after is encrypted and verifies; a
// clone of the encrypted instance carries its key; the key is in no metadb table, output or audit.

jest.setTimeout(900_000);

const tag = randomBytes(3).toString('hex');
const NAME = `rm-enc${tag}`;
const CANARY = `CANARY-${tag}-${randomBytes(6).toString('hex')}`;
const APP_PW = `Ap1-${randomBytes(9).toString('base64url')}`;
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
  const c = await lab.run(['instance', 'create', '--name', NAME, '--db', 'shop', '--account', 'app', '--password-stdin', '-o', 'json'], { stdin: `${APP_PW}\n` });
  if (c.code !== 0) throw new Error(`create: ${c.stderr}`);
  rec = json<InstanceRecord>(c);
  await sqlOn(rec, 'master', 'CREATE TABLE shop.c (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB');
  await sqlOn(rec, 'master', 'CREATE TABLE shop.wr (id INT PRIMARY KEY) ENGINE=InnoDB');
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
let encSet: BackupRecord;
let firstKeyId = '';

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

test('after instance encrypt (writable but for one switchover) the canary is readable through SQL and in no file; new sets are encrypted', async () => {
  // A client writing through the endpoint the whole time: it loses no acknowledged write and is
  // refused only around the switchover (the standby's and then the old master's restart do not stop it).
  const [h, p] = rec.endpoint!.split(':');
  const w = new AckedWriter({ host: h!, port: Number(p), user: 'app', password: APP_PW, db: 'shop', table: 'wr' });
  w.start();
  let e: Awaited<ReturnType<TestLab['run']>>;
  const t0 = Date.now();
  try {
    await w.waitAcks(20);
    e = await lab.run(['instance', 'encrypt', NAME, '--yes', '--reason', 'canary test', '-o', 'json']);
    await w.waitAcks(20);
  } finally {
    await w.stop();
  }
  if (e.code !== 0) throw new Error(`encrypt: ${e.stderr}`);
  const out = json<{ status: string; encryption: string; key_id: string; steps: Array<{ step: string; detail: string | null }> }>(e);
  expect(out).toMatchObject({ status: 'done', encryption: 'enabled' });
  firstKeyId = out.key_id;
  const detail = (name: string): string => out.steps.find((s) => s.step === name)?.detail ?? '';
  expect(detail('do_record_encrypt_switchover')).toMatch(/writes paused \d+\.\d s/);
  expect(detail('do_restart_old_master_for_encryption')).toMatch(/as the standby/);
  // The roles end swapped; the route leads to the new master; one switchover event.
  const after = json<InstanceView>(await lab.run(['instance', 'show', NAME, '-o', 'json'])).instance;
  expect(after.master!.host).toBe(rec.slave!.host);
  expect(after.slave!.host).toBe(rec.master!.host);
  rec = after;
  const { ctx } = lab.context();
  try {
    const ev = await ctx.db('dbaas').query<{ kind: string; detail: string }>("SELECT kind, detail FROM ha_event WHERE custins_id = ? AND kind = 'switchover'", [rec.custins_id]);
    expect(ev.map((x) => x.kind)).toEqual(['switchover']);
    expect(ev[0]!.detail).toMatch(/cause: instance encrypt/);
  } finally {
    await ctx.close();
  }
  const ids = new Set((await sqlOn(rec, 'master', 'SELECT id FROM shop.wr')).map((r) => Number(r.id)));
  expect(w.acked.filter((id) => !ids.has(id))).toEqual([]);
  // Writable for the run: the time without acknowledgements is a small part of it (one switchover
  // pause, plus a semi-sync wait while a standby restarts, bounded by rpl_semi_sync_master_timeout).
  const took = Date.now() - t0;
  const unavailable = w.gaps.reduce((a, g) => a + g.ms, 0);
  process.stderr.write(`encrypt took ${took} ms; writer: ${w.acked.length} acks, ${w.errors} errors, gaps > 200 ms: ${w.gaps.map((g) => g.ms).join(', ')} ms (max ${w.maxGapMs})\n`);
  expect(w.maxGapMs).toBeLessThan(12_000);
  expect(unavailable).toBeLessThan(took / 2);
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
  encSet = set;
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

test('--rotate-key: a new key appended and used by every table on both servers; older sets still verify; the canary stays in no file', async () => {
  const keyFile = (n: { host: string; port: number }): string => disk(n.host, `/mysqldata/dbs${n.port}/keys/keyfile`);
  const oldKey = fs.readFileSync(keyFile(rec.master!), 'utf8');
  const dry = await lab.run(['instance', 'encrypt', NAME, '--rotate-key', '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout + dry.stderr).toMatch(/do_add_rotated_key/);
  expect(dry.stdout + dry.stderr).not.toMatch(/do_create_encryption_key/);
  const again = await lab.run(['instance', 'encrypt', NAME, '--yes']);
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(/already encrypted .*--rotate-key/);

  const r = await lab.run(['instance', 'encrypt', NAME, '--rotate-key', '--yes', '--reason', 'rotation test', '-o', 'json']);
  if (r.code !== 0) throw new Error(`rotate: ${r.stderr}`);
  const out = json<{ status: string; encryption: string; key_id: string; steps: Array<{ step: string; status: string; detail: string | null }> }>(r);
  expect(out).toMatchObject({ status: 'done', encryption: 'enabled' });
  expect(out.key_id).not.toBe(firstKeyId);
  expect(out.steps.find((x) => x.step === 'do_create_encryption_key')!.status).toBe('skipped');
  expect(out.steps.find((x) => x.step === 'do_reencrypt_tables_with_new_key')!.detail).toMatch(/re-encrypted with key id 3/);
  const after = json<InstanceView>(await lab.run(['instance', 'show', NAME, '-o', 'json'])).instance;
  expect(after.master!.host).toBe(rec.slave!.host);
  rec = after;
  // The key file: the old keys unchanged, one new 256-bit key under id 3, the same on both NCs, 0600.
  for (const n of [rec.master!, rec.slave!]) {
    const k = fs.readFileSync(keyFile(n), 'utf8');
    expect(k.startsWith(oldKey)).toBe(true);
    expect(k.slice(oldKey.length)).toMatch(/^3;[0-9a-f]{64}\n$/);
    expect(fs.statSync(keyFile(n)).mode & 0o777).toBe(0o600);
  }
  // Every table of the instance's schemas uses key 3 on both servers; new tables get it too.
  await sqlOn(rec, 'master', 'CREATE TABLE shop.after_rotation (id INT PRIMARY KEY) ENGINE=InnoDB');
  for (const role of ['master', 'slave'] as const) {
    const ks = await sqlOn(rec, role, "SELECT NAME AS n, CURRENT_KEY_ID AS k FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME LIKE 'shop/%' ORDER BY NAME");
    expect(ks.map((x) => [x.n, Number(x.k)])).toEqual([['shop/after_rotation', 3], ['shop/c', 3], ['shop/wr', 3]]);
  }
  expect(await canaryRead(rec)).toEqual([CANARY, CANARY]);
  expect(holders(serverDirs(rec))).toEqual([]);
  expect(fs.readdirSync(disk('bak-01', `/backup/${NAME}/keys`))).toHaveLength(2);
  expect(r.stdout + r.stderr).not.toContain(fs.readFileSync(keyFile(rec.master!), 'utf8').split('\n')[2]!.split(';')[1]!);
  // A set made before the rotation still verifies with its own key; a new one with the new key.
  const oldVer = await lab.run(['backup', 'verify', String(encSet.id), '-o', 'json']);
  expect(json<{ prepare: string; verify_status: string }>(oldVer)).toMatchObject({ prepare: 'ok', verify_status: 'ok' });
  const b = await lab.run(['instance', 'backup', NAME, '-o', 'json']);
  expect(b.code).toBe(0);
  const set = json<BackupRecord>(b);
  expect(set.encrypted).toBe(true);
  expect(holders([disk('bak-01', set.dir)])).toEqual([]);
  const ver = await lab.run(['backup', 'verify', String(set.id), '-o', 'json']);
  expect(json<{ prepare: string; verify_status: string }>(ver)).toMatchObject({ prepare: 'ok', verify_status: 'ok' });
});

test('a clone to a point in time of the encrypted instance replays its encrypted archived binlogs exactly up to TIME', async () => {
  // Rows stamped with their own commit second, written after the newest (encrypted) set.
  await sqlOn(rec, 'master', 'CREATE TABLE shop.p (id INT AUTO_INCREMENT PRIMARY KEY, epoch BIGINT NOT NULL) ENGINE=InnoDB');
  const n = rec.master!;
  const s = await openInstance({ name: n.host, host: n.ip, port: n.port, user: 'aliyun_root', password: await secret(rec.custins_id) });
  try {
    const t0 = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 400 && Math.floor(Date.now() / 1000) < t0 + 5; i++) {
      await s.query('INSERT INTO shop.p (epoch) VALUES (UNIX_TIMESTAMP())');
      await new Promise((r) => setTimeout(r, 60));
    }
  } finally {
    await s.close();
  }
  const a = await lab.run(['backup', 'archive', NAME, '--rotate', '-o', 'json']);
  expect(a.code).toBe(0);
  const { ctx } = lab.context();
  try {
    const enc = await ctx.db('dbaas').query<{ e: number }>("SELECT encrypted AS e FROM binlog_archive WHERE custins_id = ? AND status = 'archived' ORDER BY id DESC LIMIT 1", [rec.custins_id]);
    expect(Number(enc[0]!.e)).toBe(1);
  } finally {
    await ctx.close();
  }
  const all = (await sqlOn(rec, 'master', 'SELECT id, epoch FROM shop.p ORDER BY id')).map((r) => ({ id: Number(r.id), epoch: Number(r.epoch) }));
  const secs = [...new Set(all.map((r) => r.epoch))];
  expect(secs.length).toBeGreaterThanOrEqual(3);
  const time = secs[Math.floor(secs.length / 2)]!;
  const name = `rm-enp${tag}`;
  created.push(name);
  const c = await lab.run(['instance', 'clone', NAME, '--to-time', String(time), '--name', name, '-o', 'json']);
  if (c.code !== 0) throw new Error(`clone --to-time: ${c.stderr}`);
  const cr = json<InstanceRecord>(c);
  const got = (await sqlOn(cr, 'master', 'SELECT id FROM shop.p ORDER BY id')).map((r) => Number(r.id));
  expect(got).toEqual(all.filter((r) => r.epoch <= time).map((r) => r.id));
  expect(got.length).toBeLessThan(all.length);
  expect(await canaryRead(cr)).toEqual([CANARY, CANARY]);
  expect(holders([...serverDirs(cr), ...[cr.master!, cr.slave!].map((x) => disk(x.host, `/mysqldata/backup${x.port}`))])).toEqual([]);
  const show = json<InstanceView>(await lab.run(['instance', 'show', name, '--live', '-o', 'json']));
  expect(show.live!.map((l) => [l.slave_io_running, l.slave_sql_running])).toEqual([
    ['Yes', 'Yes'],
    ['Yes', 'Yes'],
  ]);
  const steps = json<{ steps: Array<{ step: string; detail: string | null }> }>(await lab.run(['task', 'show', String(show.tasks.find((t) => t.flow === 'clone')!.task_id), '-o', 'json']));
  expect(steps.steps.find((x) => x.step === 'do_apply_binlog_until_time')!.detail).toMatch(/encrypted binlogs through a local reader/);
  const del = await lab.run(['instance', 'delete', name, '--yes', '--reason', 'integration test cleanup']);
  expect(del.code).toBe(0);
  created.splice(created.indexOf(name), 1);
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
