#!/usr/bin/env node
// Cold `lab up` of the default region (12 NCs, 40 VMs, no existing lab dir), timed from spawn to
// exit, then `lab down --purge`. Each --build LABEL=DIR (a checkout with dist/ built, e.g. from
// `git archive <commit>` plus a node_modules link and `npx tsc`) runs alternately with this
// checkout ("this"), in the same rounds. Prints each run with the 1-minute load average at its
// start, then min and median per build and each build's median over the first's. On demand only
// (#17: goal <= 2x the pre-isolation cold start).
//
//   node bench/lab-up.mjs [--runs N] [--build LABEL=DIR]... [--port P] [--net 127.X] [--ssh-port P]
//
// The lab goes into a fresh temp dir each run under its own profile name; run it as root with a
// HOME of your own (the profile is written to $HOME/.config/rdsctl).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RDSCTL } from './lib/paths.mjs';

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
}

const runs = Number(arg('runs', '5'));
const port = arg('port', '13410');
const net = arg('net', '127.61');
const sshPort = arg('ssh-port', String(Number(port) + 1));
const builds = [];
process.argv.forEach((a, i) => {
  if (a !== '--build') return;
  const [label, dir] = process.argv[i + 1].split('=');
  builds.push([label, path.join(path.resolve(dir), 'bin', 'rdsctl')]);
});
builds.push(['this', RDSCTL]);
const width = Math.max(...builds.map(([k]) => k.length));

const times = Object.fromEntries(builds.map(([k]) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const [key, bin] of builds) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-labup-'));
    fs.rmdirSync(dir);
    const load = os.loadavg()[0].toFixed(1);
    const t0 = process.hrtime.bigint();
    const up = spawnSync(bin, ['lab', 'up', '--dir', dir, '--port', port, '--net', net, '--ssh-port', sshPort, '--name', 'labup-bench'], { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const down = spawnSync(bin, ['lab', 'down', '--purge', '--dir', dir], { encoding: 'utf8' });
    if (up.status !== 0) {
      process.stderr.write(`${key}: lab up failed (exit ${up.status}): ${up.stderr.trim().split('\n').pop()}\n`);
      process.exit(1);
    }
    if (down.status !== 0) process.stderr.write(`${key}: lab down failed (exit ${down.status}): ${down.stderr.trim()}\n`);
    times[key].push(ms);
    process.stdout.write(`run ${i + 1} ${key.padEnd(width)} ${(ms / 1000).toFixed(2)} s   (load ${load})\n`);
  }
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const [key] of builds) process.stdout.write(`${key.padEnd(width)} min ${(Math.min(...times[key]) / 1000).toFixed(2)} s  median ${(median(times[key]) / 1000).toFixed(2)} s  (${runs} cold runs)\n`);
for (const [key] of builds.slice(1)) process.stdout.write(`${key}/${builds[0][0]} median ${(median(times[key]) / median(times[builds[0][0]])).toFixed(2)}x\n`);
