import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { openInstance, type InstanceSession } from '../../src/remote/mysql-instance.js';
import type { BackupRecord } from '../../src/backup/view.js';
import type { VerifyResult } from '../../src/backup/ops.js';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// Issue 12 on the shared lab: a full backup and the binlog archive under a write load, verify,
// clone to a point in time (exactly the rows stamped at or before TIME), from a set and
// --latest, a corrupted set (fails verify, never used by a clone), retention that keeps the
// newest good full set, and backup and clone runners killed with SIGKILL at step boundaries.

jest.setTimeout(1_200_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
const tag = randomBytes(3).toString('hex');
const SRC = `rm-bks${tag}`;
const created: string[] = [];
let lab: TestLab;
let src: InstanceRecord;

interface Row {
  id: number;
  epoch: number;
}

async function secret(custinsId: number): Promise<string> {
  const { ctx } = lab.context();
  try {
    return (await ctx.db('dbaas').query<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [custinsId]))[0]!.secret;
  } finally {
    await ctx.close();
  }
}

async function session(rec: InstanceRecord, role: 'master' | 'slave' = 'master'): Promise<InstanceSession> {
  const n = role === 'master' ? rec.master! : rec.slave!;
  return openInstance({ name: n.host, host: n.ip, port: n.port, user: 'aliyun_root', password: await secret(rec.custins_id) });
}

async function rows(rec: InstanceRecord, role: 'master' | 'slave' = 'master'): Promise<Row[]> {
  const s = await session(rec, role);
  try {
    return (await s.query<{ id: number; epoch: number }>('SELECT id, epoch FROM shop.w ORDER BY id')).map((r) => ({ id: Number(r.id), epoch: Number(r.epoch) }));
  } finally {
    await s.close();
  }
}

/** Inserts a row every ~40 ms; each row records its own commit second (same statement). */
function writer(rec: InstanceRecord): { stop: () => Promise<number> } {
  let stopping = false;
  let n = 0;
  const done = (async () => {
    const s = await session(rec);
    try {
      while (!stopping) {
        await s.query('INSERT INTO shop.w (v, epoch) VALUES (?, UNIX_TIMESTAMP())', [`row-${n++}`]);
        await new Promise((r) => setTimeout(r, 40));
      }
    } finally {
      await s.close();
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await done;
      return n;
    },
  };
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return lab.run(args);
}

async function sets(ins: string): Promise<BackupRecord[]> {
  return json<BackupRecord[]>(await run(['backup', 'list', '--instance', ins, '-o', 'json']));
}

async function healthy(name: string): Promise<InstanceView> {
  const r = await run(['instance', 'show', name, '--live', '-o', 'json']);
  const v = json<InstanceView>(r);
  expect(v.live!.map((l) => [l.role, l.reachable, l.slave_io_running, l.slave_sql_running])).toEqual([
    ['master', true, 'Yes', 'Yes'],
    ['slave', true, 'Yes', 'Yes'],
  ]);
  expect(r.code).toBe(0);
  return v;
}

/** Delete a clone once checked: the shared lab's NCs are this machine. */
async function drop(name: string): Promise<void> {
  const r = await run(['instance', 'delete', name, '--yes', '--reason', 'integration test cleanup']);
  if (r.code !== 0) throw new Error(`delete ${name} failed (exit ${r.code}): ${r.stderr}`);
  created.splice(created.indexOf(name), 1);
}

async function clone(args: string[], name: string): Promise<InstanceRecord> {
  created.push(name);
  const r = await run(['instance', 'clone', SRC, ...args, '--name', name, '-o', 'json']);
  if (r.code !== 0) throw new Error(`clone ${name} exit ${r.code}: ${r.stderr}`);
  return json<InstanceRecord>(r);
}

function storeSetDir(rec: BackupRecord): string {
  return path.join(lab.dir, 'hosts', 'bak-01', rec.dir);
}

/** bin/rdsctl as its own process, killed with SIGKILL when `when` matches a stderr line. */
function killedAt(args: string[], when: RegExp): Promise<{ killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let killed = false;
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!killed && when.test(stderr)) {
        killed = true;
        p.kill('SIGKILL');
      }
    });
    p.on('error', reject);
    p.on('close', () => resolve({ killed, stderr }));
  });
}

