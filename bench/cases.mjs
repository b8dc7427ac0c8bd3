import crypto from 'node:crypto';
// The cases of `npm run bench`, one function each. A case measures rdsctl beside its comparison in
// the same rounds (measure.mjs sideBySide) and returns table rows:
//   { case, command, against, goal, rdsctl, baseline, ratio, met, note? }
// where rdsctl/baseline are measure.mjs summaries and goal is { max_ratio }, { max_rss_mb } or null
// (a row shown for information).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labAdminSql, labSql, rdsctlEnv } from './lib/lab.mjs';
import { median, sideBySide, summary, round } from './lib/measure.mjs';
import { RDSCTL, ROOT } from './lib/paths.mjs';

const NODE = process.execPath;
const nodeBaseline = { key: 'node', label: 'node -e 0', cmd: NODE, args: ['-e', '0'] };

function ratioRow(caseName, c, base, results, maxRatio, extra = {}) {
  const mine = summary(results[c.key]);
  const theirs = summary(results[base.key]);
  const ratio = round(mine.median_ms / theirs.median_ms, 2);
  return { case: caseName, command: c.label, against: base.label, goal: { max_ratio: maxRatio }, rdsctl: mine, baseline: theirs, ratio, met: ratio <= maxRatio, ...extra };
}

function rssRow(caseName, c, results, maxMb, extra = {}) {
  const mine = summary(results[c.key]);
  return { case: caseName, command: c.label, against: null, goal: { max_rss_mb: maxMb }, rdsctl: mine, baseline: null, ratio: null, met: mine.peak_rss_mb !== null && mine.peak_rss_mb <= maxMb, ...extra };
}

function rdsctlCmd(ctx, key, args, more = {}) {
  return { key, label: `rdsctl ${args.join(' ')}`, cmd: RDSCTL, args, opts: { env: ctx.env }, ...more };
}

export async function startup(ctx) {
  const env = ctx.env;
  const version = { key: 'version', label: 'rdsctl --version', cmd: RDSCTL, args: ['--version'], opts: { env } };
  const help = { key: 'help', label: 'rdsctl --help', cmd: RDSCTL, args: ['--help'], opts: { env } };
  const r = await sideBySide([nodeBaseline, version, help], ctx.runs, ctx.log);
  return [ratioRow('start-up', version, nodeBaseline, r, 1.5), ratioRow('start-up', help, nodeBaseline, r, 1.5)];
}

async function sampleNames(ctx) {
  const [[rds, master]] = await labSql(ctx.paths, 'dbaas', "SELECT c.ins_name, i.host_name FROM custins c JOIN instance i ON i.custins_id = c.id AND i.role = 'master' WHERE c.id = 12345");
  const [[firstRds, firstHost]] = await labSql(ctx.paths, 'dbaas', "SELECT c.ins_name, i.host_name FROM custins c JOIN instance i ON i.custins_id = c.id AND i.role = 'master' WHERE c.id = 1");
  return { vm: 'vm-054321', nc: 'nc-a3456', rds, rdsMaster: master, firstRds, firstHost };
}

export async function lookup(ctx) {
  const n = await sampleNames(ctx);
  const cmds = [
    rdsctlCmd(ctx, 'vm', ['go2which', n.vm]),
    rdsctlCmd(ctx, 'nc', ['go2which', n.nc]),
    rdsctlCmd(ctx, 'rds', ['go2which', n.rds]),
  ];
  const floor = { key: 'floor', label: 'floor: node + mysql2 + 1 connection + 1 SELECT (bench/lib/mysql-floor.mjs)', cmd: NODE, args: [path.join(ROOT, 'bench', 'lib', 'mysql-floor.mjs'), n.vm], opts: { env: ctx.env }, minBytes: 20 };
  const r = await sideBySide([nodeBaseline, floor, ...cmds], ctx.runs, ctx.log);
  return [...cmds.map((c) => ratioRow('lookup', c, nodeBaseline, r, 2.0)), { ...ratioRow('lookup', floor, nodeBaseline, r, 2.0), goal: null, met: null }];
}

