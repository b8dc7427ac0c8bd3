#!/usr/bin/env node
// Crash torture for the install flow: for each chosen step boundary k of the 81, start `rdsctl
// instance create` as its own process, SIGKILL it as soon as it reports step k finished, then
// `instance step NAME resume` to the end and check what the crash must not leave behind: the pair
// replicates, no row or config line was written twice, and after `instance delete` no process of
// the instance (or of rdsctl) is left. Too long for the test run (one create per boundary): on demand.
//
//   bench/crash-resume [--from K] [--to K] [--boundaries K,K,…] [--keep-lab] [--dir DIR]
//
// It brings up its own lab (6 served NCs, own port and loopback net, RDSCTL_CONFIG in DIR) and
// purges it at the end. One line per boundary, a summary, bench/results/crash-resume.json; exit 1
// when any boundary failed.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RDSCTL, RESULTS, ROOT } from './lib/paths.mjs';

const run = promisify(execFile);
const TOTAL = 81;
const APP_PW = `Crash-${randomBytes(6).toString('hex')}`;

function die(msg) {
  process.stderr.write(`crash-resume: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { from: 1, to: TOTAL, list: null, keepLab: false, dir: '/tmp/rdsctl-crash-lab' };
  const int = (a, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > TOTAL) die(`${a} takes a step number 1-${TOTAL} (got "${v}")`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : die(`${a} needs a value`));
    if (a === '--from') o.from = int(a, value());
    else if (a === '--to') o.to = int(a, value());
    else if (a === '--boundaries') o.list = value().split(',').map((s) => int(a, s.trim()));
    else if (a === '--keep-lab') o.keepLab = true;
    else if (a === '--dir') o.dir = path.resolve(value());
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: bench/crash-resume [--from K] [--to K] [--boundaries K,K,…] [--keep-lab] [--dir DIR]\n');
      process.exit(0);
    } else die(`unknown argument ${a}`);
  }
  if (o.from > o.to) die('--from is after --to');
  o.boundaries = o.list ? [...new Set(o.list)].sort((a, b) => a - b) : Array.from({ length: o.to - o.from + 1 }, (_, i) => o.from + i);
  o.config = path.join(o.dir, 'config.json');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const env = { ...process.env, RDSCTL_CONFIG: opts.config, NO_COLOR: '1' };
delete env.RDSCTL_PROFILE;

const log = (s) => process.stdout.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** bin/rdsctl as a child; `onLine` sees each stderr line and may kill it. */
function rdsctl(args, { stdin, onLine } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(RDSCTL, args, { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    if (stdin !== undefined) p.stdin.end(stdin);
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => {
      stderr += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const l of lines) onLine?.(l, () => p.kill('SIGKILL'));
    });
    p.once('error', reject);
    p.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function rdsctlJson(args) {
  const r = await rdsctl(args);
  try {
    return { ...r, json: JSON.parse(r.stdout) };
  } catch {
    return { ...r, json: undefined };
  }
}

const lastLine = (s) => s.trim().split('\n').pop() ?? '';

async function sql(dbName, q) {
  const { stdout } = await run('mariadb', [`--defaults-extra-file=${path.join(opts.dir, 'client.cnf')}`, '--batch', '--skip-column-names', dbName, '-e', q]);
  return stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
}

function appSql(host, port, q) {
  try {
    const out = execFileSync('mariadb', [`--defaults-extra-file=${appCnf}`, '-h', host, '-P', String(port), '--batch', '--skip-column-names', '--connect-timeout=5', 'crashdb', '-e', q], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, out: out.trim() };
  } catch (e) {
    return { ok: false, out: String(e.stderr ?? e.message).trim() };
  }
}

/** Command lines of every process of this OS user, with their environment where readable. */
function processes() {
  const list = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      let environ = '';
      try {
        environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      } catch {
        environ = '';
      }
      if (cmd) list.push({ pid: Number(pid), cmd, environ });
    } catch {
      // gone between readdir and read
    }
  }
  return list;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** 127.X nets with a listener now: the lab's NCs must not share a net with anyone's. */
function busyNets() {
  const busy = new Set();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '0A') continue;
    const hex = f[1].split(':')[0];
    if (parseInt(hex.slice(6, 8), 16) === 127) busy.add(parseInt(hex.slice(4, 6), 16));
  }
  return busy;
}

async function labUp() {
  if (fs.existsSync(path.join(opts.dir, 'lab.json'))) {
    log(`crash-resume: reusing the lab in ${opts.dir}`);
    const r = await rdsctl(['lab', 'up', '--dir', opts.dir]);
    if (r.code !== 0) throw new Error(`lab up: ${lastLine(r.stderr)}`);
    return;
  }
  const busy = busyNets();
  const x = [141, 142, 143, 144, 145, 146, 147, 148].find((n) => !busy.has(n));
  if (!x) throw new Error('no free loopback net 127.141-148');
  const args = ['lab', 'up', '--dir', opts.dir, '--name', 'crash', '--port', String(await freePort()), '--ssh-port', String(await freePort()), '--net', `127.${x}`, '--ncs', '6', '--vms', '0'];
  log(`crash-resume: rdsctl ${args.join(' ')}`);
  const r = await rdsctl(args);
  if (r.code !== 0) throw new Error(`lab up exited ${r.code}: ${lastLine(r.stderr)}`);
}

// The test account's option file: the password never goes on a command line.
const appCnf = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-crash-')), 'app.cnf');

/** Poll until `fn` is true or `ms` passes. */
async function eventually(fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > end) return false;
    await sleep(500);
  }
}

function countLines(file, pred) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(pred).length;
  } catch {
    return 0;
  }
}

/** Everything a crash must not leave behind; returns the problems found (empty = healthy). */
async function verify(name, tag) {
  const problems = [];
  const show = await rdsctlJson(['instance', 'show', name, '--live', '-o', 'json']);
  const v = show.json;
  if (show.code !== 0 || !v) return [`show --live exited ${show.code}: ${lastLine(show.stderr)}`];
  if (v.instance.status !== 'running') problems.push(`status ${v.instance.status}`);
  const live = (v.live ?? []).map((l) => `${l.role}:${l.reachable}:${l.slave_io_running}/${l.slave_sql_running}:ro=${l.read_only}`).join(' ');
  if (live !== 'master:true:Yes/Yes:ro=false slave:true:Yes/Yes:ro=true') problems.push(`live ${live || 'missing'}`);
  const { master, slave, custins_id: cid } = v.instance;

  const w = appSql(master.ip, master.port, `CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t VALUES (1, '${tag}')`);
  if (!w.ok) problems.push(`write on the master: ${w.out}`);
  else if (!(await eventually(() => appSql(slave.ip, slave.port, 'SELECT COUNT(*), MAX(v) FROM t').out === `1\t${tag}`, 30_000))) {
    problems.push(`the master's row not on the standby (${appSql(slave.ip, slave.port, 'SELECT COUNT(*), MAX(v) FROM t').out})`);
  }

  const [[tasks]] = await sql('dbaas', `SELECT COUNT(*) FROM task_queue WHERE custins_id = ${Number(cid)}`);
  if (tasks !== '1') problems.push(`${tasks} task_queue rows`);
  const [[steps, seqs, finished, maxSeq]] = await sql(
    'dbaas',
    `SELECT COUNT(*), COUNT(DISTINCT s.seq), SUM(s.status IN ('done','skipped')), MAX(s.seq) FROM task_step s JOIN task_queue q ON q.id = s.task_id WHERE q.custins_id = ${Number(cid)}`,
  );
  if (steps !== String(TOTAL) || seqs !== String(TOTAL) || maxSeq !== String(TOTAL)) problems.push(`task_step ${steps} rows, ${seqs} distinct seq, max ${maxSeq}`);
  if (finished !== String(TOTAL)) problems.push(`${finished}/${TOTAL} steps done or skipped`);
  const counts = await sql(
    'dbaas',
    `SELECT 'instance', COUNT(*) FROM instance WHERE custins_id = ${Number(cid)} AND status <> 'deleted'
     UNION ALL SELECT 'baklist', COUNT(*) FROM baklist WHERE custins_id = ${Number(cid)}
     UNION ALL SELECT 'custins_account app', COUNT(*) FROM custins_account WHERE custins_id = ${Number(cid)} AND account_name = 'app'
     UNION ALL SELECT 'custins_db crashdb', COUNT(*) FROM custins_db WHERE custins_id = ${Number(cid)} AND db_name = 'crashdb'
     UNION ALL SELECT 'custins_whitelist', COUNT(*) - COUNT(DISTINCT group_name) + 1 FROM custins_whitelist WHERE custins_id = ${Number(cid)}
     UNION ALL SELECT 'rds_ecs_sg_rel dup', COUNT(*) - COUNT(DISTINCT ecs_sg_id) + 1 FROM rds_ecs_sg_rel WHERE custins_id = ${Number(cid)}`,
  );
  const want = { instance: '2', baklist: '1', 'custins_account app': '1', 'custins_db crashdb': '1', custins_whitelist: '1', 'rds_ecs_sg_rel dup': '1' };
  for (const [what, n] of counts) if (n !== want[what]) problems.push(`${what}: ${n} (want ${want[what]})`);

  // The NCs' own files: one line or section per port, whoever wrote it last.
  for (const n of [master, slave]) {
    const root = path.join(opts.dir, 'hosts', n.host);
    const conf = countLines(path.join(root, 'usr/local/rds/var/instance.conf'), (l) => l.trim() === `${n.port} = 1`);
    const res = countLines(path.join(root, 'etc/rds_resource_config.conf'), (l) => l.trim() === `[${n.port}]`);
    const ins = countLines(path.join(root, 'usr/local/rds/var/insinfo.conf'), (l) => l.startsWith(`${n.port} `));
    if (conf !== 1 || res !== 1 || ins !== 1) problems.push(`${n.host}: instance.conf ${conf}, resource [${n.port}] ${res}, insinfo ${ins} lines`);
    // The init script starts the server as `mariadbd --defaults-file=<dbs dir>/my.cnf`; install-db's
    // --bootstrap run is not a server.
    const mycnf = `--defaults-file=${path.join(root, 'mysqldata', `dbs${n.port}`, 'my.cnf')}`;
    const servers = processes().filter((p) => /(^|\/)(mariadbd|mysqld) /.test(p.cmd) && p.cmd.includes(mycnf) && !p.cmd.includes('--bootstrap'));
    if (servers.length !== 1) problems.push(`${n.host}: ${servers.length} mariadbd with ${mycnf}`);
  }
  return problems;
}

