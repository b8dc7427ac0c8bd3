#!/usr/bin/env node
// Create benchmark: `rdsctl instance create` against bench/create-floor.sh, a bare shell script that
// does only the minimum for the same pair of NCs and the same port (mariadb-install-db, start,
// CHANGE MASTER both ways over plain ssh). Runs alternate (rdsctl first, then the floor first) so
// both see the same machine. Reported per run:
//   floor            wall time of `create-floor.sh up` until both servers replicate
//   rdsctl→repl      from starting `rdsctl instance create` to its "[33/81] do_check_slave_slave"
//                    progress line: the pair replicates (both IO and SQL threads, both directions)
//   rdsctl total     the whole command: all 81 steps, metadb, accounts, time zones, backup, files
// The goal the issue sets is rdsctl→repl ≤ 2.0 × floor. Instances are deleted between runs.
//
//   node bench/create.mjs [--config FILE] [--profile NAME] [--runs 5] [--zone Z] [--json]
// Needs a lab (`rdsctl lab up`) with two RDS NCs in a zone. Run on demand; not part of the tests.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RDSCTL = path.join(ROOT, 'bin', 'rdsctl');
const FLOOR = path.join(ROOT, 'bench', 'create-floor.sh');

function die(msg) {
  process.stderr.write(`bench/create: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { runs: 5, config: undefined, profile: undefined, zone: undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => (i + 1 < argv.length ? argv[++i] : die(`${a} needs a value`));
    if (a === '--runs') o.runs = Number(v());
    else if (a === '--config') o.config = v();
    else if (a === '--profile') o.profile = v();
    else if (a === '--zone') o.zone = v();
    else if (a === '--json') o.json = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node bench/create.mjs [--config FILE] [--profile NAME] [--runs N] [--zone Z] [--json]\n');
      process.exit(0);
    } else die(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) die('--runs must be a positive whole number');
  return o;
}

const o = parseArgs(process.argv.slice(2));
const globalArgs = [...(o.config ? ['--config', o.config] : []), ...(o.profile ? ['--profile', o.profile] : [])];

function rdsctl(args) {
  return execFileSync(RDSCTL, [...globalArgs, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function profile() {
  const file = o.config ?? process.env.RDSCTL_CONFIG ?? path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'rdsctl', 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  const name = o.profile ?? process.env.RDSCTL_PROFILE ?? cfg.current;
  const p = cfg.profiles.find((x) => x.name === name);
  if (!p) die(`profile ${name} not in ${file}`);
  return p;
}

const prof = profile();
const ssh = prof.ssh;
if (!ssh.identity_file || !ssh.known_hosts) die('the profile needs ssh.identity_file and ssh.known_hosts (a lab profile has them)');

/** The pair and port `instance create` would take now: its own allocation, rolled back (--dry-run). */
function nextPair() {
  const plan = JSON.parse(rdsctl(['instance', 'create', '--dry-run', '-o', 'json', ...(o.zone ? ['--zone', o.zone] : [])]));
  const m = /master (\S+) \(([\d.]+)\), standby (\S+) \(([\d.]+)\), port (\d+)/.exec(plan.targets[0]);
  if (!m) die(`cannot read the allocation from: ${plan.targets[0]}`);
  return { a: { host: m[1], ip: m[2] }, b: { host: m[3], ip: m[4] }, port: Number(m[5]) };
}

function floorArgs(action, pair) {
  // Lab NCs have production paths (each is its own namespaces): the floor's servers live under /mysqldata like an instance's.
  const base = '/mysqldata';
  return [action, String(ssh.port), ssh.identity_file, ssh.known_hosts, String(pair.port), pair.a.host, pair.a.ip, base, pair.b.host, pair.b.ip, base];
}

function timed(cmd, args, onLine) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let partial = '';
    p.stdout.resume();
    p.stderr.on('data', (d) => {
      err += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const l of lines) onLine?.(l, ms());
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(ms()) : reject(new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

async function runFloor(pair) {
  const ms = await timed(FLOOR, floorArgs('up', pair));
  await timed(FLOOR, floorArgs('down', pair));
  return ms;
}

async function runRdsctl(name) {
  let repl = null;
  const total = await timed(RDSCTL, [...globalArgs, 'instance', 'create', '--name', name, '--reason', 'bench/create.mjs'], (line, ms) => {
    if (repl === null && /^\[32\/80\] do_check_slave_slave /.test(line)) repl = ms;
  });
  rdsctl(['instance', 'delete', name, '--yes', '--reason', 'bench/create.mjs']);
  if (repl === null) die(`${name}: no "[33/81] do_check_slave_slave" line on stderr`);
  return { repl, total };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
for (let i = 0; i < o.runs; i++) {
  const pair = nextPair();
  const name = `rm-bench${process.pid}x${i}`;
  let floor;
  let r;
  if (i % 2 === 0) {
    r = await runRdsctl(name);
    floor = await runFloor(pair);
  } else {
    floor = await runFloor(pair);
    r = await runRdsctl(name);
  }
  const row = { run: i + 1, pair: `${pair.a.host}+${pair.b.host}:${pair.port}`, floor_ms: Math.round(floor), rdsctl_repl_ms: Math.round(r.repl), rdsctl_total_ms: Math.round(r.total), repl_ratio: +(r.repl / floor).toFixed(2), total_ratio: +(r.total / floor).toFixed(2), load1: +os.loadavg()[0].toFixed(2) };
  rows.push(row);
  if (!o.json) process.stderr.write(`run ${row.run}: floor ${row.floor_ms} ms, rdsctl→repl ${row.rdsctl_repl_ms} ms (${row.repl_ratio}×), rdsctl total ${row.rdsctl_total_ms} ms (${row.total_ratio}×), load ${row.load1}\n`);
}

const summary = {
  runs: rows.length,
  floor_ms_median: Math.round(median(rows.map((r) => r.floor_ms))),
  rdsctl_repl_ms_median: Math.round(median(rows.map((r) => r.rdsctl_repl_ms))),
  rdsctl_total_ms_median: Math.round(median(rows.map((r) => r.rdsctl_total_ms))),
  repl_ratio_median: median(rows.map((r) => r.repl_ratio)),
  total_ratio_median: median(rows.map((r) => r.total_ratio)),
  goal: 'rdsctl→repl ≤ 2.0 × floor',
};
if (o.json) process.stdout.write(JSON.stringify({ rows, summary }, null, 2) + '\n');
else {
  process.stdout.write(`\ncreate: ${summary.runs} runs (medians)\n`);
  process.stdout.write(`  floor (create-floor.sh)       ${summary.floor_ms_median} ms\n`);
  process.stdout.write(`  rdsctl to replicating pair    ${summary.rdsctl_repl_ms_median} ms   ${summary.repl_ratio_median}× floor (goal ≤ 2.0×)\n`);
  process.stdout.write(`  rdsctl whole create (81 steps) ${summary.rdsctl_total_ms_median} ms   ${summary.total_ratio_median}× floor\n`);
}
