#!/usr/bin/env node
// `npm run bench`: rdsctl at fleet scale, each case side by side with its comparison in the same
// rounds, medians and ratios printed as a table and written to bench/results/latest.json.
//
//   npm run bench [-- --only startup,lookup] [--runs N] [--keep-lab] [--dir DIR]
//
// Cases: startup lookup ncinfo steplist biglist create fanout fancopy. Every case but startup and create
// runs on the fleet lab (src/lab/fleet.ts), create on a small lab of its own; the bench brings them
// up in their own directories, ports and loopback nets (bench/lib/lab.mjs) and tears them down at
// the end; --keep-lab leaves them up for the next run, which reuses them.
// Run it when the machine is quiet: the report records the load average before and after each case.
// On demand only; never part of the test pass/fail.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CASES, LAB_OF, caseContext } from './cases.mjs';
import { benchLabDown, benchLabUp, benchPaths } from './lib/lab.mjs';
import { haveGnuTime, load } from './lib/measure.mjs';
import { RESULTS, ROOT } from './lib/paths.mjs';

const ORDER = ['startup', 'lookup', 'ncinfo', 'steplist', 'biglist', 'create', 'fanout', 'fancopy'];
// Rounds per case unless --runs says: the sub-second cases are cheap and noisy (another process
// on a 2-core machine moves one run by 50-100 %), so they get more; fan-out (a minute a round for
// clush) and create the minimum. Fan-out goes last: its thousand ssh sessions lift the load average
// for minutes.
const DEFAULT_RUNS = { startup: 15, lookup: 15, ncinfo: 15, steplist: 15, biglist: 9, create: 5, fanout: 5, fancopy: 3 };

function usage(code) {
  (code ? process.stderr : process.stdout).write(
    'usage: npm run bench -- [--only CASE,…] [--runs N] [--keep-lab] [--dir DIR]\n' +
      `  cases: ${ORDER.join(', ')} (default: all)\n` +
      `  --runs N     measured rounds per case after one warm-up (default: ${Object.entries(DEFAULT_RUNS).map(([k, v]) => `${k} ${v}`).join(', ')})\n` +
      '  --keep-lab   leave the bench labs up; the next run reuses them\n' +
      `  --dir DIR    where the bench keeps its lab and config (default ${path.join(os.tmpdir(), 'rdsctl-bench')})\n`,
  );
  process.exit(code);
}

function parseArgs(argv) {
  const o = { only: ORDER, runs: undefined, keepLab: false, dir: path.join(os.tmpdir(), 'rdsctl-bench') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--only') o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--runs') o.runs = Number(value());
    else if (a === '--keep-lab') o.keepLab = true;
    else if (a === '--dir') o.dir = path.resolve(value());
    else if (a === '-h' || a === '--help') usage(0);
    else die(`unknown argument ${a}`);
  }
  for (const c of o.only) if (!ORDER.includes(c)) die(`unknown case ${c} (cases: ${ORDER.join(', ')})`);
  if (o.runs !== undefined && (!Number.isInteger(o.runs) || o.runs < 1)) die('--runs must be a positive whole number');
  o.only = ORDER.filter((c) => o.only.includes(c));
  return o;
}

function die(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

const log = (line) => process.stderr.write(`${line}\n`);

function fmtMs(s) {
  return s ? `${s.median_ms.toFixed(0)} ms` : '-';
}

function goalText(g) {
  if (!g) return '-';
  return g.max_ratio !== undefined ? `<= ${g.max_ratio}x` : `<= ${g.max_rss_mb} MB`;
}

function resultText(r) {
  if (r.error) return 'FAILED';
  return r.goal?.max_rss_mb !== undefined ? `${r.rdsctl.peak_rss_mb} MB` : `${r.ratio.toFixed(2)}x`;
}

function metText(r) {
  if (r.error) return 'error';
  return r.met === null || r.met === undefined ? '-' : r.met ? 'yes' : 'NO';
}

function printTable(rows) {
  const header = ['case', 'rdsctl command', 'against', 'rdsctl', 'against', 'result', 'goal', 'met'];
  const body = rows.map((r) => [r.case, r.command, r.against ?? '-', fmtMs(r.rdsctl), fmtMs(r.baseline), resultText(r), goalText(r.goal), metText(r)]);
  const w = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  process.stdout.write([line(header), ...body.map(line)].join('\n') + '\n');
}

function gitCommit() {
  try {
    return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!haveGnuTime()) die('GNU time (/usr/bin/time) is needed for peak RSS: run scripts/setup (Debian package "time")');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) die('dist/ is missing: npm run build');
  if (o.runs !== undefined && o.runs < 5) log(`bench: --runs ${o.runs}: fewer than 5 rounds; fine for a look, not for the report`);
  const started = new Date();
  const report = {
    started_at: started.toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    commit: gitCommit(),
    node: process.version,
    cpus: os.cpus().length,
    runs: o.runs ?? DEFAULT_RUNS,
    labs: {},
    rows: [],
  };
  const labs = new Map();
  const labFor = async (kind) => {
    if (!labs.has(kind)) {
      const p = benchPaths(o.dir, kind);
      log(`bench: bringing up the ${kind} lab in ${p.dir}`);
      const up = await benchLabUp(p, log);
      labs.set(kind, { paths: p, lab: up.lab });
      report.labs[kind] = { dir: p.dir, net: up.lab.file.net, ncs_served: up.lab.file.ncs, seed_seconds: up.seedSeconds, up_seconds: Math.round(up.upSeconds * 10) / 10 };
      if (up.seedSeconds !== null) log(`bench: fleet fixture seeded in ${up.seedSeconds}s (goal: under 120 s)`);
    }
    return labs.get(kind);
  };
  try {
    for (const name of o.only) {
      let rows;
      const before = load();
      const t0 = Date.now();
      try {
        const l = LAB_OF[name] ? await labFor(LAB_OF[name]) : null;
        log(`bench: ${name} (load average ${load().toFixed(2)} on ${os.cpus().length} CPUs)`);
        rows = await CASES[name](caseContext(l?.paths ?? benchPaths(o.dir, 'fleet'), l?.lab, o.runs ?? DEFAULT_RUNS[name], log));
      } catch (e) {
        log(`bench: ${name} failed: ${e.message}`);
        rows = [{ case: name, command: name, error: e.message }];
      }
      const after = load();
      for (const r of rows) report.rows.push({ ...r, rounds: o.runs ?? DEFAULT_RUNS[name], load_before: before, load_after: after, seconds: Math.round((Date.now() - t0) / 100) / 10 });
    }
  } finally {
    for (const { paths } of labs.values()) {
      if (o.keepLab) log(`bench: ${paths.kind} lab kept in ${paths.dir} (RDSCTL_CONFIG=${paths.config}); the next run reuses it`);
      else await benchLabDown(paths, log).catch((e) => log(`bench: lab down in ${paths.dir} failed: ${e.message}`));
    }
  }
  report.finished_at = new Date().toISOString();
  const rounds = o.runs ?? o.only.map((c) => `${c} ${DEFAULT_RUNS[c]}`).join(', ');
  process.stdout.write(`\nrdsctl benchmark ${report.started_at} (${report.cpus} CPUs, node ${report.node}; medians of ${rounds} rounds after a warm-up)\n`);
  printTable(report.rows);
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, 'latest.json');
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  log(`bench: wrote ${path.relative(process.cwd(), file)}`);
  process.exitCode = report.rows.some((r) => r.error) ? 1 : 0;
}

main().catch((e) => {
  log(`bench: ${e.stack ?? e.message}`);
  process.exit(1);
});