/** Processes left by the instance (its dirs in their command line) or by rdsctl runs of this lab. */
function leftovers(hosts) {
  const marks = hosts.flatMap((n) => {
    const root = path.join(opts.dir, 'hosts', n.host);
    return [`dbs${n.port}`, `data${n.port}`, `backup${n.port}`, `tmp${n.port}`].map((d) => (d.startsWith('data') ? path.join(root, 'home/mysql', d) : path.join(root, 'mysqldata', d)));
  });
  return processes().filter(
    (p) => p.pid !== process.pid && (marks.some((m) => p.cmd.includes(m)) || (p.environ.includes(`RDSCTL_CONFIG=${opts.config}\0`) && /dist\/cli\.js|bin\/rdsctl/.test(p.cmd))),
  );
}

async function boundary(k, tag) {
  const name = `rm-crash${String(k).padStart(2, '0')}-${tag}`;
  const rec = { k, step: null, instance: name, killed: false, resumed: false, kill_to_healthy_s: null, ok: false, problems: [] };
  let killedAt = 0;
  const child = await rdsctl(['instance', 'create', '--name', name, '--db', 'crashdb', '--account', 'app', '--password-stdin', '--reason', `crash-${k}`], {
    stdin: `${APP_PW}\n`,
    onLine(line, kill) {
      const m = /^\[\s*(\d+)\/81\] (\S+)/.exec(line);
      if (!killedAt && m && Number(m[1]) === k && !/\bFAILED\b/.test(line)) {
        rec.step = m[2];
        killedAt = Date.now();
        kill();
      }
    },
  });
  rec.killed = child.signal === 'SIGKILL';
  if (!killedAt) {
    rec.problems.push(`step ${k} never reported (create exited ${child.code}: ${lastLine(child.stderr)})`);
    return { rec, hosts: [] };
  }
  const t = await rdsctlJson(['task', 'list', '--instance', name, '-o', 'json']);
  rec.task_status_after_kill = t.json?.[0]?.status ?? null;
  // Killed after the flow's last write (the last step's done, then the task's), the task is already done.
  if (rec.task_status_after_kill !== 'done') {
    const r = await rdsctl(['instance', 'step', name, 'resume', '--reason', `crash-${k} runner was killed`]);
    rec.resumed = true;
    rec.resume_exit = r.code;
    if (r.code !== 0) {
      rec.problems.push(`resume exited ${r.code}: ${lastLine(r.stderr)}`);
      rec.resume_stderr_tail = r.stderr.trim().split('\n').slice(-8);
    }
    const again = r.stderr.match(/^\[\s*(\d+)\/81\]/gm)?.map((s) => Number(s.replace(/\D+/g, ' ').trim().split(' ')[0])) ?? [];
    rec.resume_first_step = again.length ? Math.min(...again) : null;
  }
  rec.problems.push(...(await verify(name, `crash-${k}`)));
  if (!rec.problems.length) rec.kill_to_healthy_s = Number(((Date.now() - killedAt) / 1000).toFixed(1));
  const show = await rdsctlJson(['instance', 'show', name, '-o', 'json']);
  const hosts = [show.json?.instance?.master, show.json?.instance?.slave].filter(Boolean);
  return { rec, hosts };
}