beforeAll(async () => {
  lab = sharedLab();
  created.push(SRC);
  const r = await run(['instance', 'create', '--name', SRC, '--db', 'shop', '-o', 'json']);
  if (r.code !== 0) throw new Error(`create ${SRC}: ${r.stderr}`);
  src = json<InstanceRecord>(r);
  const s = await session(src);
  try {
    await s.query('CREATE TABLE shop.w (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32) NOT NULL, epoch BIGINT NOT NULL) ENGINE=InnoDB');
  } finally {
    await s.close();
  }
});

afterAll(async () => {
  for (const name of created.reverse()) {
    const r = await run(['instance', 'delete', name, '--yes', '--reason', 'integration test cleanup']);
    if (r.code !== 0 && r.code !== 3) throw new Error(`delete ${name} failed (exit ${r.code}): ${r.stderr}`);
  }
});

let first: BackupRecord;
let pitrTime = 0;

test('a full backup under a write load: from the standby, manifest last with every sha256; binlogs archived; verify passes', async () => {
  const w = writer(src);
  await new Promise((r) => setTimeout(r, 1500));
  const b = await run(['instance', 'backup', SRC, '-o', 'json']);
  expect(b.stderr).toMatch(/backup from the standby /);
  expect(b.code).toBe(0);
  first = json<BackupRecord>(b);
  expect(first).toMatchObject({ instance: SRC, status: 'success', store_host: 'bak-01', source_role: 'slave', kind: 'full' });
  expect(first.end_gtid).toMatch(/^0-\d+-\d+$/);
  // The source choice is do_choose_backup_source's step result; the task's parameters are untouched.
  const task = json<{ params: Record<string, unknown>; steps: Array<{ step: string; result: unknown }> }>(await run(['task', 'show', String(first.task_id), '-o', 'json']));
  expect(task.steps.find((s) => s.step === 'do_choose_backup_source')?.result).toMatchObject({ source_role: 'slave', set_id: first.id });
  expect(task.params).not.toHaveProperty('set_id');
  expect(task.params).not.toHaveProperty('source_role');
  // Keep writing after the set until rows span several seconds past it (a loaded machine may
  // slow the writer down), then close the binlog and archive it.
  const setSec = Math.floor(Date.parse(first.consistent!) / 1000);
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const secs = new Set((await rows(src)).filter((r) => r.epoch > setSec + 1).map((r) => r.epoch));
    if (secs.size >= 3) break;
  }
  const n = await w.stop();
  expect(n).toBeGreaterThan(20);
  const a = await run(['backup', 'archive', SRC, '--rotate', '-o', 'json']);
  expect(a.code).toBe(0);
  expect(json<{ archived: string[] }>(a).archived.length).toBeGreaterThan(0);

  const show = json<{ manifest: { files: Array<{ path: string; sha256: string }>; end_gtid: string; backup_id: number } }>(await run(['backup', 'show', String(first.id), '-o', 'json']));
  expect(show.manifest.backup_id).toBe(first.id);
  expect(show.manifest.end_gtid).toBe(first.end_gtid);
  const files = show.manifest.files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining(['xtrabackup_checkpoints', 'xtrabackup_binlog_info', 'ibdata1']));
  // A table made since the last checkpoint is streamed as .new and renamed by the prepare.
  expect(files.some((f) => /^shop\/w\.(ibd|new)$/.test(f))).toBe(true);
  const dir = storeSetDir(first);
  expect(fs.readdirSync(dir)).toContain('manifest.json');
  expect(fs.statSync(path.join(dir, 'manifest.json')).mtimeMs).toBeGreaterThanOrEqual(fs.statSync(path.join(dir, 'xtrabackup_checkpoints')).mtimeMs);

  const v = await run(['backup', 'verify', String(first.id), '-o', 'json']);
  expect(json<VerifyResult>(v)).toMatchObject({ manifest: 'ok', checksums: 'ok', prepare: 'ok', verify_status: 'ok' });
  expect(v.code).toBe(0);

  // A time strictly inside the writes after the set: rows on both sides of it.
  const all = await rows(src);
  const after = all.filter((r) => r.epoch * 1000 > Date.parse(first.consistent!) + 1000);
  pitrTime = after[Math.floor(after.length / 2)]!.epoch;
  expect(all.some((r) => r.epoch > pitrTime)).toBe(true);
});

