#!/usr/bin/env node
// Monitor benchmark: `rdsctl monitor` over N physical instances (default 200) at a 10 s interval
// for M minutes (default 10). Reported: the monitor process's CPU (utime + stime from /proc, as a
// percentage of one core, per 100 instances, and per sample), its resident memory every interval
// (first, last, peak, and the slope over the second half: a flat curve is ~0), and its rounds.
// Goal (issue 14): < 2 % of one core per 100 instances, memory flat over 10 minutes.
//
// Beside it, in the same run, the comparison: one round of the same instances sampled the
// "process per sample" way (one `mariadb -e 'SHOW GLOBAL STATUS; SHOW SLAVE STATUS'` per
// instance, as cron scripts do), its CPU measured from the shell's `times`.
//
// The instances: the running instances of a lab (create one or two first: `rdsctl instance
// create`), and metadb records cloned from them until there are N physical instances: the
// clones point at the same real servers (same address, port, NC and password), so every sample
// is a real login, real queries and a real SSH command on the NC. The clones (custins rm-bench-*,
// their instance, instance_perf, custins_secret rows, and hostinfo rows nc-bench-* that only exist
// to keep (hostinfo, port) unique) are removed at the end, with their samples.
//
//   HOME=… node bench/monitor.mjs [--instances 200] [--minutes 10] [--interval 10s] [--lab-dir DIR] [--json FILE]
// Uses the current rdsctl profile (a lab) and the lab's client.cnf for the setup SQL.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RDSCTL = path.join(ROOT, 'bin', 'rdsctl');

function die(msg) {
  process.stderr.write(`bench/monitor: ${msg}\n`);
  process.exit(2);
}

const o = { instances: 200, minutes: 10, interval: '10s', labDir: path.join(os.homedir(), '.local/share/rdsctl/lab'), json: path.join(ROOT, 'bench/results/monitor-latest.json') };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => process.argv[++i] ?? die(`${a} needs a value`);
  if (a === '--instances') o.instances = Number(v());
  else if (a === '--minutes') o.minutes = Number(v());
  else if (a === '--interval') o.interval = v();
  else if (a === '--lab-dir') o.labDir = v();
  else if (a === '--json') o.json = v();
  else die(`unknown argument ${a}`);
}
const cnf = path.join(o.labDir, 'client.cnf');
if (!fs.existsSync(cnf)) die(`no lab client.cnf at ${cnf} (--lab-dir)`);

function sql(statements, db = 'dbaas') {
  return execFileSync('mariadb', [`--defaults-file=${cnf}`, '--batch', '--skip-column-names', db], { input: statements, encoding: 'utf8' });
}
function rows(statement) {
  return sql(statement).split('\n').filter(Boolean).map((l) => l.split('\t'));
}

const CLONE = "ins_name LIKE 'rm-bench-%'";
function cleanup() {
  sql(`DELETE s FROM perf_sample s JOIN instance i ON i.id = s.instance_id JOIN custins c ON c.id = i.custins_id WHERE c.${CLONE};
DELETE d FROM db_perf_sample d JOIN custins c ON c.id = d.custins_id WHERE c.${CLONE};
DELETE p FROM instance_perf p JOIN custins c ON c.id = p.custins_id WHERE c.${CLONE};
DELETE x FROM custins_secret x JOIN custins c ON c.id = x.custins_id WHERE c.${CLONE};
DELETE i FROM instance i JOIN custins c ON c.id = i.custins_id WHERE c.${CLONE};
DELETE FROM custins WHERE ${CLONE};
DELETE FROM hostinfo WHERE hostname LIKE 'nc-bench-%';`);
}

// 1. the real instances and the clones
cleanup();
const real = rows(`SELECT c.id, c.ins_name, i.role, i.host_name, i.ip, i.port, h.ssh_port FROM custins c JOIN instance i ON i.custins_id = c.id JOIN hostinfo h ON h.id = i.hostinfo_id JOIN instance_perf p ON p.instance_id = i.id
  WHERE c.status = 'running' AND i.status <> 'deleted' AND p.status = 'active' ORDER BY c.id, i.role`);
