#!/usr/bin/env node
// `rdsctl instance step INSTANCE list` time: what an SRE waits for when looking at a task's 80
// steps. Measures the whole command (node start, lazy command load, profile, one metadb query,
// printing) for table and -o json output, next to `rdsctl --version` (the process start floor).
//
//   node bench/step-list.mjs [--config FILE] [--profile NAME] [--instance NAME] [--runs 30] [--json]
// Without --instance it creates one (`instance create`) and deletes it afterwards. Needs a lab.

import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RDSCTL = path.join(ROOT, 'bin', 'rdsctl');

function die(msg) {
  process.stderr.write(`bench/step-list: ${msg}\n`);
  process.exit(2);
}

const o = { runs: 30, config: undefined, profile: undefined, instance: undefined, json: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const v = () => (i + 1 < argv.length ? argv[++i] : die(`${a} needs a value`));
  if (a === '--runs') o.runs = Number(v());
  else if (a === '--config') o.config = v();
  else if (a === '--profile') o.profile = v();
  else if (a === '--instance') o.instance = v();
  else if (a === '--json') o.json = true;
  else if (a === '-h' || a === '--help') {
    process.stdout.write('usage: node bench/step-list.mjs [--config FILE] [--profile NAME] [--instance NAME] [--runs N] [--json]\n');
    process.exit(0);
  } else die(`unknown argument ${a}`);
}
if (!Number.isInteger(o.runs) || o.runs < 3) die('--runs must be a whole number of at least 3');
const g = [...(o.config ? ['--config', o.config] : []), ...(o.profile ? ['--profile', o.profile] : [])];

let name = o.instance;
const ours = !name;
if (ours) {
  name = `rm-benchls${process.pid}`;
  execFileSync(RDSCTL, [...g, 'instance', 'create', '--name', name, '--reason', 'bench/step-list.mjs'], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function measure(args) {
  const times = [];
  for (let i = 0; i < o.runs + 1; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(RDSCTL, [...g, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) die(`rdsctl ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
    if (i > 0) times.push(ms); // the first run warms the page cache
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { median_ms: +q(0.5).toFixed(1), p90_ms: +q(0.9).toFixed(1), min_ms: +times[0].toFixed(1), max_ms: +times[times.length - 1].toFixed(1) };
}

try {
  const result = {
    instance: name,
    runs: o.runs,
    version: measure(['--version']),
    step_list: measure(['instance', 'step', name, 'list']),
    step_list_json: measure(['instance', 'step', name, 'list', '-o', 'json']),
  };
  if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    process.stdout.write(`instance step ${name} list: ${o.runs} runs each (median / p90 / min / max, ms)\n`);
    for (const [k, v] of Object.entries(result).filter(([k]) => !['instance', 'runs'].includes(k))) {
      process.stdout.write(`  ${k.padEnd(16)} ${v.median_ms} / ${v.p90_ms} / ${v.min_ms} / ${v.max_ms}\n`);
    }
  }
} finally {
  if (ours) execFileSync(RDSCTL, [...g, 'instance', 'delete', name, '--yes', '--reason', 'bench/step-list.mjs'], { stdio: 'ignore' });
}
