#!/usr/bin/env node
// High availability under load, on demand (issue 11), on its own lab: trials of
//   switchover  `rdsctl instance switchover` (planned)
//   kill        kill -9 of the master's mariadbd inside its NC; `rdsctl ha watch` fails over
//   freeze      NC loss: every process of the master's NC SIGSTOPped (TCP still connects, nothing
//               answers); the watcher fails over; the NC is thawed after the trial
// under a sysbench oltp_write_only load through the endpoint plus a writer that records every
// acknowledged write id and its time. After each trial: every acknowledged id is on the new master
// (lost = acknowledged but missing), at most one writable server (split-brain: two servers with
// read_only = 0 at once, checked right after the trial and again once a frozen NC is thawed and
// the watcher had 15 s to fence it), and master and standby tables identical: CHECKSUM TABLE on
// both sides with the load stopped and the standby at the master's gtid_binlog_pos (see the
// README for why not pt-table-checksum). After a kill or freeze trial the standby is rebuilt
// (`rdsctl instance rebuild-standby`) for the next one.
// Write unavailability = last acknowledged write before the trial began -> first one after the
// new master took writes (the longest gap between two acknowledged writes of the trial).
//
//   bench/ha.mjs [--trials N] [--kinds switchover,kill,freeze] [--rate TPS] [--keep-lab] [--dir DIR]
//                [--port P] [--net 127.X]
//
// Prints per kind: unavailability min/median/max, lost acknowledged writes, split-brain count,
// beside the comparison the issue names; writes bench/results/ha.json.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { RDSCTL, RESULTS, ROOT } from './lib/paths.mjs';

const die = (m) => {
  process.stderr.write(`bench/ha: ${m}\n`);
  process.exit(2);
};
const KINDS = ['switchover', 'kill', 'freeze'];
const opts = { trials: 50, kinds: KINDS, rate: 50, keepLab: false, dir: '/tmp/rdsctl-ha-bench', port: null, net: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => process.argv[++i] ?? die(`${a} needs a value`);
  if (a === '--trials') opts.trials = Number(v());
  else if (a === '--kinds') opts.kinds = v().split(',');
  else if (a === '--rate') opts.rate = Number(v());
  else if (a === '--keep-lab') opts.keepLab = true;
  else if (a === '--dir') opts.dir = path.resolve(v());
  else if (a === '--port') opts.port = Number(v());
  else if (a === '--net') opts.net = v();
  else die(`unknown argument ${a} (usage: bench/ha.mjs [--trials N] [--kinds switchover,kill,freeze] [--rate TPS] [--keep-lab] [--dir DIR] [--port P] [--net 127.X])`);
}
if (!Number.isInteger(opts.trials) || opts.trials < 1) die('--trials: a positive integer');
if (opts.kinds.some((k) => !KINDS.includes(k))) die(`--kinds: a comma list of ${KINDS.join(', ')}`);
if (!Number.isInteger(opts.rate) || opts.rate < 1) die('--rate: sysbench transactions per second, a positive integer');

const config = path.join(opts.dir, 'config.json');
const env = { ...process.env, RDSCTL_CONFIG: config, NO_COLOR: '1' };
delete env.RDSCTL_PROFILE;
const log = (s) => process.stdout.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rdsctl(args, stdin) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn(RDSCTL, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.stdin.end(stdin ?? '');
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}
async function must(args, stdin) {
  const r = await rdsctl(args, stdin);
  if (r.code !== 0) throw new Error(`rdsctl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').pop()}`);
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
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];

// ---- the lab and the instance ----
if (!fs.existsSync(path.join(opts.dir, 'lab.json'))) {
  const x = opts.net ? Number(opts.net.split('.')[1]) : [141, 142, 143, 144, 145, 146, 147, 148, 149].find((n) => !busyNets().has(n));
  if (!x) die('no free loopback net 127.141-149 (give --net)');
  await must(['lab', 'up', '--dir', opts.dir, '--name', 'bench-ha', '--port', String(opts.port ?? (await freePort())), '--ssh-port', String(await freePort()), '--net', `127.${x}`, '--ncs', '6', '--vms', '0']);
} else await must(['lab', 'up', '--dir', opts.dir]);

const { openInstance } = await import(path.join(ROOT, 'dist/remote/mysql-instance.js'));
const { hostLayout } = await import(path.join(ROOT, 'dist/rds/layout.js'));
const { labHost, labLayout } = await import(path.join(ROOT, 'dist/lab/lab.js'));
const { paramsOf, readLabFile } = await import(path.join(ROOT, 'dist/lab/params.js'));
const { freezeHost, hostExec, thawHost } = await import(path.join(ROOT, 'dist/lab/power.js'));
const layout = labLayout({ ...paramsOf(readLabFile(opts.dir)), dir: opts.dir });
const host = (name) => labHost(layout, name);

