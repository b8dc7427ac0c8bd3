#!/usr/bin/env node
// Instance lifecycle, on demand (issue 13), on its own lab:
//   migrate   `rdsctl instance migrate NAME --role standby --to-nc X` on one pair beside the same
//             move done by hand (bench/migrate-by-hand.sh: stream, prepare, move-back, start,
//             CHANGE MASTER … slave_pos, caught up, old standby removed, metadb by hand) on an
//             identical pair (same class, same sysbench-prepared rows), in the same run, rounds
//             alternating rdsctl / hand; medians; goal rdsctl <= 1.5x the hand time.
//   evacuate  one NC made to hold one node of each of --instances pairs (default 8; all standbys,
//             so every run does the same work), then `rdsctl nc evacuate NC --concurrency N` for
//             each N of --concurrency (default 1,2,4), the NC re-populated between runs (nc
//             unlock, then the standbys migrated back with --to-nc); wall time per N and the curve.
//
//   bench/lifecycle.mjs [--cases migrate,evacuate] [--rounds N] [--instances N] [--concurrency 1,2,4]
//                       [--rows N] [--keep-lab] [--dir DIR] [--port P] [--net 127.X]
//
// Prints a table, the load average before and after, and writes bench/results/lifecycle-latest.json.
// On demand only; never part of the test pass/fail.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RDSCTL, RESULTS, ROOT } from './lib/paths.mjs';

const run = promisify(execFile);
const die = (m) => {
  process.stderr.write(`bench/lifecycle: ${m}\n`);
  process.exit(2);
};
const CASES = ['migrate', 'evacuate'];
const USAGE = 'usage: bench/lifecycle.mjs [--cases migrate,evacuate] [--rounds N] [--instances N] [--concurrency 1,2,4] [--rows N] [--keep-lab] [--dir DIR] [--port P] [--net 127.X]';
const opts = { cases: CASES, rounds: 3, instances: 8, concurrency: [1, 2, 4], rows: 20000, keepLab: false, dir: '/tmp/rdsctl-lifecycle-bench', port: null, net: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => process.argv[++i] ?? die(`${a} needs a value`);
  if (a === '--cases') opts.cases = v().split(',').map((s) => s.trim());
  else if (a === '--rounds') opts.rounds = Number(v());
  else if (a === '--instances') opts.instances = Number(v());
  else if (a === '--concurrency') opts.concurrency = v().split(',').map(Number);
  else if (a === '--rows') opts.rows = Number(v());
  else if (a === '--keep-lab') opts.keepLab = true;
  else if (a === '--dir') opts.dir = path.resolve(v());
  else if (a === '--port') opts.port = Number(v());
  else if (a === '--net') opts.net = v();
  else if (a === '-h' || a === '--help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  } else die(`unknown argument ${a} (${USAGE})`);
}
if (opts.cases.some((c) => !CASES.includes(c))) die(`--cases: a comma list of ${CASES.join(', ')}`);
if (!Number.isInteger(opts.rounds) || opts.rounds < 1) die('--rounds: a positive integer');
if (!Number.isInteger(opts.instances) || opts.instances < 2 || opts.instances > 16) die('--instances: 2-16');
if (!opts.concurrency.length || opts.concurrency.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) die('--concurrency: a comma list of 1-16');
if (!Number.isInteger(opts.rows) || opts.rows < 1) die('--rows: rows per sysbench table, a positive integer');
if (opts.net !== null && !/^127\.\d{1,3}$/.test(opts.net)) die('--net: 127.X');

const config = path.join(opts.dir, 'config.json');
const env = { ...process.env, RDSCTL_CONFIG: config, NO_COLOR: '1' };
delete env.RDSCTL_PROFILE;
const log = (s) => process.stdout.write(`${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (ms) => (ms / 1000).toFixed(1);

function rdsctl(args, stdin) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(RDSCTL, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.stdin.end(stdin ?? '');
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}
async function must(args, stdin) {
  const r = await rdsctl(args, stdin);
  if (r.code !== 0) throw new Error(`rdsctl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r;
}
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
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
/** At most `limit` of fn at once over items, in order. */
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

const loadAtStart = os.loadavg();
const tStart = Date.now();

// ---- the lab ----
// 16 NCs: 8 RDS NCs in two zones (one in maintenance), room for the pairs, an evacuated NC's
// nodes and the migrate targets.
if (!fs.existsSync(path.join(opts.dir, 'lab.json'))) {
  const x = opts.net ? Number(opts.net.split('.')[1]) : [150, 151, 152, 153, 154, 155, 156, 157, 158, 159].find((n) => !busyNets().has(n));
  if (!x) die('no free loopback net 127.150-159 (give --net)');
  log(`bench/lifecycle: lab up in ${opts.dir} on 127.${x}`);
  await must(['lab', 'up', '--dir', opts.dir, '--name', 'bench-lifecycle', '--port', String(opts.port ?? (await freePort())), '--ssh-port', String(await freePort()), '--net', `127.${x}`, '--ncs', '16', '--vms', '0']);
} else await must(['lab', 'up', '--dir', opts.dir]);
const profile = JSON.parse(fs.readFileSync(config, 'utf8')).profiles.find((p) => p.lab_dir === opts.dir);
const metaCnf = path.join(opts.dir, 'client.cnf');
const q = async (sql) => (await run('mariadb', [`--defaults-extra-file=${metaCnf}`, '--batch', '--skip-column-names', 'dbaas', '-e', sql])).stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));

