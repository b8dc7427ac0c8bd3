#!/usr/bin/env node
// Backup and point-in-time clone, on demand (issue 12), in one run on its own lab:
//   1. backup of one instance with `rdsctl instance backup` beside the same stream by hand
//      (mariadb-backup --stream=xbstream on the standby NC piped over ssh to the store's mbstream);
//      goal <= 1.15x the hand time.
//   2. clone to a point in time with `rdsctl instance clone --to-time` beside the floor by hand on
//      one NC (pull the set from the store, prepare, move-back, start, replay the archived binlogs
//      with mariadb-binlog --stop-datetime); goal <= 1.5x.
//   3. point-in-time exactness: clones to N random seconds of a write load (default 20), each
//      checked row by row against the writer's own commit seconds; goal N/N.
//
//   bench/backup.mjs [--rounds N] [--times N] [--rows N] [--keep-lab] [--dir DIR]
//
// Prints a table and writes bench/results/backup.json.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RDSCTL, RESULTS, ROOT } from './lib/paths.mjs';

const run = promisify(execFile);
const die = (m) => {
  process.stderr.write(`bench/backup: ${m}\n`);
  process.exit(2);
};
const opts = { rounds: 3, times: 20, rows: 17, keepLab: false, dir: '/tmp/rdsctl-backup-bench' };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = () => process.argv[++i] ?? die(`${a} needs a value`);
  if (a === '--rounds') opts.rounds = Number(v());
  else if (a === '--times') opts.times = Number(v());
  else if (a === '--rows') opts.rows = Number(v());
  else if (a === '--keep-lab') opts.keepLab = true;
  else if (a === '--dir') opts.dir = path.resolve(v());
  else die(`unknown argument ${a} (usage: bench/backup.mjs [--rounds N] [--times N] [--rows LOG2] [--keep-lab] [--dir DIR])`);
}
const config = path.join(opts.dir, 'config.json');
const env = { ...process.env, RDSCTL_CONFIG: config, NO_COLOR: '1' };
delete env.RDSCTL_PROFILE;
const log = (s) => process.stdout.write(`${s}\n`);