const NAME = `rm-hab${process.pid}`;
const APP_PW = `Bench-ha_${process.pid}x`;
const rec = JSON.parse((await must(['instance', 'create', '--name', NAME, '--db', 'bench', '--account', 'app', '--password-stdin', '--reason', 'bench/ha', '-o', 'json'], `${APP_PW}\n`)).stdout);
const [epHost, epPort] = rec.endpoint.split(':');
const metaCnf = path.join(opts.dir, 'client.cnf');

async function meta(sql, params = []) {
  const { createContext } = await import(path.join(ROOT, 'dist/core/context.js'));
  const { createIO } = await import(path.join(ROOT, 'dist/core/io.js'));
  const ctx = createContext({ env, io: createIO({ stdout: process.stdout, stderr: process.stderr, stdoutIsTTY: false, stderrIsTTY: false, stdinIsTTY: false, env }) });
  try {
    return await ctx.db('dbaas').query(sql, params);
  } finally {
    await ctx.close();
  }
}
void metaCnf;
const suPw = (await meta("SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = 'aliyun_root'", [rec.custins_id]))[0].secret;
async function sql(n, q, params = []) {
  const s = await openInstance({ name: n.host ?? 'x', host: n.ip, port: n.port, user: 'aliyun_root', password: suPw, connectTimeoutMs: 3000 });
  try {
    return await s.query(q, params);
  } finally {
    await s.close();
  }
}
async function pair() {
  const rows = await meta("SELECT role, host_name, ip, port FROM instance WHERE custins_id = ? AND status <> 'deleted'", [rec.custins_id]);
  const f = (r) => {
    const x = rows.find((y) => y.role === r);
    return { host: x.host_name, ip: x.ip, port: x.port };
  };
  return { master: f('master'), slave: f('slave') };
}

