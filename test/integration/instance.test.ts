import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { readConfig } from '../../src/core/config.js';
import { hostLayout, type HostLayout } from '../../src/rds/layout.js';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import type { StepView } from '../../src/flow/control.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// `instance create` on the lab's NCs makes a real MariaDB primary–standby pair, checked with the
// plain `mariadb` client; the files the steps write are on each NC (read from its disk); the Dukang views,
// step control (goto back ten steps + resume converges) and `instance delete` leaving nothing.

jest.setTimeout(600_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-instance-it-'));
const NAME = `rm-it${randomBytes(4).toString('hex')}`;
const APP_PW = 'S3cure-pass_' + randomBytes(3).toString('hex');
let lab: TestLab;
let rec: InstanceRecord;
let capacityBefore: Array<Record<string, unknown>>;

/** An option file for the plain mariadb client: the password never goes on a command line. */
function clientCnf(user: string, password: string): string {
  const f = path.join(tmp, `${user}.cnf`);
  fs.writeFileSync(f, `[client]\nuser=${user}\npassword=${password}\n`, { mode: 0o600 });
  return f;
}

function mariadb(cnf: string, host: string, port: number, sql: string, db?: string): { code: number; out: string } {
  try {
    const out = execFileSync('mariadb', [`--defaults-file=${cnf}`, '-h', host, '-P', String(port), '--batch', '--skip-column-names', ...(db ? [db] : []), '-e', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, out: out.trim() };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, out: `${x.stdout}${x.stderr}`.trim() };
  }
}

async function suPassword(): Promise<string> {
  const { ctx } = lab.context();
  try {
    return (await ctx.db('dbaas').query<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
  } finally {
    await ctx.close();
  }
}

async function eventually(what: string, fn: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The instance's files on an NC, where the jump host sees them: the NC's disk (test/support/lab.ts). */
function layoutOf(host: string): HostLayout {
  return lab.hostLayoutOnDisk(host, rec.master!.port);
}

async function capacity(): Promise<Array<Record<string, unknown>>> {
  const { ctx } = lab.context();
  try {
    return await ctx.db('dbaas').query('SELECT hostname, cpu_allocated, mem_allocated_mb, disk_allocated_gb FROM hostinfo ORDER BY id');
  } finally {
    await ctx.close();
  }
}

beforeAll(async () => {
  lab = sharedLab();
  const cfg = readConfig(lab.configPath);
  capacityBefore = await capacity();
  const r = await lab.run(['instance', 'create', '--name', NAME, '--db', 'shop', '--account', 'app', '--password-stdin', '--time-zone', 'Asia/Shanghai', '--whitelist', '10.0.0.0/8,127.0.0.1', '--reason', 'integration test', '-o', 'json'], { stdin: `${APP_PW}\n` });
  if (r.code !== 0) throw new Error(`instance create failed (exit ${r.code}): ${r.stderr}`);
  expect(r.stderr).toMatch(/\[81\/81\] do_add_readins_to_maxscale_config/);
  expect(r.stderr).toMatch(/\[22\/81\] do_check_start_instnace_success_master/);
  rec = json<InstanceRecord>(r);
});

afterAll(async () => {
  try {
    if (rec) {
      const r = await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'integration test cleanup']);
      if (r.code !== 0) throw new Error(`delete failed: ${r.stderr}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

describe('instance create', () => {
  test('prints the instance record: running, endpoint = the data route on a proxy host (not a server), master and standby on different NCs', () => {
    expect(rec).toMatchObject({ ins_name: NAME, status: 'running', engine: 'mysql', version: '8.0', minor_version: '8.0.36', class_code: 'rds.mysql.s1.small', network_type: 'classic', is_guard: false });
    expect(rec.master!.host).not.toBe(rec.slave!.host);
    expect(rec.endpoint).toMatch(/^127\.\d+\.201\.\d+:\d+$/);
    expect(rec.endpoint).not.toBe(`${rec.master!.ip}:${rec.master!.port}`);
    expect(rec.task).toMatchObject({ status: 'done', steps_finished: 81, steps_total: 81 });
  });

  test('a working pair: a row written on the master is read on the standby; the standby is read-only', async () => {
    const app = clientCnf('app', APP_PW);
    const m = rec.master!;
    const s = rec.slave!;
    expect(mariadb(app, m.ip, m.port, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, 'from the master')", 'shop')).toEqual({ code: 0, out: '' });
    await eventually('the row on the standby', () => mariadb(app, s.ip, s.port, 'SELECT v FROM t WHERE id = 1', 'shop').out === 'from the master');
    expect(mariadb(app, s.ip, s.port, 'SELECT @@read_only').out).toBe('1');
    expect(mariadb(app, m.ip, m.port, 'SELECT @@read_only').out).toBe('0');
    const w = mariadb(app, s.ip, s.port, "INSERT INTO t VALUES (2, 'on the standby')", 'shop');
    expect(w.code).not.toBe(0);
    expect(w.out).toMatch(/read-only/);
  });

  test('the requested account and database exist; the account has read-write rights there and no SUPER', () => {
    const app = clientCnf('app', APP_PW);
    const m = rec.master!;
    expect(mariadb(app, m.ip, m.port, "SHOW DATABASES LIKE 'shop'").out).toBe('shop');
    const grants = mariadb(app, m.ip, m.port, 'SHOW GRANTS').out;
    expect(grants).toMatch(/GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP.* ON `shop`\.\* TO `app`@`%`/);
    expect(grants).not.toMatch(/SUPER|ALL PRIVILEGES/);
    expect(mariadb(app, m.ip, m.port, 'CREATE DATABASE other').code).not.toBe(0);
    expect(mariadb(clientCnf('app2', 'Wrong-pass-1'), m.ip, m.port, 'SELECT 1').code).not.toBe(0);
  });

  test('root is gone, the maintenance users exist; the named time zone is set on both servers', async () => {
    const { ctx } = lab.context();
    let pw: string;
    try {
      pw = (await ctx.db('dbaas').query<{ secret: string }>("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0]!.secret;
    } finally {
      await ctx.close();
    }
    const su = clientCnf('aliyun_root', pw);
    for (const n of [rec.master!, rec.slave!]) {
      expect(mariadb(su, n.ip, n.port, 'SELECT @@global.time_zone').out).toBe('Asia/Shanghai');
      expect(mariadb(su, n.ip, n.port, 'SELECT user FROM mysql.user ORDER BY user').out.split('\n')).toEqual(expect.arrayContaining(['aliyun_root', 'app', 'aurora', 'replicator']));
      expect(mariadb(su, n.ip, n.port, "SELECT COUNT(*) FROM mysql.user WHERE user = 'root'").out).toBe('0');
      expect(mariadb(su, n.ip, n.port, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '__rds_sys__'").out).toBe('1');
    }
  });

  test('hardened pair: GRANT OPTION for the superuser only; local_infile off; no performance_schema on this 2 GB class; binlog expiry in my.cnf and live', async () => {
    const su = clientCnf('aliyun_root', await suPassword());
    for (const n of [rec.master!, rec.slave!]) {
      const q = (sql: string): string => mariadb(su, n.ip, n.port, sql).out;
      // mariadb-install-db's 'mysql'@'localhost' (ALL WITH GRANT OPTION) goes with root.
      expect(q("SELECT DISTINCT user FROM mysql.user WHERE Grant_priv = 'Y' ORDER BY 1")).toBe('aliyun_root');
      for (const acc of q("SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) FROM mysql.user WHERE user IN ('aurora', 'replicator', 'app')").split('\n')) {
        expect(q(`SHOW GRANTS FOR ${acc}`)).not.toMatch(/WITH GRANT OPTION|ALL PRIVILEGES/);
      }
      expect(q('SELECT @@GLOBAL.local_infile, @@GLOBAL.performance_schema, @@GLOBAL.binlog_expire_logs_seconds')).toBe('0\t0\t604800');
      // Bound to the addresses they connect from (the lab's AG and every lab host dial from 127.0.0.1), never '%'.
      const hosts = (user: string): string[] => q(`SELECT host FROM mysql.user WHERE user = '${user}'`).split('\n').sort();
      const pairIps = [rec.master!.ip, rec.slave!.ip];
      expect(hosts('aliyun_root')).toEqual([...new Set(['localhost', '127.0.0.1', ...pairIps])].sort());
      expect(hosts('aurora')).toEqual(['127.0.0.1']);
      expect(hosts('replicator')).toEqual([...new Set(['127.0.0.1', ...pairIps])].sort());
      const cnf = fs.readFileSync(layoutOf(n.host).mycnf, 'utf8');
      expect(cnf).toMatch(/^local_infile = 0$/m);
      expect(cnf).toMatch(/^performance_schema = OFF$/m);
      expect(cnf).toMatch(/^binlog_expire_logs_seconds = 604800$/m);
    }
  });

  test('a maintenance login from an address the account is not bound to is refused (it was accepted with %)', async () => {
    const mysql = await import('mysql2/promise');
    const net = await import('node:net');
    const su = await suPassword();
    // mysql2 has no source-address option: its socket is dialled here, bound to the address.
    const login = (localAddress: string) =>
      mysql
        .createConnection({ user: 'aliyun_root', password: su, connectTimeout: 5000, stream: () => net.connect({ host: rec.master!.ip, port: rec.master!.port, localAddress }) })
        .then(async (c) => {
          await c.end();
          return 'ok';
        })
        .catch((e: Error) => e.message);
    expect(await login('127.0.0.1')).toBe('ok');
    expect(await login('127.0.0.2')).toMatch(/Access denied for user 'aliyun_root'@'127\.0\.0\.2'|Host '127\.0\.0\.2' is not allowed/);
  });

  test('the files the steps write are on each NC at the production paths, with the right content', async () => {
    const inHost: Array<Promise<void>> = [];
    for (const n of [rec.master!, rec.slave!]) {
      const l = layoutOf(n.host);
      const role = n === rec.master ? 'master' : 'slave';
      for (const d of l.dirs) expect(fs.statSync(d).isDirectory()).toBe(true);
      expect(l.dirs.map((d) => path.relative(lab.hostDisk(n.host), d))).toEqual([`mysqldata/dbs${n.port}`, `mysqldata/tmp${n.port}`, `home/mysql/data${n.port}`]);
      const cnf = fs.readFileSync(l.mycnf, 'utf8');
      expect(cnf).toMatch(new RegExp(`^port = ${n.port}$`, 'm'));
      expect(cnf).toMatch(new RegExp(`^bind_address = ${n.ip.replace(/\./g, '\\.')}$`, 'm'));
      expect(cnf).toMatch(new RegExp(`^server_id = ${n.instance_id}$`, 'm'));
      expect(cnf).toMatch(new RegExp(`^read_only = ${role === 'slave' ? 'ON' : 'OFF'}$`, 'm'));
      expect(cnf).toMatch(/^default_time_zone = Asia\/Shanghai$/m);
      expect(cnf).toMatch(/^max_connections = 300$/m);
      expect(fs.readFileSync(l.instanceConf, 'utf8').split('\n')).toContain(`${n.port} = 1`);
      const res = fs.readFileSync(l.resourceConf, 'utf8');
      expect(res).toContain(`[${n.port}]\nins_name = ${NAME}\nrole = ${role}\ncpu_cores = 1\nmem_mb = 2048\ndisk_gb = 20\n`);
      expect(fs.readFileSync(l.insnameFile, 'utf8')).toBe(`${NAME}\n`);
      expect(fs.readFileSync(l.insinfoFile, 'utf8').split('\n')).toContain(`${n.port} ${NAME} ${role} ${rec.custins_id} ${(role === 'master' ? rec.slave! : rec.master!).ip}:${n.port}`);
      expect(fs.readFileSync(l.limitsFile, 'utf8')).toMatch(/^NOFILE=1500$/m);
      const rules = fs.readFileSync(l.whitelistFile, 'utf8');
      expect(rules).toContain(`-A RDS-${n.port} -s 10.0.0.0/8 -p tcp --dport ${n.port} -m comment --comment user:default -j ACCEPT`);
      expect(rules).toContain(`-A RDS-${n.port} -s ${rec.slave!.ip}/32 -p tcp --dport ${n.port} -m comment --comment admin:rds_admin -j ACCEPT`);
      // The init script is real: it reports this instance's own server.
      expect(fs.statSync(l.initScript).mode & 0o111).not.toBe(0);
      inHost.push(lab.hostExec(n.host, ['sh', hostLayout(n.port).initScript, 'status']).then((r) => expect(r.stdout).toMatch(/^running \(pid \d+\)$/m)));
    }
    await Promise.all(inHost);
    const backup = path.join(layoutOf(rec.slave!.host).backupDir, 'install-full');
    expect(fs.existsSync(path.join(backup, 'xtrabackup_checkpoints'))).toBe(true);
  });

  test('mysqld runs as mysql with this instance\'s my.cnf and the open-files limit of do_config_resource', async () => {
    // Inside the NC (its pid namespace: the pid file holds the NC's pid of the server).
    const l = hostLayout(rec.master!.port);
    const r = await lab.hostExec(rec.master!.host, ['sh', '-c', 'p=$(cat "$1"); ps -o user= -p "$p"; stat -c %U "$2"; grep "^Max open files" "/proc/$p/limits"; tr "\\0" "\\n" < "/proc/$p/cmdline"', 'sh', l.pidFile, l.dataDir]);
    const [user, owner, limits, ...argv] = r.stdout.trim().split('\n');
    expect([user, owner]).toEqual(['mysql', 'mysql']);
    expect(limits).toMatch(/^Max open files\s+1500\s+1500/);
    expect(argv).toContain(`--defaults-file=${l.mycnf}`);
  });
});

describe('the Dukang views', () => {
  test('instance show --live: both answer, the standby replicates with IO and SQL running and is read-only', async () => {
    const r = await lab.run(['instance', 'show', NAME, '--live', '-o', 'json']);
    expect(r.code).toBe(0);
    const v = json<InstanceView>(r);
    expect(v.instance.ins_name).toBe(NAME);
    expect(v.hosts.map((h) => h.role)).toEqual(['master', 'slave']);
    expect(v.accounts.map((a) => a.name).sort()).toEqual(['aliyun_root', 'app', 'aurora', 'replicator']);
    expect(JSON.stringify(v)).not.toContain(APP_PW);
    expect(v.databases).toEqual([{ name: 'shop', charset: 'utf8mb4', status: 'active' }]);
    expect(v.parameters.max_connections).toBe('300');
    expect(v.backups[0]).toMatchObject({ backup_set: 'install-full', host: rec.slave!.host, status: 'success' });
    const slave = v.live!.find((l) => l.role === 'slave')!;
    expect(slave).toMatchObject({ reachable: true, read_only: true, slave_io_running: 'Yes', slave_sql_running: 'Yes', replicating_from: `${rec.master!.ip}:${rec.master!.port}`, error: null });
    expect(v.live!.find((l) => l.role === 'master')).toMatchObject({ reachable: true, read_only: false, slave_io_running: 'Yes', slave_sql_running: 'Yes' });
  });

  test('instance list filters by NC, zone and status', async () => {
    const byNc = json<Array<{ ins_name: string; master_host: string }>>(await lab.run(['instance', 'list', '--nc', rec.slave!.host, '-o', 'json']));
    expect(byNc.map((x) => x.ins_name)).toContain(NAME);
    const running = json<Array<{ ins_name: string }>>(await lab.run(['instance', 'list', '--status', 'running', '--zone', rec.zone, '-o', 'json']));
    expect(running.map((x) => x.ins_name)).toContain(NAME);
    const failed = json<Array<{ ins_name: string }>>(await lab.run(['instance', 'list', '--status', 'failed', '-o', 'json']));
    expect(failed.map((x) => x.ins_name)).not.toContain(NAME);
    const tsv = await lab.run(['instance', 'list', '-o', 'tsv']);
    expect(tsv.stdout.split('\n')[0]).toBe('NAME\tSTATUS\tVERSION\tCLASS\tZONE\tMASTER\tSTANDBY\tENDPOINT\tNETWORK\tSTORAGE\tCREATED');
  });

  test('step list: 81 steps (the seed\'s 80 and do_issue_server_cert) with role, status, attempts; skipped ones say why', async () => {
    const r = await lab.run(['instance', 'step', NAME, 'list', '-o', 'json']);
    expect(r.code).toBe(0);
    const steps = json<StepView[]>(r);
    expect(steps).toHaveLength(81);
    expect(steps[9]).toMatchObject({ step: 'do_issue_server_cert', role: 'both', status: 'done' });
    expect(steps.every((s) => s.status === 'done' || s.status === 'skipped')).toBe(true);
    const by = (seq: number) => steps[seq - 1]!;
    expect(by(26)).toMatchObject({ step: 'do_install_plugin_for55', role: 'master', status: 'skipped', skip_reason: 'applies to MySQL 5.5 only; this instance is mysql 8.0' });
    expect(by(37)).toMatchObject({ step: 'do_create_slb_ins_4vpc', status: 'skipped', skip_reason: 'applies to VPC instances only; this instance is on the classic network' });
    expect(by(63)).toMatchObject({ step: 'do_set_server_readonly_for_guard_ins', status: 'skipped' });
    expect(by(46)).toMatchObject({ step: 'do_reset_named_timezone_config', role: 'master', status: 'done', attempts: 1 });
    expect(by(13)).toMatchObject({ step: 'do_init_mysql_db_master', role: 'master', status: 'done', host: rec.master!.host });
    const table = await lab.run(['instance', 'step', NAME, 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^\s*#\s+STEP\s+ROLE\s+STATUS\s+TRIES\s+HOST\s+TOOK\s+ERROR \/ SKIP REASON$/);
    expect(table.stderr).toMatch(/done, \d+ skipped, 0 failed, 0 to go/);
  });

  test('task list and task show', async () => {
    const tasks = json<Array<{ task_id: number; ins_name: string; status: string; steps_finished: number }>>(await lab.run(['task', 'list', '--instance', NAME, '-o', 'json']));
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ ins_name: NAME, status: 'done', steps_finished: 81 });
    const shown = json<{ params: Record<string, unknown>; steps: StepView[] }>(await lab.run(['task', 'show', String(tasks[0]!.task_id), '-o', 'json']));
    expect(shown.params).toMatchObject({ minor_version: '8.0.36', dbs: ['shop'], accounts: ['app'], time_zone: 'Asia/Shanghai' });
    expect(JSON.stringify(shown)).not.toContain(APP_PW);
    expect(shown.steps).toHaveLength(81);
  });
});

describe('step control', () => {
  test('goto back ten steps, then resume: converges to the same healthy state', async () => {
    const g = await lab.run(['instance', 'step', NAME, 'goto', '72', '--yes', '--reason', 'integration test']);
    expect(g.code).toBe(0);
    const paused = json<StepView[]>(await lab.run(['instance', 'step', NAME, 'list', '-o', 'json']));
    expect(paused.slice(71).every((s) => s.status === 'pending')).toBe(true);
    expect(paused.slice(0, 71).every((s) => s.status === 'done' || s.status === 'skipped')).toBe(true);
    const r = await lab.run(['instance', 'step', NAME, 'resume', '--reason', 'integration test']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[72\/81\] do_write_insname_to_file/);
    expect(r.stderr).not.toMatch(/\[71\/81\]/);
    const after = json<StepView[]>(await lab.run(['instance', 'step', NAME, 'list', '-o', 'json']));
    expect(after.every((s) => s.status === 'done' || s.status === 'skipped')).toBe(true);
    expect(after[79]).toMatchObject({ step: 'do_start_create_new_backup', attempts: 2, detail: 'already done (probe)' });
    const show = json<InstanceView>(await lab.run(['instance', 'show', NAME, '--live', '-o', 'json']));
    expect(show.instance).toMatchObject({ status: 'running', endpoint: rec.endpoint });
    expect(show.live!.every((l) => l.slave_io_running === 'Yes' && l.slave_sql_running === 'Yes')).toBe(true);
    const app = clientCnf('app', APP_PW);
    expect(mariadb(app, rec.master!.ip, rec.master!.port, "INSERT INTO t VALUES (3, 'after goto')", 'shop').code).toBe(0);
    await eventually('the new row on the standby', () => mariadb(app, rec.slave!.ip, rec.slave!.port, 'SELECT v FROM t WHERE id = 3', 'shop').out === 'after goto');
  });

  test('goto without --yes and no TTY is refused before anything changes (exit 2)', async () => {
    const r = await lab.run(['instance', 'step', NAME, 'goto', '71']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--yes/);
  });

  test('every step action is audited with its reason', async () => {
    const log = fs.readFileSync(path.join(lab.dir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { command: string; reason: string | null; phase: string; targets: string[] });
    const mine = log.filter((x) => x.targets.includes(NAME));
    expect(mine.filter((x) => x.command === 'instance step goto' && x.phase === 'result').map((x) => x.reason)).toContain('integration test');
    expect(mine.filter((x) => x.command === 'instance create').map((x) => x.phase)).toEqual(['intent', 'result']);
    expect(JSON.stringify(log)).not.toContain(APP_PW);
  });
});

describe('bad input', () => {
  test('unknown instance: exit 3, with the name', async () => {
    for (const args of [['instance', 'show', 'rm-nosuch'], ['instance', 'step', 'rm-nosuch', 'list'], ['instance', 'delete', 'rm-nosuch', '--yes']]) {
      const r = await lab.run(args);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^rdsctl: instance "rm-nosuch" does not exist in dbaas/);
    }
  });

  test('unknown step: exit 3, with near names; ambiguous step: exit 2', async () => {
    const r = await lab.run(['instance', 'step', NAME, 'run', 'do_make_dirs']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/step "do_make_dirs" is not in this task's flow \(did you mean: do_make_dir/);
    const a = await lab.run(['instance', 'step', NAME, 'skip', 'do_make_dir', '--reason', 'test']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/listed 2 times/);
    const b = await lab.run(['instance', 'step', NAME, 'bounce']);
    expect(b.code).toBe(2);
  });

  test('a bad class: exit 2, the valid classes listed, nothing written', async () => {
    const before = json<unknown[]>(await lab.run(['task', 'list', '-o', 'json', '--limit', '100000']));
    const r = await lab.run(['instance', 'create', '--class', 'rds.mysql.huge', '--name', `${NAME}x`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rdsctl: --class rds\.mysql\.huge: no such mysql class \(valid: rds\.mysql\.s1\.small, rds\.mysql\.s2\.large/);
    const after = json<unknown[]>(await lab.run(['task', 'list', '-o', 'json', '--limit', '100000']));
    expect(after).toHaveLength(before.length);
    expect((await lab.run(['instance', 'show', `${NAME}x`])).code).toBe(3);
  });

  test('hostile names never reach SQL or a shell', async () => {
    for (const bad of ["x'; DROP TABLE custins; --", '$(touch /tmp/rdsctl-pwned)', 'a`b`', 'db\nname']) {
      expect((await lab.run(['instance', 'create', '--db', bad])).code).toBe(2);
      expect((await lab.run(['instance', 'create', '--account', `${bad}:S3cure-pass`, '--insecure-password-arg'])).code).toBe(2);
      expect((await lab.run(['instance', 'show', bad])).code).toBe(3);
    }
    expect(fs.existsSync('/tmp/rdsctl-pwned')).toBe(false);
  });
});

describe('instance delete', () => {
  test('--dry-run changes nothing and shows what would run', async () => {
    const r = await lab.run(['instance', 'delete', NAME, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dry run: delete instance /);
    expect(r.stdout).toMatch(/remote \[.*\]: .*rm -rf/);
    expect(json<InstanceView>(await lab.run(['instance', 'show', NAME, '-o', 'json'])).instance.status).toBe('running');
  });

  test('without --yes and no TTY it is refused (exit 2)', async () => {
    expect((await lab.run(['instance', 'delete', NAME])).code).toBe(2);
  });

  test('leaves nothing behind: no process, no dirs, no config lines, metadata deleted, capacity freed', async () => {
    const ls = [layoutOf(rec.master!.host), layoutOf(rec.slave!.host)];
    const r = await lab.run(['instance', 'delete', NAME, '--yes', '--reason', 'integration test', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(json<{ status: string }>(r).status).toBe('deleted');
    // No server of this instance left on either NC (looked for inside each NC).
    for (const host of [rec.master!.host, rec.slave!.host]) {
      const ps = await lab.hostExec(host, ['sh', '-c', 'ps -e -o args= | grep -F -- "$1" | grep -v grep || true', 'sh', `--defaults-file=${hostLayout(rec.master!.port).mycnf}`]);
      expect(ps.stdout).toBe('');
    }
    for (const l of ls) {
      for (const p of [...l.dirs, l.backupDir, l.initScript, l.limitsFile, l.whitelistFile]) expect(fs.existsSync(p)).toBe(false);
      expect(fs.readFileSync(l.instanceConf, 'utf8').split('\n')).not.toContain(`${l.port} = 1`);
      expect(fs.readFileSync(l.resourceConf, 'utf8')).not.toContain(`[${l.port}]`);
      expect(fs.readFileSync(l.insinfoFile, 'utf8')).not.toContain(NAME);
    }
    const shown = json<InstanceView>(await lab.run(['instance', 'show', NAME, '-o', 'json']));
    expect(shown.instance.status).toBe('deleted');
    expect(shown.hosts.every((h) => h.status === 'deleted')).toBe(true);
    expect(shown.accounts).toEqual([]);
    expect(await capacity()).toEqual(capacityBefore);
    expect((await lab.run(['instance', 'list', '-o', 'json'])).stdout).not.toContain(NAME);
    expect((await lab.run(['instance', 'delete', NAME, '--yes'])).code).toBe(3);
    rec = undefined as unknown as InstanceRecord;
  });
});
