import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import os from 'node:os';
import { jest } from '@jest/globals';
import type { LogicalDb } from '../../src/core/config.js';
import { mariadbPaths } from '../../src/lab/mariadb.js';
import type { Db } from '../../src/remote/mysql.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// Every lookup query stays on an index. The statements are the ones the commands really send: the
// lab server's general log records them (mysql2 sends text queries, parameters in place) while
// the real CLI runs go2which, go2ncinfo, go2vmlist, instance list, instance step list and hyapi
// detail_*; each logged SELECT is then EXPLAINed in its database. A full table scan (type ALL) of
// a table that grows with the fleet fails the test. (The same statements on the bench's fleet lab,
// 5,000 NCs / 100,000 VMs / 20,000 instances, keep the same indexes; the small lab here is the guard.)

jest.setTimeout(120_000);

/** Tables whose size does not grow with the fleet: a scan of them is as cheap as a lookup. */
const SMALL = new Set([
  'zone', 'cluster', 'natgw', 'operator', 'engine_version', 'instance_class', 'storage_type', 'mycnf_template',
  'product', 'tj_cluster', 'service', 'cluster_service', 'server_role', 'application', 'pangu_cluster', 'vpc', 'vswitch',
]);

/** Instances of padding, one per made-up host (hostinfo ids no real host has). */
const PAD_ROWS = 5000;
const PAD_HOST_ID = 3_000_000_000;

async function padFleetShape(db: Db): Promise<void> {
  for (let i = 0; i < PAD_ROWS; i += 1000) {
    const rows = Array.from({ length: Math.min(1000, PAD_ROWS - i) }, (_, j) => [`explain-pad-${i + j}`, 'mysql', '8.0', 'rds.mysql.s1.small', 20, 'local_ssd', 'cn-hangzhou-a', 'running']);
    await db.execute('INSERT INTO custins (ins_name, engine, version, class_code, storage_gb, storage_type, zone, status) VALUES ?', [rows]);
  }
  const ids = await db.query<{ id: number }>("SELECT id FROM custins WHERE ins_name LIKE 'explain-pad-%' ORDER BY id");
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = ids.slice(i, i + 1000).map((c, j) => [c.id, 'master', PAD_HOST_ID + i + j, `explain-pad-${i + j}`, '127.0.0.1', 3001, 1, 1024, 20, 'running']);
    await db.execute('INSERT INTO instance (custins_id, role, hostinfo_id, host_name, ip, port, cpu, mem_mb, disk_gb, status) VALUES ?', [rows]);
  }
  await db.query('ANALYZE TABLE custins, instance');
}

let lab: TestLab;
const tag = `x${randomInt(1e6, 1e7)}`;
let custinsId = 0;
let taskId = 0;

function admin(sql: string): string {
  const socket = mariadbPaths(lab.dir).socket;
  return execFileSync('mariadb', ['--no-defaults', '--protocol=socket', `--socket=${socket}`, `--user=${os.userInfo().username}`, '--batch', '--skip-column-names', '-e', sql], { encoding: 'utf8' });
}

async function withDb<T>(name: LogicalDb, fn: (db: Db) => Promise<T>): Promise<T> {
  const { ctx } = lab.context();
  try {
    return await fn(ctx.db(name));
  } finally {
    await ctx.close();
  }
}

interface Logged {
  db: LogicalDb;
  sql: string;
}

/** The SELECTs the server logged, each with the database its connection was on. */
function loggedSelects(): Logged[] {
  const rows = admin("SELECT thread_id, command_type, HEX(argument) FROM mysql.general_log WHERE command_type IN ('Connect', 'Init DB', 'Query') ORDER BY event_time, thread_id")
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'));
  const dbOf = new Map<string, string>();
  const out: Logged[] = [];
  for (const [thread, type, hex] of rows) {
    const arg = Buffer.from(hex ?? '', 'hex').toString('utf8');
    if (type === 'Connect') dbOf.set(thread!, / on (\w+)/.exec(arg)?.[1] ?? '');
    else if (type === 'Init DB') dbOf.set(thread!, arg);
    else if (/^\s*SELECT\b/i.test(arg) && dbOf.get(thread!)) out.push({ db: dbOf.get(thread!) as LogicalDb, sql: arg });
  }
  return out;
}