await sql(rec.master, 'CREATE TABLE bench.acked (id BIGINT PRIMARY KEY, at BIGINT NOT NULL) ENGINE=InnoDB');
const sbArgs = ['--db-driver=mysql', `--mysql-host=${epHost}`, `--mysql-port=${epPort}`, '--mysql-user=app', `--mysql-password=${APP_PW}`, '--mysql-db=bench', '--tables=2', '--table-size=2000'];
await new Promise((resolve, reject) => {
  const p = spawn('sysbench', ['oltp_write_only', ...sbArgs, 'prepare'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  p.once('close', (c) => (c === 0 ? resolve() : reject(new Error(`sysbench prepare: ${err}`))));
});

// ---- the load ----
/** The acknowledged-write recorder: autocommitted INSERTs through the endpoint, reconnecting after 50 ms on an error. */
class Writer {
  constructor(firstId) {
    this.next = firstId;
    this.acks = []; // [id, ms]
    this.stopped = false;
  }
  start() {
    this.loop = (async () => {
      let s = null;
      while (!this.stopped) {
        try {
          if (!s) s = await openInstance({ name: 'endpoint', host: epHost, port: Number(epPort), user: 'app', password: APP_PW, connectTimeoutMs: 2000 });
          const id = this.next++;
          await s.query('INSERT INTO bench.acked (id, at) VALUES (?, ?)', [id, Date.now()]);
          this.acks.push([id, Date.now()]);
        } catch {
          if (s) await s.close().catch(() => undefined);
          s = null;
          await sleep(50);
        }
      }
      if (s) await s.close().catch(() => undefined);
    })();
  }
  async waitAcks(n, ms = 60000) {
    const want = this.acks.length + n;
    const end = Date.now() + ms;
    while (this.acks.length < want) {
      if (Date.now() > end) throw new Error(`writer: ${this.acks.length}/${want} acknowledged writes within ${ms} ms`);
      await sleep(20);
    }
  }
  async stop() {
    this.stopped = true;
    await this.loop;
  }
}
function startSysbench() {
  const p = spawn('sysbench', ['oltp_write_only', ...sbArgs, '--threads=2', `--rate=${opts.rate}`, '--time=0', '--mysql-ignore-errors=all', '--report-interval=0', 'run'], { stdio: ['ignore', 'ignore', 'ignore'] });
  return p;
}

// ---- the watcher ----
const watcher = spawn(RDSCTL, ['ha', 'watch', '--quiet', '1', '-o', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
const events = [];
let wbuf = '';
watcher.stdout.on('data', (d) => {
  wbuf += d;
  const lines = wbuf.split('\n');
  wbuf = lines.pop();
  for (const l of lines) if (l.trim()) events.push({ ...JSON.parse(l), seen: Date.now() });
});
async function until(what, fn, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(100);
  }
  throw new Error(`timed out (${ms} ms) waiting for ${what}`);
}
await until('the watcher to take the instance', () => events.some((e) => e.ins_name === NAME && e.kind === 'acquired'), 60000);

async function semisyncSampled() {
  await until('a semi-sync sample by the watcher', async () => (await meta('SELECT last_semisync_on AS s FROM aurora_ha WHERE custins_id = ?', [rec.custins_id]))[0].s === 1, 60000);
}

// ---- the trials ----
async function writable(n) {
  try {
    return String((await sql(n, 'SELECT @@GLOBAL.read_only AS r'))[0].r) === '0';
  } catch {
    return false;
  }
}
async function checksums(p) {
  const pos = (await sql(p.master, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'))[0].p;
  const w = (await sql(p.slave, 'SELECT MASTER_GTID_WAIT(?, 60) AS r', [pos]))[0].r;
  if (String(w) !== '0') return `standby did not reach ${pos}`;
  const sum = async (n) => (await sql(n, 'CHECKSUM TABLE bench.acked, bench.sbtest1, bench.sbtest2')).map((r) => `${r.Table}=${r.Checksum}`).join(',');
  const [a, b] = await Promise.all([sum(p.master), sum(p.slave)]);
  return a === b ? null : `master ${a} / standby ${b}`;
}

let nextId = 1;
const results = [];
async function trial(kind, i) {
  await semisyncSampled();
  const before = await pair();
  const w = new Writer(nextId);
  const sb = startSysbench();
  w.start();
  let extra = {};
  try {
    await w.waitAcks(30);
    const t0 = Date.now();
    const seen = events.length;
    let frozen = false;
    try {
      if (kind === 'switchover') {
        const r = await must(['instance', 'switchover', NAME, '--yes', '-o', 'json']);
        extra.task_ms = r.ms;
      } else if (kind === 'kill') {
        const k = await hostExec(opts.dir, host(before.master.host), ['sh', '-c', 'kill -KILL "$(cat "$1")"', 'sh', hostLayout(before.master.port).pidFile]);
        if (k.code !== 0) throw new Error(`kill on ${before.master.host}: ${k.stderr}`);
      } else {
        freezeHost(opts.dir, host(before.master.host));
        frozen = true;
      }
      if (kind !== 'switchover') {
        await until('the failover', () => events.slice(seen).some((e) => e.ins_name === NAME && (e.kind === 'failover' || e.kind === 'failover_failed' || e.kind === 'no_failover')), 120000);
        const ev = events.slice(seen).find((e) => e.ins_name === NAME && (e.kind === 'failover' || e.kind === 'failover_failed' || e.kind === 'no_failover'));
        if (ev.kind !== 'failover') throw new Error(`watcher: ${ev.kind}: ${ev.detail}`);
        const dead = events.slice(seen).find((e) => e.ins_name === NAME && e.kind === 'dead');
        extra.detected_ms = dead ? dead.seen - t0 : null;
        extra.failover_done_ms = ev.seen - t0;
      }
      const tDone = Date.now();
      await w.waitAcks(30, 60000);
      const after = await pair();
      // unavailability: the longest gap between two acknowledged writes around the trial
      const times = w.acks.map(([, at]) => at);
      let gap = 0;
      for (let k = 1; k < times.length; k++) if (times[k] >= t0 && times[k - 1] <= tDone + 5000) gap = Math.max(gap, times[k] - times[k - 1]);
      // split-brain right after: both servers that answer
      let split = (await writable(after.master)) && (await writable(after.slave)) ? 1 : 0;
      if (frozen) {
        thawHost(opts.dir, host(before.master.host));
        frozen = false;
        // the watcher fences a revived old master; give it 15 s, then count
        const end = Date.now() + 15000;
        while (Date.now() < end && (await writable(before.master))) await sleep(200);
        if ((await writable(before.master)) && (await writable(after.master))) split = 1;
      }
      await w.stop();
      sb.kill('SIGTERM');
      const ids = new Set((await sql(after.master, 'SELECT id FROM bench.acked WHERE id >= ?', [nextId])).map((r) => Number(r.id)));
      const lost = w.acks.filter(([id]) => !ids.has(id)).length;
      nextId = w.next;
      const moved = after.master.host !== before.master.host;
      let rebuild_ms = null;
      if (kind !== 'switchover') {
        const r = await must(['instance', 'rebuild-standby', NAME, '--yes', '--reason', 'bench/ha']);
        rebuild_ms = r.ms;
      }
      const diff = await checksums(await pair());
      const row = { kind, trial: i + 1, unavailable_ms: gap, lost, split_brain: split, moved, checksum: diff ?? 'equal', rebuild_ms, acked: w.acks.length, ...extra };
      results.push(row);
      log(`  ${kind} ${i + 1}: unavailable ${gap} ms, lost ${lost}, split-brain ${split}, tables ${diff ?? 'equal'}${extra.detected_ms != null ? `, dead declared at +${extra.detected_ms} ms` : ''}${rebuild_ms ? `, rebuild ${(rebuild_ms / 1000).toFixed(1)} s` : ''}`);
    } finally {
      if (frozen) thawHost(opts.dir, host(before.master.host));
    }
  } finally {
    if (!w.stopped) await w.stop();
    sb.kill('SIGTERM');
  }
}

const t0 = Date.now();
try {
  for (const kind of opts.kinds) {
    log(`bench/ha: ${opts.trials} ${kind} trials on ${NAME} (endpoint ${rec.endpoint}), sysbench oltp_write_only ${opts.rate} tps + acked writer`);
    for (let i = 0; i < opts.trials; i++) {
      try {
        await trial(kind, i);
      } catch (e) {
        results.push({ kind, trial: i + 1, error: e.message });
        log(`  ${kind} ${i + 1}: FAILED: ${e.message}`);
        // bring the pair back for the next trial when it can be: finish an interrupted or failed
        // flow (the old master answers again by now), then rebuild the standby
        const t = (await meta('SELECT status FROM task_queue WHERE custins_id = ? ORDER BY id DESC LIMIT 1', [rec.custins_id]))[0];
        if (t && t.status !== 'done' && t.status !== 'cancelled') await rdsctl(['instance', 'step', NAME, 'resume', '--reason', 'bench/ha recovery']);
        await rdsctl(['instance', 'rebuild-standby', NAME, '--yes', '--reason', 'bench/ha recovery']);
      }
    }
  }
} finally {
  watcher.kill('SIGTERM');
}
const wall = Date.now() - t0;

// ---- the table ----
const GOAL = { switchover: 2000, kill: 10000, freeze: 15000 };
const COMPARE = {
  switchover: 'the issue names no comparison for a planned switchover',
  kill: 'orchestrator: 10-30 s detect+recover; managed Multi-AZ MySQL: 60-120 s',
  freeze: 'orchestrator: 10-30 s detect+recover; managed Multi-AZ MySQL: 60-120 s',
};
log('');
log(`kind        trials  ok  unavailable min/median/max (s)  lost  split-brain  goal (median)  comparison`);
const summary = {};
for (const kind of opts.kinds) {
  const rs = results.filter((r) => r.kind === kind);
  const ok = rs.filter((r) => r.error === undefined);
  const u = ok.map((r) => r.unavailable_ms);
  const s = {
    trials: rs.length,
    ok: ok.length,
    failed: rs.length - ok.length,
    min_ms: u.length ? Math.min(...u) : null,
    median_ms: u.length ? median(u) : null,
    max_ms: u.length ? Math.max(...u) : null,
    lost: ok.reduce((a, r) => a + r.lost, 0),
    split_brain: ok.reduce((a, r) => a + r.split_brain, 0),
    checksum_mismatch: ok.filter((r) => r.checksum !== 'equal').length,
    goal_median_ms: GOAL[kind],
  };
  summary[kind] = s;
  const f = (x) => (x === null ? '-' : (x / 1000).toFixed(2));
  log(`${kind.padEnd(11)} ${String(s.trials).padStart(6)} ${String(s.ok).padStart(3)}  ${`${f(s.min_ms)} / ${f(s.median_ms)} / ${f(s.max_ms)}`.padEnd(30)} ${String(s.lost).padStart(5)} ${String(s.split_brain).padStart(12)}  <= ${(GOAL[kind] / 1000).toFixed(0)} s ${s.median_ms !== null && s.median_ms <= GOAL[kind] ? 'met' : 'MISSED'}   ${COMPARE[kind]}`);
}
log(`wall time ${(wall / 60000).toFixed(1)} min; tables compared with CHECKSUM TABLE (bench.acked, sbtest1, sbtest2) after the standby reached the master's gtid_binlog_pos with the load stopped`);
fs.mkdirSync(RESULTS, { recursive: true });
fs.writeFileSync(path.join(RESULTS, 'ha.json'), JSON.stringify({ at: new Date().toISOString(), opts: { ...opts, dir: undefined }, wall_ms: wall, summary, trials: results }, null, 2) + '\n');
log(`bench/ha: results in ${path.relative(process.cwd(), path.join(RESULTS, 'ha.json'))}`);

await rdsctl(['instance', 'delete', NAME, '--yes', '--reason', 'bench/ha cleanup']);
if (!opts.keepLab) await rdsctl(['lab', 'down', '--purge', '--dir', opts.dir]);
process.exit(0);