// ---- the instances, each with the same sysbench rows ----
const created = [];
const APP_PW = `Bench-lc_${process.pid}x`;
const names = Array.from({ length: opts.cases.includes('evacuate') ? opts.instances : 2 }, (_, i) => `rm-blc${i}p${process.pid}`);
log(`bench/lifecycle: creating ${names.length} instances, ${opts.rows} rows x 2 sysbench tables each`);
const recs = await pool(names, 2, async (name) => {
  const r = JSON.parse((await must(['instance', 'create', '--name', name, '--db', 'bench', '--account', 'app', '--password-stdin', '--reason', 'bench/lifecycle', '-o', 'json'], `${APP_PW}\n`)).stdout);
  created.push(name);
  await run('sysbench', ['oltp_read_write', '--db-driver=mysql', `--mysql-host=${r.master.ip}`, `--mysql-port=${r.master.port}`, '--mysql-user=app', `--mysql-password=${APP_PW}`, '--mysql-db=bench', '--tables=2', `--table-size=${opts.rows}`, 'prepare']);
  log(`  ${name}: master ${r.master.host}, standby ${r.slave.host}, port ${r.master.port}`);
  return { ...r, name };
});

async function nodes(custinsId) {
  const rows = await q(`SELECT id, role, hostinfo_id, host_name, ip, port, cpu, mem_mb, disk_gb FROM instance WHERE custins_id = ${Number(custinsId)} AND status <> 'deleted'`);
  const f = (role) => {
    const [id, , hostinfoId, host, ip, port, cpu, mem, disk] = rows.find((r) => r[1] === role);
    return { id: Number(id), hostinfoId: Number(hostinfoId), host, ip, port: Number(port), cpu: Number(cpu), memMb: Number(mem), diskGb: Number(disk) };
  };
  return { master: f('master'), slave: f('slave') };
}
const rdsNcs = (await q("SELECT id, hostname, ip FROM hostinfo WHERE status = 'online' AND locked = 0 ORDER BY id")).map(([id, host, ip]) => ({ id: Number(id), host, ip }));
async function portFree(hostinfoId, port) {
  return (await q(`SELECT COUNT(*) FROM (SELECT port FROM instance WHERE hostinfo_id = ${hostinfoId} AND port = ${port} AND status <> 'deleted' UNION ALL SELECT port FROM rds_port_reservation WHERE hostinfo_id = ${hostinfoId} AND port = ${port}) x`))[0][0] === '0';
}
/** An NC for the pair's standby: not one of the pair's two, the port free there. */
async function otherNc(p, avoid = []) {
  for (const nc of rdsNcs) if (nc.id !== p.master.hostinfoId && nc.id !== p.slave.hostinfoId && !avoid.includes(nc.id) && (await portFree(nc.id, p.slave.port))) return nc;
  throw new Error('no NC with the port free for the standby');
}
async function caughtUp(p) {
  // the standby replicates from the master with both threads: what `instance show --live` checks
  const r = await rdsctl(['instance', 'show', String(p.custins), '--live', '-o', 'json']);
  const live = JSON.parse(r.stdout).live;
  const s = live.find((l) => l.role === 'slave');
  if (r.code !== 0 || s.slave_io_running !== 'Yes' || s.slave_sql_running !== 'Yes') throw new Error(`instance ${p.custins} not healthy after the move: ${JSON.stringify(live.map((l) => [l.role, l.host, l.check, l.note]))}`);
}

const result = { at: new Date().toISOString(), commit: (await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])).stdout.trim(), opts: { ...opts, dir: undefined }, cores: os.cpus().length };