test('clone to a point in time has exactly the rows stamped at or before TIME; the source is untouched', async () => {
  const before = await rows(src);
  const rec = await clone(['--to-time', String(pitrTime)], `rm-bkp${tag}`);
  expect(rec.status).toBe('running');
  const got = await rows(rec);
  expect(got.map((r) => r.id)).toEqual(before.filter((r) => r.epoch <= pitrTime).map((r) => r.id));
  expect(got.length).toBeLessThan(before.length);
  await healthy(rec.ins_name);
  // The standby has the same rows, through replication from the new master.
  expect((await rows(rec, 'slave')).length).toBe(got.length);
  expect(await rows(src)).toEqual(before);
  await healthy(SRC);
  await drop(rec.ins_name);
  // Outside the window: refused with the window.
  const early = await run(['instance', 'clone', SRC, '--to-time', '2001-01-01T00:00:00Z', '--name', `rm-bkx${tag}`]);
  expect(early.code).toBe(2);
  expect(early.stderr).toMatch(/outside the recoverable window \d{4}-\d\d-\d\dT[\d:]+Z \.\. \d{4}/);
  const future = await run(['instance', 'clone', SRC, '--to-time', String(Math.floor(Date.now() / 1000) + 3600), '--name', `rm-bkx${tag}`]);
  expect(future.code).toBe(2);
  expect(future.stderr).toMatch(/in the future; recoverable window/);
});

test('clone from a set and --latest', async () => {
  const all = await rows(src);
  const fromSet = await clone(['--backup', String(first.id)], `rm-bkb${tag}`);
  const inSet = await rows(fromSet);
  // The set holds a prefix of the rows: everything before the backup started, nothing after it ended.
  expect(inSet.map((r) => r.id)).toEqual(all.slice(0, inSet.length).map((r) => r.id));
  expect(inSet.every((r) => r.epoch <= Date.parse(first.consistent!) / 1000)).toBe(true);
  expect(inSet.length).toBeGreaterThanOrEqual(all.filter((r) => r.epoch < Date.parse(first.started!) / 1000).length);
  const latest = await clone(['--latest'], `rm-bkl${tag}`);
  expect((await rows(latest)).map((r) => r.id)).toEqual(all.map((r) => r.id));
  await healthy(latest.ins_name);
  await drop(fromSet.ins_name);
  await drop(latest.ins_name);
});

test('clone killed with SIGKILL at step boundaries resumes to the exact rows and a replicating pair', async () => {
  const want = (await rows(src)).filter((r) => r.epoch <= pitrTime).map((r) => r.id);
  const boundaries = ['do_restore_backup_slave', 'do_set_gtid_from_backup_set', 'do_apply_binlog_until_time'];
  for (const [i, step] of boundaries.entries()) {
    const name = `rm-bk${i}k${tag}`;
    created.push(name);
    const r = await killedAt(['instance', 'clone', SRC, '--to-time', String(pitrTime), '--name', name], new RegExp(`\\] ${step} `));
    expect(r.killed).toBe(true);
    const res = await run(['instance', 'step', name, 'resume']);
    if (res.code !== 0) throw new Error(`resume ${name}: ${res.stderr}`);
    const rec = json<{ instance: InstanceRecord }>(await run(['instance', 'show', name, '-o', 'json'])).instance;
    expect((await rows(rec)).map((x) => x.id)).toEqual(want);
    await healthy(name);
    await drop(name);
  }
});

test('backup killed with SIGKILL at step boundaries resumes to a good set', async () => {
  for (const k of [1, 2, 3]) {
    const r = await killedAt(['instance', 'backup', SRC], new RegExp(`\\[${k}/6\\] \\S+ `));
    expect(r.killed).toBe(true);
    const res = await run(['instance', 'step', SRC, 'resume']);
    expect(res.code).toBe(0);
    const newest = (await sets(SRC)).filter((s) => s.store_host)[0]!;
    expect(newest.status).toBe('success');
    const v = await run(['backup', 'verify', String(newest.id), '--no-prepare']);
    expect(v.code).toBe(0);
  }
});