if (real.length === 0) die('no running instance in this lab: create one first (rdsctl instance create)');
const realCustins = [...new Set(real.map((r) => r[0]))];
const pairs = realCustins.map((id) => real.filter((r) => r[0] === id));
const clonesNeeded = Math.max(0, Math.ceil((o.instances - real.length) / 2));
let script = '';
for (let k = 0; k < clonesNeeded; k++) {
  const src = pairs[k % pairs.length];
  const name = `rm-bench-${String(k).padStart(4, '0')}`;
  script += `INSERT INTO custins (ins_name, engine, version, class_code, storage_gb, storage_type, zone, status) SELECT '${name}', engine, version, class_code, storage_gb, storage_type, zone, 'running' FROM custins WHERE id = ${src[0][0]};
SET @c = LAST_INSERT_ID();
INSERT INTO custins_secret (custins_id, account_name, secret) SELECT @c, account_name, secret FROM custins_secret WHERE custins_id = ${src[0][0]} AND account_name = 'aliyun_root';
`;
  for (const r of src) {
    const hn = `nc-bench-${String(k).padStart(4, '0')}-${r[2]}`;
    const n = k * 2 + (r[2] === 'master' ? 0 : 1);
    script += `INSERT INTO hostinfo (hostname, ip, zone, cluster, ssh_port, status, cpu_total, mem_total_mb, disk_total_gb) VALUES ('${hn}', '127.255.${Math.floor(n / 250)}.${(n % 250) + 1}', 'bench', 'bench', ${r[6]}, 'maintain', 1, 1, 1);
INSERT INTO instance (custins_id, role, hostinfo_id, host_name, ip, port, cpu, mem_mb, disk_gb, status) VALUES (@c, '${r[2]}', LAST_INSERT_ID(), '${r[3]}', '${r[4]}', ${r[5]}, 1, 1024, 20, 'running');
INSERT INTO instance_perf (instance_id, custins_id, collect_interval_sec, metrics, status) VALUES (LAST_INSERT_ID(), @c, 10, 'bench', 'active');
`;
  }
}
sql(script);
const total = Number(rows(`SELECT COUNT(*) FROM instance_perf p JOIN instance i ON i.id = p.instance_id JOIN custins c ON c.id = i.custins_id WHERE p.status = 'active' AND c.status = 'running' AND i.status <> 'deleted'`)[0][0]);
const servers = new Set(real.map((r) => `${r[4]}:${r[5]}`)).size;
process.stderr.write(`bench/monitor: ${total} physical instances (${real.length} real on ${servers} servers, the rest metadb clones of them); ${o.minutes} min at ${o.interval}\n`);

// 2. the comparison: one round the process-per-sample way
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-bench-monitor-'));
const loginOf = new Map();
for (const id of realCustins) {
  const pw = rows(`SELECT secret FROM custins_secret WHERE custins_id = ${id} AND account_name = 'aliyun_root'`)[0][0];
  const f = path.join(tmp, `login-${id}.cnf`);
  fs.writeFileSync(f, `[client]\nuser=aliyun_root\npassword=${pw}\n`, { mode: 0o600 });
  loginOf.set(id, f);
}
const targets = [];
for (let k = 0; k < total; k++) targets.push(real[k % real.length]);
const loop = 'set -e\n' + targets.map((r) => `mariadb --defaults-file=${loginOf.get(r[0])} -h ${r[4]} -P ${r[5]} -e 'SHOW GLOBAL STATUS; SHOW SLAVE STATUS' >/dev/null`).join('\n');
const t0 = Date.now();
const timesOut = execFileSync('bash', ['-c', `${loop}\ntimes`], { encoding: 'utf8' });
const cmpWall = Date.now() - t0;
const childLine = timesOut.trim().split('\n').pop();
const secs = (s) => { const m = /(\d+)m([\d.]+)s/.exec(s); return m ? Number(m[1]) * 60 + Number(m[2]) : 0; };
const [cu, cs] = childLine.split(/\s+/);
const cmpCpuMs = Math.round((secs(cu) + secs(cs)) * 1000);
fs.rmSync(tmp, { recursive: true, force: true });