// ---- migrate: rdsctl vs by hand ----
if (opts.cases.includes('migrate')) {
  const [A, B] = recs;
  const suCnf = path.join(opts.dir, 'bench-su.cnf');
  const replPw = path.join(opts.dir, 'bench-repl.pw');
  const secret = async (custins, account) => (await q(`SELECT secret FROM custins_secret WHERE custins_id = ${Number(custins)} AND account_name = '${account}'`))[0][0];
  const hand = async () => {
    const p = await nodes(B.custins_id);
    const to = await otherNc(p);
    fs.writeFileSync(suCnf, `[client]\nuser=aliyun_root\npassword=${await secret(B.custins_id, 'aliyun_root')}\n`, { mode: 0o600 });
    fs.writeFileSync(replPw, await secret(B.custins_id, 'replicator'), { mode: 0o600 });
    const e = {
      ...process.env,
      SSH_PORT: String(profile.ssh.port), SSH_USER: profile.ssh.user, SSH_KEY: profile.ssh.identity_file, KNOWN_HOSTS: profile.ssh.known_hosts,
      META_CNF: metaCnf, SU_CNF: suCnf, REPL_PW_FILE: replPw, PORT: String(p.slave.port),
      M_IP: p.master.ip, O_IP: p.slave.ip, N_IP: to.ip, N_HOST: to.host, N_HOSTINFO: String(to.id), O_HOSTINFO: String(p.slave.hostinfoId),
      INSTANCE_ID: String(p.slave.id), CUSTINS_ID: String(B.custins_id), CPU: String(p.slave.cpu), MEM_MB: String(p.slave.memMb), DISK_GB: String(p.slave.diskGb),
    };
    const t0 = process.hrtime.bigint();
    await run('bash', [path.join(ROOT, 'bench', 'migrate-by-hand.sh')], { env: e, maxBuffer: 16 * 1024 * 1024 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    await caughtUp({ custins: B.custins_id });
    return { ms, from: p.slave.host, to: to.host };
  };
  const byRdsctl = async () => {
    const p = await nodes(A.custins_id);
    const to = await otherNc(p);
    const r = await must(['instance', 'migrate', A.name, '--role', 'standby', '--to-nc', to.host, '--yes', '--reason', 'bench/lifecycle']);
    await caughtUp({ custins: A.custins_id });
    return { ms: r.ms, from: p.slave.host, to: to.host };
  };
  const rounds = { rdsctl: [], hand: [] };
  log(`migrate: ${opts.rounds} rounds, alternating (rdsctl first in odd rounds)`);
  for (let r = 0; r < opts.rounds; r++) {
    const order = r % 2 === 0 ? ['rdsctl', 'hand'] : ['hand', 'rdsctl'];
    for (const who of order) {
      const x = who === 'rdsctl' ? await byRdsctl() : await hand();
      rounds[who].push(x.ms);
      log(`  round ${r + 1} ${who.padEnd(6)} ${x.from} -> ${x.to}: ${secs(x.ms)} s`);
    }
  }
  const mr = median(rounds.rdsctl);
  const mh = median(rounds.hand);
  result.migrate = { rows_per_table: opts.rows, tables: 2, rdsctl_ms: Math.round(mr), hand_ms: Math.round(mh), ratio: +(mr / mh).toFixed(2), goal: 1.5, rounds: { rdsctl: rounds.rdsctl.map(Math.round), hand: rounds.hand.map(Math.round) } };
  fs.rmSync(suCnf, { force: true });
  fs.rmSync(replPw, { force: true });
}

// ---- evacuate at concurrency 1, 2, 4 ----
if (opts.cases.includes('evacuate')) {
  // The NC to drain: the one already holding the most of the pairs' nodes.
  const all = await Promise.all(recs.map(async (r) => ({ r, p: await nodes(r.custins_id) })));
  const count = new Map();
  for (const { p } of all) for (const n of [p.master, p.slave]) count.set(n.hostinfoId, (count.get(n.hostinfoId) ?? 0) + 1);
  const X = rdsNcs.filter((nc) => count.has(nc.id)).sort((a, b) => count.get(b.id) - count.get(a.id) || a.id - b.id)[0];
  /** Every pair gets its standby on X (a master there is switched over first), so each run moves the same 8 standbys. */
  const populate = async () => {
    await pool(recs, 2, async (r) => {
      let p = await nodes(r.custins_id);
      if (p.master.hostinfoId === X.id) {
        await must(['instance', 'switchover', r.name, '--yes', '--reason', 'bench/lifecycle']);
        p = await nodes(r.custins_id);
      }
      if (p.slave.hostinfoId !== X.id) await must(['instance', 'migrate', r.name, '--role', 'standby', '--to-nc', X.host, '--yes', '--reason', 'bench/lifecycle']);
    });
    const n = Number((await q(`SELECT COUNT(*) FROM instance WHERE hostinfo_id = ${X.id} AND role = 'slave' AND status <> 'deleted'`))[0][0]);
    if (n !== recs.length) throw new Error(`${X.host} holds ${n} standbys, not ${recs.length}`);
  };
  const runs = [];
  log(`evacuate: ${X.host} with ${recs.length} standbys, concurrency ${opts.concurrency.join(', ')}`);
  for (const [k, c] of opts.concurrency.entries()) {
    const tp = Date.now();
    await populate();
    const populateMs = Date.now() - tp;
    const loadBefore = os.loadavg()[0];
    const r = await must(['nc', 'evacuate', X.host, '--concurrency', String(c), '--yes', '--reason', 'bench/lifecycle']);
    const left = Number((await q(`SELECT COUNT(*) FROM instance WHERE hostinfo_id = ${X.id} AND status <> 'deleted'`))[0][0]);
    if (left !== 0) throw new Error(`${X.host} still holds ${left} nodes after the evacuation`);
    await pool(recs, 2, (x) => caughtUp({ custins: x.custins_id }));
    runs.push({ concurrency: c, wall_ms: Math.round(r.ms), per_instance_ms: Math.round(r.ms / recs.length), load_before: +loadBefore.toFixed(1), load_after: +os.loadavg()[0].toFixed(1), populate_ms: populateMs });
    log(`  concurrency ${c}: ${secs(r.ms)} s (${secs(r.ms / recs.length)} s per instance; load ${loadBefore.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)}; re-populated in ${secs(populateMs)} s)`);
    if (k < opts.concurrency.length - 1) await must(['nc', 'unlock', X.host, '--reason', 'bench/lifecycle: re-populate']);
  }
  await must(['nc', 'unlock', X.host, '--reason', 'bench/lifecycle done']);
  const base = runs[0].wall_ms;
  result.evacuate = { nc: X.host, instances: recs.length, rows_per_table: opts.rows, runs: runs.map((x) => ({ ...x, speedup: +(base / x.wall_ms).toFixed(2) })) };
}

// ---- the table ----
const loadAtEnd = os.loadavg();
result.load = { start: loadAtStart.map((x) => +x.toFixed(1)), end: loadAtEnd.map((x) => +x.toFixed(1)), cores: os.cpus().length };
result.wall_ms = Date.now() - tStart;
log('');
log(`load average (1/5/15 min): ${result.load.start.join('/')} at the start, ${result.load.end.join('/')} at the end, ${result.load.cores} cores; wall ${secs(result.wall_ms)} s; commit ${result.commit}`);
if (result.migrate) {
  const m = result.migrate;
  log('| case | rdsctl | by hand | ratio | goal | met |');
  log('|---|---|---|---|---|---|');
  log(`| migrate a standby (${m.tables} x ${m.rows_per_table} rows), median of ${opts.rounds} | ${secs(m.rdsctl_ms)} s | ${secs(m.hand_ms)} s | ${m.ratio} | <=1.5x | ${m.ratio <= 1.5 ? 'yes' : '**no**'} |`);
}
if (result.evacuate) {
  const e = result.evacuate;
  log('');
  log(`| nc evacuate (${e.instances} standbys off ${e.nc}) | wall | per instance | speed-up vs concurrency ${e.runs[0].concurrency} | load before -> after |`);
  log('|---|---|---|---|---|');
  for (const x of e.runs) log(`| concurrency ${x.concurrency} | ${secs(x.wall_ms)} s | ${secs(x.per_instance_ms)} s | ${x.speedup}x | ${x.load_before} -> ${x.load_after} |`);
}
fs.mkdirSync(RESULTS, { recursive: true });
fs.writeFileSync(path.join(RESULTS, 'lifecycle-latest.json'), JSON.stringify(result, null, 2) + '\n');
log(`bench/lifecycle: results in ${path.relative(process.cwd(), path.join(RESULTS, 'lifecycle-latest.json'))}`);

for (const n of created.reverse()) await rdsctl(['instance', 'delete', n, '--yes', '--reason', 'bench/lifecycle cleanup']);
if (!opts.keepLab) await rdsctl(['lab', 'down', '--purge', '--dir', opts.dir]);
process.exit(0);