function rdsctl(args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(RDSCTL, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}
async function must(args) {
  const r = await rdsctl(args);
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
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const loadAtStart = os.loadavg()[0];

// ---- the lab, the instance, its data ----
if (!fs.existsSync(path.join(opts.dir, 'lab.json'))) {
  const x = [131, 132, 133, 134, 135, 136, 137, 138, 139, 140].find((n) => !busyNets().has(n));
  if (!x) die('no free loopback net 127.131-140');
  await must(['lab', 'up', '--dir', opts.dir, '--name', 'bench-backup', '--port', String(await freePort()), '--ssh-port', String(await freePort()), '--net', `127.${x}`, '--ncs', '6', '--vms', '0']);
} else await must(['lab', 'up', '--dir', opts.dir]);
const profile = JSON.parse(fs.readFileSync(config, 'utf8')).profiles.find((p) => p.lab_dir === opts.dir);
const { hostLayout } = await import(path.join(ROOT, 'dist/rds/layout.js'));
const { storeOf, ncToStore } = await import(path.join(ROOT, 'dist/backup/store.js'));
const { sh } = await import(path.join(ROOT, 'dist/remote/quote.js'));
const store = storeOf(profile);
const clientCnf = path.join(opts.dir, 'client.cnf');
const q = async (db, sql) => (await run('mariadb', [`--defaults-extra-file=${clientCnf}`, '--batch', '--skip-column-names', db, '-e', sql])).stdout.trim();

const NAME = `rm-bench${process.pid}`;
const created = [NAME];
const rec = JSON.parse((await must(['instance', 'create', '--name', NAME, '--db', 'bench', '-o', 'json'])).stdout);
const pw = await q('dbaas', `SELECT secret FROM custins_secret WHERE custins_id = ${Number(rec.custins_id)} AND account_name = 'aliyun_root'`);
const suCnf = path.join(opts.dir, 'bench-su.cnf');
fs.writeFileSync(suCnf, `[client]\nuser=aliyun_root\npassword=${pw}\n`, { mode: 0o600 });
const onMaster = (sql, r = rec) => run('mariadb', [`--defaults-extra-file=${suCnf}`, '-h', r.master.ip, '-P', String(r.master.port), '--batch', '--skip-column-names', '-e', sql]).then((x) => x.stdout.trim());
await onMaster('CREATE TABLE bench.w (id INT AUTO_INCREMENT PRIMARY KEY, pad CHAR(200) NOT NULL, epoch BIGINT NOT NULL) ENGINE=InnoDB');
await onMaster("INSERT INTO bench.w (pad, epoch) VALUES (REPEAT('x', 200), UNIX_TIMESTAMP())");
for (let i = 0; i < opts.rows; i++) await onMaster("INSERT INTO bench.w (pad, epoch) SELECT REPEAT('y', 200), UNIX_TIMESTAMP() FROM bench.w");
const rowCount = Number(await onMaster('SELECT COUNT(*) FROM bench.w'));
log(`bench/backup: ${NAME} with ${rowCount} rows (${(rowCount * 220 / 1048576).toFixed(0)} MB of rows) on ${rec.master.host}/${rec.slave.host}; store ${store.host}`);

/** A shell command on a lab host through the system ssh with the lab's client key. */
function onHost(host, address, command, stdin) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn('ssh', ['-F', '/dev/null', '-i', profile.ssh.identity_file, '-o', `UserKnownHostsFile=${profile.ssh.known_hosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(profile.ssh.port), `${profile.ssh.user}@${address}`, command], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.stdin.end(stdin ?? '');
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve({ out, ms: Number(process.hrtime.bigint() - t0) / 1e6 }) : reject(new Error(`${host}: exit ${code}: ${err.trim().split('\n').pop()}`))));
  });
}

// ---- 1. backup: rdsctl vs the same stream by hand, alternating ----
const sl = hostLayout(rec.slave.port);
const handDir = `${store.dir}/hand-${NAME}`;
const handOpt = `${sl.dbsDir}/bench-hand.cnf`;
await onHost(rec.slave.host, rec.slave.ip, sh`umask 077; cat > ${handOpt}`, `!include ${sl.mycnf}\n[client]\nuser=aliyun_root\npassword=${pw}\n`);
const handBackup =
  'set -o pipefail; ' +
  sh`mariadb-backup --defaults-file=${handOpt} --backup --stream=xbstream --parallel=2 --socket=${sl.socket} --tmpdir=${sl.tmpDir} 2>/dev/null | ` +
  ncToStore(store, sh`rm -rf ${handDir} && mkdir -p ${handDir} && mbstream -x -C ${handDir}`);
const backups = { rdsctl: [], hand: [] };
for (let r = 0; r < opts.rounds; r++) {
  const h = await onHost(rec.slave.host, rec.slave.ip, `bash -c ${sh`${handBackup}`}`);
  backups.hand.push(h.ms);
  const b = await must(['instance', 'backup', NAME]);
  if (!/from the standby/.test(b.stderr)) throw new Error(`rdsctl backup was not from the standby: ${b.stderr}`);
  backups.rdsctl.push(b.ms);
  const steps = [...b.stderr.matchAll(/\] (do_\S+)\s+(?:\S+\s+)??([\d.]+m?s)\s+\(/g)].map((m) => `${m[1]} ${m[2]}`).join(', ');
  log(`  backup round ${r + 1}: rdsctl ${(b.ms / 1000).toFixed(2)} s, hand ${(h.ms / 1000).toFixed(2)} s; steps: ${steps}`);
}
await onHost(store.host, store.address, sh`rm -rf ${handDir}`);

// ---- 3 (load): a writer stamping each row with its commit second, then the archive ----
const writerSecs = 30;
log(`  writing rows for ${writerSecs} s …`);
const wStart = Date.now();
let written = 0;
while (Date.now() - wStart < writerSecs * 1000) {
  await onMaster("INSERT INTO bench.w (pad, epoch) VALUES ('w', UNIX_TIMESTAMP()); DO SLEEP(0.05)");
  written++;
}
await must(['backup', 'archive', NAME, '--rotate']);
const rows = (await onMaster('SELECT id, epoch FROM bench.w WHERE pad = "w" ORDER BY id')).split('\n').map((l) => l.split('\t').map(Number));
const baseCount = rowCount;
const firstSec = rows[0][1] + 1;
const lastSec = rows[rows.length - 1][1] - 1;

// ---- 2. clone to a point in time: rdsctl vs the floor by hand ----
const sets = JSON.parse((await must(['backup', 'list', '--instance', NAME, '-o', 'json'])).stdout).filter((s) => s.store_host && s.status === 'success');
const newest = sets[0];
const { replayInputs } = await import(path.join(ROOT, 'dist/backup/binlogs.js'));
const archived = (await q('dbaas', `SELECT file_name, IFNULL(start_gtid, ''), IFNULL(last_gtid, '') FROM binlog_archive WHERE custins_id = ${Number(rec.custins_id)} AND status = 'archived' ORDER BY file_name`))
  .split('\n')
  .filter(Boolean)
  .map((l) => l.split('\t'))
  .map(([file_name, s, e]) => ({ file_name, start_gtid: s || null, last_gtid: e || null }));
// The same rule as rdsctl's (files with nothing after the set's GTID are left out): mariadb-binlog refuses a start it never reaches.
const inputs = replayInputs(archived, newest.end_gtid);
const binlogs = inputs.map((f) => f.file_name ?? f.name);
const floorT = Math.floor((firstSec + lastSec) / 2);
const stopDt = new Date((floorT + 1) * 1000).toISOString().slice(0, 19).replace('T', ' ');
const fnc = hostLayout(3999);
const floorScript = [
  'set -eo pipefail',
  sh`d=${fnc.dbsDir}/floor; rm -rf "$d"; mkdir -p "$d/data" "$d/set" "$d/bin"; o="$d/su.cnf"; (umask 077; cat > "$o")`,
  `${ncToStore(store, sh`cd ${`${store.dir}/${NAME}/sets/${newest.set}`} && tar -cf - --exclude=./manifest.json --exclude=./.stream-done .`)} | tar -xf - -C "$d/set"`,
  'mariadb-backup --prepare --target-dir="$d/set" >/dev/null 2>&1',
  `printf '[mysqld]\\ndatadir=%s/data\\nsocket=%s/s.sock\\nport=3999\\nbind_address=${rec.master.ip}\\nserver_id=3999\\nlog_bin=%s/bin/b\\nskip_name_resolve=ON\\nlower_case_table_names=1\\n' "$d" "$d" "$d" > "$d/my.cnf"`,
  'mariadb-backup --defaults-file="$d/my.cnf" --move-back --target-dir="$d/set" >/dev/null 2>&1',
  'setsid nohup mariadbd --defaults-file="$d/my.cnf" --user=root </dev/null >/dev/null 2>&1 &',
  'for i in $(seq 1 600); do mariadb-admin --defaults-file="$o" --socket="$d/s.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done',
  ...binlogs.map((b) => `${ncToStore(store, sh`cat ${`${store.dir}/${NAME}/binlogs/${b}`}`)} > "$d/bin/${b}"`),
  `TZ=UTC mariadb-binlog ${inputs[0]?.startPos ? sh`--start-position=${inputs[0].startPos}` : ''} ${sh`--stop-datetime=${stopDt}`} ${binlogs.map((b) => `"$d/bin/${b}"`).join(' ')} | mariadb --defaults-file="$o" --socket="$d/s.sock" --binary-mode`,
  'mariadb --defaults-file="$o" --socket="$d/s.sock" -N -e "SELECT COUNT(*) FROM bench.w"',
].join('\n');
const floorCleanup = sh`d=${fnc.dbsDir}/floor; mariadb-admin --defaults-file="$d/su.cnf" --socket="$d/s.sock" shutdown 2>/dev/null || true; rm -rf "$d"`;
const floorMs = [];
const cloneMs = [];
const want = (t) => baseCount + rows.filter((r) => r[1] <= t).length;
for (let r = 0; r < opts.rounds; r++) {
  const f = await onHost(rec.master.host, rec.master.ip, `bash -c ${sh`${floorScript}`}`, `[client]\nuser=aliyun_root\npassword=${pw}\n`);
  const floorRows = Number(f.out.trim().split('\n').pop());
  await onHost(rec.master.host, rec.master.ip, `bash -c ${sh`${floorCleanup}`}`);
  if (floorRows !== want(floorT)) throw new Error(`the hand floor restored ${floorRows} rows, want ${want(floorT)}`);
  floorMs.push(f.ms);
  const name = `rm-bcl${r}${process.pid}`;
  created.push(name);
  const c = await must(['instance', 'clone', NAME, '--to-time', String(floorT), '--name', name, '-o', 'json']);
  const cr = JSON.parse(c.stdout);
  const got = Number(await onMaster('SELECT COUNT(*) FROM bench.w', cr));
  if (got !== want(floorT)) throw new Error(`rdsctl clone ${name} has ${got} rows, want ${want(floorT)}`);
  cloneMs.push(c.ms);
  const dur = (x) => (x.endsWith('ms') ? Number(x.slice(0, -2)) : Number(x.slice(0, -1)) * 1000);
  const slow = [...c.stderr.matchAll(/\] (do_\S+)\s+(?:\S+\s+)??([\d.]+m?s)\s+\(/g)].map((m) => [m[1], dur(m[2])]).sort((a, b) => b[1] - a[1]).slice(0, 8);
  log(`  clone round ${r + 1} slowest steps: ${slow.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
  await must(['instance', 'delete', name, '--yes']);
  created.splice(created.indexOf(name), 1);
  log(`  clone round ${r + 1}: rdsctl ${(c.ms / 1000).toFixed(2)} s (pair, replicating), floor by hand ${(f.ms / 1000).toFixed(2)} s (one server)`);
}

// ---- 3. exactness over random times ----
let exact = 0;
const tried = [];
for (let k = 0; k < opts.times; k++) {
  const t = firstSec + Math.floor(Math.random() * (lastSec - firstSec + 1));
  const name = `rm-bpt${k}${process.pid}`;
  created.push(name);
  const c = await must(['instance', 'clone', NAME, '--to-time', String(t), '--name', name, '-o', 'json']);
  const cr = JSON.parse(c.stdout);
  const ids = (await onMaster('SELECT id FROM bench.w WHERE pad = "w" ORDER BY id', cr)).split('\n').filter(Boolean).map(Number);
  const expect = rows.filter((r) => r[1] <= t).map((r) => r[0]);
  const ok = ids.length === expect.length && ids.every((x, i) => x === expect[i]);
  if (ok) exact++;
  tried.push({ time: t, rows: ids.length, expected: expect.length, ok });
  log(`  pitr ${k + 1}/${opts.times}: to ${new Date(t * 1000).toISOString()} ${ok ? 'exact' : `WRONG (${ids.length} rows, want ${expect.length})`} (${ids.length} of ${rows.length} written rows)`);
  await must(['instance', 'delete', name, '--yes']);
  created.splice(created.indexOf(name), 1);
}

const result = {
  at: new Date().toISOString(),
  // A snapshot of a commit (git archive, no .git) names itself in BENCH_COMMIT.
  commit: process.env.BENCH_COMMIT ?? (await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).then((r) => r.stdout.trim(), () => 'unknown')),
  rows: rowCount,
  load: { start: +loadAtStart.toFixed(1), end: +os.loadavg()[0].toFixed(1), cores: os.cpus().length },
  backup: { rdsctl_ms: median(backups.rdsctl), hand_ms: median(backups.hand), ratio: +(median(backups.rdsctl) / median(backups.hand)).toFixed(2), goal: 1.15, rounds: backups },
  clone: { rdsctl_ms: median(cloneMs), floor_ms: median(floorMs), ratio: +(median(cloneMs) / median(floorMs)).toFixed(2), goal: 1.5, rounds: { rdsctl: cloneMs, floor: floorMs } },
  pitr: { exact, of: opts.times, goal: `${opts.times}/${opts.times}`, tried },
};
fs.mkdirSync(RESULTS, { recursive: true });
fs.writeFileSync(path.join(RESULTS, 'backup.json'), JSON.stringify(result, null, 2) + '\n');
log('');
log(`load average (1 min): ${result.load.start} at the start, ${result.load.end} at the end, ${result.load.cores} cores`);
log('| case | rdsctl | by hand | ratio | goal | met |');
log('|---|---|---|---|---|---|');
log(`| backup (${rowCount} rows, from the standby) | ${(result.backup.rdsctl_ms / 1000).toFixed(2)} s | ${(result.backup.hand_ms / 1000).toFixed(2)} s | ${result.backup.ratio} | <=1.15x | ${result.backup.ratio <= 1.15 ? 'yes' : '**no**'} |`);
log(`| clone to a point in time | ${(result.clone.rdsctl_ms / 1000).toFixed(2)} s | ${(result.clone.floor_ms / 1000).toFixed(2)} s | ${result.clone.ratio} | <=1.5x | ${result.clone.ratio <= 1.5 ? 'yes' : '**no**'} |`);
log(`| point-in-time exactness | ${exact}/${opts.times} | - | - | ${opts.times}/${opts.times} | ${exact === opts.times ? 'yes' : '**no**'} |`);

for (const n of created.reverse()) await rdsctl(['instance', 'delete', n, '--yes']);
if (!opts.keepLab) await rdsctl(['lab', 'down', '--purge', '--dir', opts.dir]);
process.exit(exact === opts.times ? 0 : 1);