export async function ncinfo(ctx) {
  const n = await sampleNames(ctx);
  const rdsNc = rdsctlCmd(ctx, 'rds_nc', ['go2ncinfo', n.firstHost]);
  const [[ecsNc]] = await labSql(ctx.paths, 'houyi', 'SELECT n.hostname FROM vm v JOIN nc n ON n.id = v.nc_id WHERE v.id = 54321');
  const ecs = rdsctlCmd(ctx, 'ecs_nc', ['go2ncinfo', ecsNc]);
  const r = await sideBySide([nodeBaseline, rdsNc, ecs], ctx.runs, ctx.log);
  return [ratioRow('NC info', rdsNc, nodeBaseline, r, 2.5), ratioRow('NC info', ecs, nodeBaseline, r, 2.5)];
}

export async function steplist(ctx) {
  const n = await sampleNames(ctx);
  const table = rdsctlCmd(ctx, 'table', ['instance', 'step', n.firstRds, 'list']);
  const json = rdsctlCmd(ctx, 'json', ['instance', 'step', n.firstRds, 'list', '-o', 'json']);
  const r = await sideBySide([nodeBaseline, table, json], ctx.runs, ctx.log);
  return [ratioRow('step list', table, nodeBaseline, r, 2.0), ratioRow('step list', json, nodeBaseline, r, 2.0)];
}

/**
 * The mariadb client gets the very statement rdsctl sends: the server's general log records it
 * with its parameters in place (mysql2 sends text queries), so the comparison cannot drift from
 * what `instance list` really asks.
 */
async function capturedListSql(ctx, args) {
  await labAdminSql(ctx.lab, "SET GLOBAL log_output = 'TABLE'; TRUNCATE TABLE mysql.general_log; SET GLOBAL general_log = 1");
  try {
    const { measure } = await import('./lib/measure.mjs');
    const r = await measure(RDSCTL, args, { env: ctx.env });
    if (r.code !== 0) throw new Error(`rdsctl ${args.join(' ')} exited ${r.code}: ${r.errTail.trim()}`);
  } finally {
    await labAdminSql(ctx.lab, 'SET GLOBAL general_log = 0');
  }
  const rows = await labAdminSql(ctx.lab, "SELECT REPLACE(REPLACE(CONVERT(argument USING utf8mb4), '\\n', ' '), '\\t', ' ') FROM mysql.general_log WHERE command_type = 'Query' AND argument LIKE '%FROM custins c%' ORDER BY event_time DESC LIMIT 1");
  await labAdminSql(ctx.lab, 'TRUNCATE TABLE mysql.general_log');
  if (!rows[0]?.[0]) throw new Error('the general log holds no custins list query from rdsctl instance list');
  return rows[0][0];
}

export async function biglist(ctx) {
  const [[total]] = await labSql(ctx.paths, 'dbaas', "SELECT COUNT(*) FROM custins WHERE status <> 'deleted'");
  const args = ['instance', 'list', '-o', 'json', '--limit', String(total)];
  const sql = await capturedListSql(ctx, args);
  const list = rdsctlCmd(ctx, 'list', args, { minBytes: Number(total) * 100, opts: { env: ctx.env, rss: true } });
  const client = {
    key: 'mariadb',
    label: `mariadb dbaas -e '<the same SELECT>' (${total} rows)`,
    cmd: 'mariadb',
    args: [`--defaults-extra-file=${path.join(ctx.paths.dir, 'client.cnf')}`, '--batch', 'dbaas', '-e', sql],
    minBytes: Number(total) * 50,
  };
  const r = await sideBySide([client, list], ctx.runs, ctx.log);
  return [ratioRow('big list', list, client, r, 3.0, { sql }), rssRow('big list memory', list, r, 200)];
}