test('a corrupted set fails verify and is never used by a clone', async () => {
  const b = await run(['instance', 'backup', SRC, '-o', 'json']);
  expect(b.code).toBe(0);
  const second = json<BackupRecord>(b);
  fs.appendFileSync(path.join(storeSetDir(second), 'ibdata1'), 'corrupt');
  const v = await run(['backup', 'verify', String(second.id), '-o', 'json']);
  expect(v.code).toBe(4);
  expect(json<VerifyResult>(v)).toMatchObject({ checksums: 'failed', verify_status: 'failed', bad_files: ['ibdata1'] });
  const refused = await run(['instance', 'clone', SRC, '--backup', String(second.id), '--name', `rm-bkx${tag}`]);
  expect(refused.code).toBe(9);
  expect(refused.stderr).toMatch(/not restorable/);
  // --latest now builds on the older good set.
  const dry = await run(['instance', 'clone', SRC, '--latest', '--dry-run', '-o', 'json']);
  expect(dry.stdout).not.toContain(`set ${second.id} `);
  expect(dry.stdout).toMatch(/from rm-bks\w+ set \d+ /);

  // A corruption nobody verified yet is caught by the clone itself, which marks the set.
  const c = json<BackupRecord>(await run(['instance', 'backup', SRC, '-o', 'json']));
  fs.appendFileSync(path.join(storeSetDir(c), 'ibdata1'), 'x');
  created.push(`rm-bkc${tag}`);
  const cl = await run(['instance', 'clone', SRC, '--backup', String(c.id), '--name', `rm-bkc${tag}`]);
  expect(cl.code).toBe(4);
  expect(cl.stderr).toMatch(/do_restore_backup_(master|slave).*checksum mismatch.*ibdata1/);
  expect((await sets(SRC)).find((s) => s.id === c.id)!.verify_status).toBe('failed');
});

test('worker --schedule enqueues the backup the plan says is due and ships binlogs', async () => {
  const now = new Date();
  const hhmm = (d: Date): string => d.toISOString().slice(11, 19);
  const { ctx } = lab.context();
  try {
    await ctx.db('dbaas').execute(
      'INSERT INTO backup_plan (custins_id, window_start, window_end, full_interval_hours) VALUES (?, ?, ?, 0) ON DUPLICATE KEY UPDATE window_start = VALUES(window_start), window_end = VALUES(window_end), full_interval_hours = 0, status = \'active\'',
      [src.custins_id, hhmm(new Date(now.getTime() - 600_000)), hhmm(new Date(now.getTime() + 600_000))],
    );
  } finally {
    await ctx.close();
  }
  const before = (await sets(SRC)).length;
  const r = await run(['worker', '--schedule', '--once']);
  expect(r.stderr).toMatch(new RegExp(`scheduled backup of ${SRC}: task \\d+`));
  // --once runs one task; if it took another instance's, finish ours by hand.
  await run(['instance', 'step', SRC, 'resume']);
  const after = await sets(SRC);
  expect(after.length).toBe(before + 1);
  expect(after[0]!.status).toBe('success');
  const { ctx: c2 } = lab.context();
  try {
    await c2.db('dbaas').execute("UPDATE backup_plan SET status = 'paused' WHERE custins_id = ?", [src.custins_id]);
  } finally {
    await c2.close();
  }
});

test('retention removes old sets but keeps the newest good full one; delete refuses it without --force', async () => {
  const { ctx } = lab.context();
  try {
    await ctx.db('dbaas').execute('INSERT INTO backup_plan (custins_id, retention_days) VALUES (?, 0) ON DUPLICATE KEY UPDATE retention_days = 0', [src.custins_id]);
  } finally {
    await ctx.close();
  }
  const b = json<BackupRecord>(await run(['instance', 'backup', SRC, '-o', 'json']));
  const left = await sets(SRC);
  const inStore = left.filter((s) => s.store_host);
  expect(inStore.map((s) => s.id)).toEqual([b.id]);
  expect(fs.existsSync(path.join(storeSetDir(b), 'manifest.json'))).toBe(true);
  expect(fs.existsSync(storeSetDir(first))).toBe(false);
  const del = await run(['backup', 'delete', String(b.id), '--yes']);
  expect(del.code).toBe(9);
  expect(del.stderr).toMatch(/newest good full set/);
});