async function cleanup(name, hosts, rec) {
  const d = await rdsctl(['instance', 'delete', name, '--yes', '--reason', 'crash-resume cleanup']);
  if (d.code !== 0 && d.code !== 3) rec.problems.push(`delete exited ${d.code}: ${lastLine(d.stderr)}`);
  let left = [];
  await eventually(() => (left = leftovers(hosts)).length === 0, 10_000);
  if (left.length) rec.problems.push(`left running: ${left.map((p) => `${p.pid} ${p.cmd.slice(0, 120)}`).join('; ')}`);
}

async function main() {
  fs.writeFileSync(appCnf, `[client]\nuser=app\npassword=${APP_PW}\n`, { mode: 0o600 });
  log('crash-resume: building (tsc)');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  await labUp();
  const tag = randomBytes(2).toString('hex');
  const results = [];
  const started = new Date().toISOString();
  log(`crash-resume: boundaries ${opts.boundaries.join(',')}`);
  try {
    for (const k of opts.boundaries) {
      const t0 = Date.now();
      let rec;
      let hosts = [];
      try {
        ({ rec, hosts } = await boundary(k, tag));
      } catch (e) {
        rec = { k, step: null, instance: `rm-crash${String(k).padStart(2, '0')}-${tag}`, ok: false, problems: [`crashed: ${e.message}`] };
      }
      await cleanup(rec.instance, hosts, rec).catch((e) => rec.problems.push(`cleanup: ${e.message}`));
      rec.ok = rec.problems.length === 0;
      rec.total_s = Number(((Date.now() - t0) / 1000).toFixed(1));
      results.push(rec);
      log(
        `[${String(k).padStart(2)}/${TOTAL}] ${(rec.step ?? '?').padEnd(48)} ${rec.kill_to_healthy_s === null ? '     -' : `${rec.kill_to_healthy_s.toFixed(1).padStart(5)}s`}  ${rec.ok ? 'ok' : `FAIL ${rec.problems.join('; ')}`}`,
      );
      writeResults(results, started);
    }
  } finally {
    fs.rmSync(path.dirname(appCnf), { recursive: true, force: true });
    if (!opts.keepLab) {
      const r = await rdsctl(['lab', 'down', '--purge', '--dir', opts.dir]);
      if (r.code !== 0) process.stderr.write(`crash-resume: lab down: ${lastLine(r.stderr)}\n`);
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  log(`${results.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

function writeResults(results, started) {
  fs.mkdirSync(RESULTS, { recursive: true });
  const out = { started, finished: new Date().toISOString(), boundaries: opts.boundaries, passed: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, results };
  fs.writeFileSync(path.join(RESULTS, 'crash-resume.json'), `${JSON.stringify(out, null, 2)}\n`);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`crash-resume: ${e.message}\n`);
    process.exitCode = 1;
  },
);