// 3. the monitor
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const m = spawn(process.execPath, [RDSCTL, 'monitor', '--interval', o.interval], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
m.stderr.on('data', (d) => (err += d.toString()));
function stat() {
  const s = fs.readFileSync(`/proc/${m.pid}/stat`, 'utf8').replace(/.*\) /, '').split(' ');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${m.pid}/status`, 'utf8'))[1]) * 1024;
  return { cpu: (Number(s[11]) + Number(s[12])) / ticks, rss, at: Date.now() };
}
const intervalMs = (/^(\d+)s$/.exec(o.interval)?.[1] ?? 10) * 1000;
// Start counting after the first round (start-up, module loading and the first logins are not the steady state).
await new Promise((r) => { const t = setInterval(() => { if (/round 1:/.test(err)) { clearInterval(t); r(); } }, 200); });
const first = stat();
const curve = [first];
const end = first.at + o.minutes * 60_000;
while (Date.now() < end) {
  await new Promise((r) => setTimeout(r, intervalMs));
  curve.push(stat());
}
const last = curve[curve.length - 1];
m.kill('SIGTERM');
const code = await new Promise((r) => m.on('exit', (c) => r(c)));
const roundLines = err.split('\n').filter((l) => /^round \d+:/.test(l));
const rounds = roundLines.length - 1;
const took = roundLines.map((l) => Number(/in (\d+) ms/.exec(l)?.[1] ?? NaN)).filter(Number.isFinite).sort((a, b) => a - b);
const gaps = roundLines.map((l) => Number(/(\d+) gaps/.exec(l)?.[1] ?? 0)).reduce((a, b) => a + b, 0);
cleanup();

const wall = (last.at - first.at) / 1000;
const cpu = last.cpu - first.cpu;
const corePct = (100 * cpu) / wall;
const per100 = corePct / (total / 100);
const samples = rounds * total;
// RSS is a garbage-collector sawtooth: compare the mean of the first and the last third of the run
// (after the first round) rather than two single readings.
const third = Math.max(1, Math.floor(curve.length / 3));
const mean = (xs) => xs.reduce((a, c) => a + c.rss, 0) / xs.length;
const drift = mean(curve.slice(-third)) - mean(curve.slice(0, third));
const mb = (b) => Math.round((b / 1048576) * 10) / 10;
const result = {
  when: new Date().toISOString(),
  commit: execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
  instances: total,
  real_instances: real.length,
  real_servers: servers,
  interval: o.interval,
  minutes: Math.round((wall / 60) * 10) / 10,
  rounds,
  rounds_expected: Math.floor(wall / (intervalMs / 1000)),
  gaps,
  round_ms_median: took[Math.floor(took.length / 2)] ?? null,
  cpu_seconds: Math.round(cpu * 100) / 100,
  cpu_pct_of_one_core: Math.round(corePct * 100) / 100,
  cpu_pct_per_100_instances: Math.round(per100 * 100) / 100,
  cpu_ms_per_sample: samples ? Math.round(((cpu * 1000) / samples) * 1000) / 1000 : null,
  rss_mb: { first: mb(first.rss), last: mb(last.rss), peak: mb(Math.max(...curve.map((c) => c.rss))), mean_first_third: mb(mean(curve.slice(0, third))), mean_last_third: mb(mean(curve.slice(-third))), drift: mb(drift) },
  rss_curve_mb: curve.map((c) => mb(c.rss)),
  comparison_process_per_sample: { cpu_ms_per_round: cmpCpuMs, wall_ms_per_round: cmpWall, cpu_ms_per_sample: Math.round((cmpCpuMs / total) * 100) / 100 },
  goal: { cpu_pct_per_100_instances: '< 2', met: per100 < 2, memory_flat: Math.abs(drift) < 0.05 * mean(curve) },
  monitor_exit: code,
};
fs.writeFileSync(o.json, JSON.stringify(result, null, 2) + '\n');
process.stdout.write(
  `monitor over ${total} instances (${real.length} real on ${servers} servers + metadb clones), ${o.interval} interval, ${result.minutes} min, ${rounds} rounds (${gaps} gap samples), round median ${result.round_ms_median} ms\n` +
    `  rdsctl monitor:         ${result.cpu_pct_of_one_core}% of one core = ${result.cpu_pct_per_100_instances}% per 100 instances (goal < 2%); ${result.cpu_ms_per_sample} ms CPU per sample\n` +
    `  process per sample:     ${result.comparison_process_per_sample.cpu_ms_per_sample} ms CPU per sample (${cmpCpuMs} ms CPU, ${cmpWall} ms wall for one round of ${total} mariadb clients)\n` +
    `  memory (RSS):           first ${result.rss_mb.first} MB, last ${result.rss_mb.last} MB, peak ${result.rss_mb.peak} MB; mean of the first third ${result.rss_mb.mean_first_third} MB, of the last third ${result.rss_mb.mean_last_third} MB (drift ${result.rss_mb.drift} MB: ${result.goal.memory_flat ? 'flat' : 'NOT flat'})\n` +
    `  curve (MB every ${o.interval}): ${result.rss_curve_mb.join(' ')}\n` +
    `written to ${path.relative(ROOT, o.json)}\n`,
);