async function capture(commands: string[][]): Promise<Logged[]> {
  admin("SET GLOBAL log_output = 'TABLE'; TRUNCATE TABLE mysql.general_log; SET GLOBAL general_log = 1");
  try {
    for (const args of commands) {
      const r = await lab.run(args);
      if (r.code !== 0 && r.code !== 3) throw new Error(`rdsctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    }
  } finally {
    admin('SET GLOBAL general_log = 0');
  }
  const logged = loggedSelects();
  admin('TRUNCATE TABLE mysql.general_log');
  return logged;
}

const KEYWORDS = new Set(['where', 'on', 'join', 'left', 'right', 'inner', 'cross', 'straight_join', 'order', 'group', 'limit', 'using', 'union', 'having', 'for']);

/** EXPLAIN names tables by their alias: alias → table, from the statement's FROM and JOIN clauses. */
function tablesByAlias(sql: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const [, table, alias] of sql.matchAll(/\b(?:FROM|JOIN)\s+`?(\w+)`?(?:\s+(?:AS\s+)?`?(\w+)`?)?/gi)) {
    m.set(table!, table!);
    if (alias && !KEYWORDS.has(alias.toLowerCase())) m.set(alias, table!);
  }
  return m;
}

interface PlanRow {
  table: string | null;
  type: string | null;
  possible_keys: string | null;
  key: string | null;
  rows: number | null;
}

beforeAll(async () => {
  lab = sharedLab();
  // An instance of this file's own with a task of two steps, so that the instance and step
  // lookups find something and run all their queries.
  await withDb('dbaas', async (db) => {
    const hosts = await db.query<{ id: number; hostname: string; ip: string }>('SELECT id, hostname, ip FROM hostinfo ORDER BY id LIMIT 2');
    const c = await db.execute(
      "INSERT INTO custins (ins_name, engine, version, class_code, storage_gb, storage_type, zone, status) VALUES (?, 'mysql', '8.0', 'rds.mysql.s1.small', 20, 'local_ssd', 'cn-hangzhou-a', 'running')",
      [`rm-${tag}`],
    );
    custinsId = c.insertId;
    const port = 3900 + randomInt(90);
    for (const [role, h] of [['master', hosts[0]!], ['slave', hosts[1]!]] as const) {
      await db.execute("INSERT INTO instance (custins_id, role, hostinfo_id, host_name, ip, port, cpu, mem_mb, disk_gb, status) VALUES (?, ?, ?, ?, ?, ?, 1, 1024, 20, 'running')", [custinsId, role, h.id, h.hostname, h.ip, port]);
    }
    // The shared lab puts every test's instances on a handful of NCs, so host_name stops being
    // selective and MariaDB rightly prefers a scan. A region has thousands of hosts with a few
    // instances each: pad custins and instance to that shape (deleted again in afterAll) so the
    // plan seen here is the plan the fleet gets.
    await padFleetShape(db);
    taskId = (await db.execute("INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, 'install', 'done', '{}', 'explain-test')", [custinsId])).insertId;
    await db.execute("INSERT INTO task_step (task_id, seq, step_name, role, status, attempts) VALUES (?, 1, 'do_init', 'metadb', 'done', 1), (?, 2, 'do_make_dir', 'master', 'done', 1)", [taskId, taskId]);
  });
});

afterAll(async () => {
  await withDb('dbaas', async (db) => {
    await db.execute('DELETE FROM task_step WHERE task_id = ?', [taskId]);
    await db.execute('DELETE FROM task_queue WHERE id = ?', [taskId]);
    await db.execute('DELETE FROM instance WHERE custins_id = ?', [custinsId]);
    await db.execute("DELETE FROM instance WHERE host_name LIKE 'explain-pad-%'");
    await db.execute("DELETE FROM custins WHERE ins_name LIKE 'explain-pad-%'");
    await db.execute('DELETE FROM custins WHERE id = ?', [custinsId]);
  });
});

test('the lookup queries of go2which, go2ncinfo, go2vmlist, instance list, step list and hyapi detail_* use indexes', async () => {
  const t = lab.layout.topology;
  const vm = t.vms[0]!;
  const ecsNc = t.ncs.find((n) => n.hostname === vm.nc)!;
  const rdsNc = t.ncs.find((n) => n.usage === 'rds')!;
  const name = `rm-${tag}`;
  const logged = await capture([
    ...[vm.name, vm.instanceId, vm.address, ecsNc.hostname, ecsNc.sn, ecsNc.address, name, String(custinsId), t.lbNodes[0]!.address, 'rds-ctl-01', 'nosuch-host-42', t.lbNodes[0]!.vip, `${ecsNc.address}:3306`, 'lvs-01', 'proxy-01', 'cs-a01', t.vpcs[0]!.vpcId, 'rm-x.mysql.rds.aliyuncs.com', 'rm-x.mysql.rds.aliyuncs.com:3306'].map((n) => ['go2which', n, '-o', 'json']),
    ['go2ncinfo', rdsNc.hostname, '-o', 'json'],
    ['go2ncinfo', ecsNc.address, '-o', 'json'],
    ['go2vmlist', ecsNc.hostname, '-o', 'json'],
    ['instance', 'list', '-o', 'json'],
    ['instance', 'list', '--nc', rdsNc.hostname, '-o', 'json'],
    ['instance', 'list', '--zone', ecsNc.zone, '-o', 'json'],
    ['instance', 'list', '--status', 'running', '-o', 'json'],
    ['instance', 'step', name, 'list', '-o', 'json'],
    ['hyapi', 'detail_vm', `vm_name=${vm.name}`],
    ['hyapi', 'detail_vm', `vm_name=${vm.address}`],
    ['hyapi', 'detail_nc', `nc_name=${ecsNc.hostname}`],
    ['hyapi', 'detail_nc', `nc_name=${ecsNc.sn}`],
  ]);
  // Each family of lookups was seen, so a command that stopped querying cannot pass unnoticed.
  const seen = ['vm', 'nc', 'custins', 'instance', 'task_queue', 'task_step', 'lb_node', 'machine', 'sr_instance'].filter((table) => logged.some((l) => new RegExp(`\\b(FROM|JOIN) ${table}\\b`).test(l.sql)));
  expect(seen).toEqual(['vm', 'nc', 'custins', 'instance', 'task_queue', 'task_step', 'lb_node', 'machine', 'sr_instance']);
  const scans: string[] = [];
  for (const l of logged) {
    const plan = await withDb(l.db, (db) => db.query<PlanRow>(`EXPLAIN ${l.sql}`));
    const aliases = tablesByAlias(l.sql);
    for (const p of plan) {
      // <derivedN>, <subqueryN>: the server's own temporary tables, as small as what fed them.
      if (p.type !== 'ALL' || !p.table || p.table.startsWith('<')) continue;
      const table = aliases.get(p.table) ?? p.table;
      if (!SMALL.has(table)) scans.push(`${l.db}: full scan of ${table} (possible keys: ${p.possible_keys ?? 'none'}) in: ${l.sql.replace(/\s+/g, ' ')}`);
    }
  }
  expect(scans).toEqual([]);
});