export async function fanout(ctx) {
  const hosts = ctx.lab.layout.topology.ncs.slice(0, 1000);
  if (hosts.length < 1000) throw new Error(`the bench lab serves ${hosts.length} NCs; fan-out needs 1000`);
  const l = ctx.lab.layout;
  const port = ctx.lab.file.ssh_port;
  const user = os.userInfo().username;
  const concurrency = 64;
  const timeout = 120;
  const ips = hosts.map((h) => h.address);
  const sshOpts = ['-i', l.clientKey, '-o', `UserKnownHostsFile=${l.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-F', '/dev/null'];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-bench-fanout-'));
  const hostsFile = path.join(work, 'hosts');
  fs.writeFileSync(hostsFile, ips.map((ip) => `${ip}:${port}`).join('\n') + '\n');
  const expectLines = hosts.length;
  const go2nc = rdsctlCmd(ctx, 'rdsctl', ['go2nc', ips.join(','), '--concurrency', String(concurrency), '--', 'hostname'], { minBytes: expectLines * 8 });
  go2nc.label = `rdsctl go2nc '<${hosts.length} addresses>' --concurrency ${concurrency} -- hostname`;
  go2nc.opts = { env: ctx.env, tree: true, rss: true };
  const clush = {
    key: 'clush',
    label: `clush -f ${concurrency} -w '<${hosts.length} addresses>' hostname`,
    cmd: 'clush',
    args: ['-f', String(concurrency), '-w', ips.join(','), '-l', user, '-o', ['-p', String(port), ...sshOpts].join(' '), '-u', String(timeout), 'hostname'],
    opts: { tree: true, rss: true },
    minBytes: expectLines * 8,
  };
  const pssh = {
    key: 'pssh',
    label: `parallel-ssh -p ${concurrency} -h <${hosts.length} hosts> -i hostname`,
    cmd: 'parallel-ssh',
    args: ['-p', String(concurrency), '-h', hostsFile, '-l', user, '-x', sshOpts.join(' '), '-t', String(timeout), '-i', 'hostname'],
    opts: { tree: true, rss: true },
    minBytes: expectLines * 8,
  };
  try {
    const r = await sideBySide([go2nc, clush, pssh], ctx.runs, ctx.log);
    const faster = summary(r.clush).median_ms <= summary(r.pssh).median_ms ? clush : pssh;
    const others = { clush: summary(r.clush), pssh: summary(r.pssh) };
    return [ratioRow('fan-out', go2nc, faster, r, 0.8, { others }), rssRow('fan-out memory', go2nc, r, 150, { others })];
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * `go2nc --copy` of a 1 MB file to 1,000 hosts against `clush --copy` and pscp.pssh (Debian
 * `parallel-scp`), same window, same keys, same destination directory.
 */
export async function fancopy(ctx) {
  const hosts = ctx.lab.layout.topology.ncs.slice(0, 1000);
  if (hosts.length < 1000) throw new Error(`the bench lab serves ${hosts.length} NCs; copy needs 1000`);
  const l = ctx.lab.layout;
  const port = ctx.lab.file.ssh_port;
  const user = os.userInfo().username;
  const concurrency = 64;
  const timeout = 120;
  const ips = hosts.map((h) => h.address);
  // Port as -o Port= so the same options serve ssh and scp (scp's port flag is -P).
  const sshOpts = ['-i', l.clientKey, '-o', `Port=${port}`, '-o', `UserKnownHostsFile=${l.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-F', '/dev/null'];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-bench-copy-'));
  const file = path.join(work, 'payload.bin');
  fs.writeFileSync(file, crypto.randomBytes(1024 * 1024));
  const hostsFile = path.join(work, 'hosts');
  fs.writeFileSync(hostsFile, ips.map((ip) => `${ip}:${port}`).join('\n') + '\n');
  const dest = (who) => {
    const d = path.join(work, `dest-${who}`);
    fs.mkdirSync(d, { recursive: true });
    return d;
  };
  const go2nc = rdsctlCmd(ctx, 'rdsctl', ['go2nc', ips.join(','), '--concurrency', String(concurrency), '--copy', file, '--dest', dest('rdsctl')]);
  go2nc.label = `rdsctl go2nc '<${hosts.length} addresses>' --concurrency ${concurrency} --copy <1 MB> --dest DIR`;
  go2nc.opts = { env: ctx.env, tree: true, rss: true };
  const clush = {
    key: 'clush',
    label: `clush -f ${concurrency} -w '<${hosts.length} addresses>' --copy <1 MB> --dest DIR`,
    cmd: 'clush',
    args: ['-f', String(concurrency), '-w', ips.join(','), '-l', user, '-o', sshOpts.join(' '), '-u', String(timeout), '--copy', file, '--dest', dest('clush')],
    opts: { tree: true, rss: true },
  };
  const pscp = {
    key: 'pscp',
    label: `parallel-scp -p ${concurrency} -h <${hosts.length} hosts> <1 MB> DIR`,
    cmd: 'parallel-scp',
    args: ['-p', String(concurrency), '-h', hostsFile, '-l', user, '-x', sshOpts.join(' '), '-t', String(timeout), file, dest('pscp')],
    opts: { tree: true, rss: true },
  };
  try {
    const r = await sideBySide([go2nc, clush, pscp], ctx.runs, ctx.log);
    const faster = summary(r.clush).median_ms <= summary(r.pscp).median_ms ? clush : pscp;
    const others = { clush: summary(r.clush), pscp: summary(r.pscp) };
    return [ratioRow('copy 1 MB', go2nc, faster, r, 0.8, { others }), rssRow('copy memory', go2nc, r, 150, { others })];
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * bench/create.mjs (the RDS flow's own benchmark) on the create lab: it alternates `instance create`
 * and create-floor.sh on the pair and port allocation would take, deleting between runs, and
 * times rdsctl to the moment the pair replicates (step 32, do_check_slave_slave) and to the end.
 */
export async function create(ctx) {
  const r = await new Promise((resolve, reject) => {
    const child = spawn(NODE, [path.join(ROOT, 'bench', 'create.mjs'), '--config', ctx.paths.config, '--runs', String(ctx.runs), '--json'], { env: ctx.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`bench/create.mjs exited ${code}: ${err.trim().split('\n').slice(-2).join(' | ')}`))));
  });
  for (const row of r.rows) ctx.log(`  run ${row.run}: floor ${row.floor_ms} ms, rdsctl to replicating ${row.rdsctl_repl_ms} ms, whole create ${row.rdsctl_total_ms} ms`);
  const runsOf = (key) => ({ median_ms: median(r.rows.map((x) => x[key])), min_ms: Math.min(...r.rows.map((x) => x[key])), max_ms: Math.max(...r.rows.map((x) => x[key])), peak_rss_mb: null, peak_tree_rss_mb: null, runs_ms: r.rows.map((x) => x[key]) });
  const floor = runsOf('floor_ms');
  const repl = runsOf('rdsctl_repl_ms');
  const total = runsOf('rdsctl_total_ms');
  const against = 'bench/create-floor.sh up (same NCs and port)';
  return [
    { case: 'create', command: 'rdsctl instance create, until the pair replicates (step 32/80)', against, goal: { max_ratio: 2.0 }, rdsctl: repl, baseline: floor, ratio: round(repl.median_ms / floor.median_ms, 2), met: repl.median_ms / floor.median_ms <= 2.0 },
    { case: 'create', command: 'rdsctl instance create, all 80 steps', against, goal: null, rdsctl: total, baseline: floor, ratio: round(total.median_ms / floor.median_ms, 2), met: null },
  ];
}

export const CASES = { startup, lookup, ncinfo, biglist, steplist, fanout, fancopy, create };
/** The lab each case runs on (bench/lib/lab.mjs LAB_KINDS); startup needs none. */
export const LAB_OF = { lookup: 'fleet', ncinfo: 'fleet', biglist: 'fleet', steplist: 'fleet', fanout: 'fleet', fancopy: 'fleet', create: 'create' };

export function caseContext(paths, lab, runs, log) {
  return { paths, lab, runs, log, env: rdsctlEnv(paths) };
}
