#!/usr/bin/env node
// Start-up of two builds of rdsctl side by side in the same rounds (#18's "not slower" check):
// `--version`, `go2which VM` and `instance step INSTANCE list`, each run alternately by the
// build in --before and by this checkout, against the active profile (a lab).
//
//   node bench/startup-compare.mjs --before DIR [--after DIR] --vm NAME [--instance NAME] [--runs N]
//
// --after defaults to this checkout. A DIR is a checkout with dist/ built (e.g. `git worktree add /tmp/before <commit>`, a
// symlink to this node_modules, `npx tsc`). Medians, and after/before as a ratio. On demand only.

import path from 'node:path';
import { median, round, sideBySide } from './lib/measure.mjs';
import { RDSCTL } from './lib/paths.mjs';

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) {
    if (dflt === undefined) {
      process.stderr.write(`usage: node bench/startup-compare.mjs --before DIR --vm NAME [--instance NAME] [--runs N]\n`);
      process.exit(2);
    }
    return dflt;
  }
  return process.argv[i + 1];
}

const before = path.join(path.resolve(arg('before')), 'bin', 'rdsctl');
const after = process.argv.includes('--after') ? path.join(path.resolve(arg('after')), 'bin', 'rdsctl') : RDSCTL;
const runs = Number(arg('runs', '15'));
// --instance may be left out: a build from before a task_queue schema change cannot list the
// steps of an instance made by a newer one (and the reverse), so that case then needs a lab per build.
const instance = process.argv.includes('--instance') ? arg('instance') : undefined;
const cases = [
  ['--version', ['--version']],
  ['go2which', ['go2which', arg('vm')]],
  ...(instance ? [['instance step list', ['instance', 'step', instance, 'list']]] : []),
];
if (!instance) process.stderr.write('startup-compare: no --instance, so no `instance step list` case\n');
const node = { key: 'node', label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] };
const commands = [node];
for (const [name, args] of cases) {
  commands.push({ key: `before ${name}`, label: `before: rdsctl ${args.join(' ')}`, cmd: before, args });
  commands.push({ key: `after ${name}`, label: `after: rdsctl ${args.join(' ')}`, cmd: after, args });
}
const r = await sideBySide(commands, runs, (l) => process.stderr.write(l + '\n'));
const med = (k) => round(median(r[k].map((x) => x.wallMs)));
process.stdout.write(`${runs} rounds, node -e 0: ${med('node')} ms\n`);
process.stdout.write(`${'case'.padEnd(20)} ${'before ms'.padStart(10)} ${'after ms'.padStart(10)} ${'after/before'.padStart(13)}\n`);
for (const [name] of cases) {
  const b = med(`before ${name}`);
  const a = med(`after ${name}`);
  process.stdout.write(`${name.padEnd(20)} ${String(b).padStart(10)} ${String(a).padStart(10)} ${String(round(a / b, 3)).padStart(13)}\n`);
}
