// The benchmark's own labs: each in its own directory, with its own config file, MariaDB port, SSH
// port and loopback net, so a benchmark never touches the user's lab or a test lab. `lab up
// --scale fleet` makes the fleet one (src/lab/fleet.ts); the bench tears them down afterwards
// unless told to keep them for the next run.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RDSCTL, ROOT } from './paths.mjs';

const run = promisify(execFile);

/** Nets the bench may use: 127.X with X here. The fleet lab takes X, X+1, X+2 from the bottom. */
const BENCH_NETS = { min: 200, max: 249 };

/**
 * The bench's labs. fleet: the fleet-scale region for every case but create. create: six served
 * NCs for `instance create` — on the fleet lab, allocation would pick NCs that exist only as metadb
 * rows (the install flow's speed does not depend on the region's size).
 */
export const LAB_KINDS = {
  fleet: { profile: 'bench', args: ['--scale', 'fleet'], nets: 3, fromTop: false, matches: (f) => f.scale === 'fleet' },
  create: { profile: 'bench-create', args: ['--ncs', '6', '--vms', '0'], nets: 1, fromTop: true, matches: (f) => (f.scale ?? 'lab') === 'lab' && f.ncs === 6 && f.vms === 0 },
};

export function benchPaths(base, kind) {
  return { base, kind, dir: path.join(base, kind), config: path.join(base, `${kind}-config.json`) };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Second octets of 127.X with a listener now. */
function busyNets() {
  const busy = new Set();
  for (const file of ['/proc/net/tcp']) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue;
      const hex = f[1].split(':')[0];
      if (parseInt(hex.slice(6, 8), 16) === 127) busy.add(parseInt(hex.slice(4, 6), 16));
    }
  }
  return busy;
}

function pickNet(kind) {
  const { nets, fromTop } = LAB_KINDS[kind];
  const busy = busyNets();
  const xs = Array.from({ length: BENCH_NETS.max - BENCH_NETS.min + 1 }, (_, i) => BENCH_NETS.min + i);
  for (const x of fromTop ? xs.reverse() : xs) {
    if (x + nets - 1 <= BENCH_NETS.max && !Array.from({ length: nets }, (_, k) => x + k).some((n) => busy.has(n))) return `127.${x}`;
  }
  throw new Error(`no free loopback net 127.${BENCH_NETS.min}-${BENCH_NETS.max} for the bench's ${kind} lab`);
}

export function rdsctlEnv(p) {
  const env = { ...process.env, RDSCTL_CONFIG: p.config, NO_COLOR: '1' };
  delete env.RDSCTL_PROFILE;
  return env;
}

async function dist(mod) {
  return import(path.join(ROOT, 'dist', mod));
}

/** The lab in p.dir as its layout says (topology, keys, ports), or undefined. */
export async function readBenchLab(p) {
  const { readLabFile, paramsOf } = await dist('lab/params.js');
  const f = readLabFile(p.dir);
  if (!f) return undefined;
  const { labLayout } = await dist('lab/lab.js');
  const { mariadbPaths, schemaHash } = await dist('lab/mariadb.js');
  const maria = mariadbPaths(p.dir);
  let fresh = false;
  try {
    fresh = JSON.parse(fs.readFileSync(maria.seededMarker, 'utf8')).schema_hash === schemaHash();
  } catch {
    fresh = false;
  }
  return { file: f, layout: labLayout({ ...paramsOf(f), dir: p.dir }), maria, fresh };
}

function rdsctl(p, args, log) {
  return new Promise((resolve, reject) => {
    const child = spawn(RDSCTL, args, { env: rdsctlEnv(p), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => {
      err += b;
      for (const line of b.toString().split('\n').filter(Boolean)) log?.(`  ${line}`);
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve({ out, err }) : reject(new Error(`rdsctl ${args.join(' ')} exited ${code}: ${err.trim().split('\n').pop()}`))));
  });
}

/**
 * Bring a bench lab up: reuse one kept from an earlier run when it is of the right kind and on the
 * current schema, otherwise make a new one. Returns the lab and how long the fleet took to seed.
 */
export async function benchLabUp(p, log) {
  const kind = LAB_KINDS[p.kind];
  let lab = await readBenchLab(p);
  if (lab && (!kind.matches(lab.file) || !lab.fresh)) {
    log(`bench: the lab in ${p.dir} is ${lab.fresh ? 'of another kind' : 'seeded from an older schema'}: making a new one`);
    await benchLabDown(p, log);
    lab = undefined;
  }
  let seedSeconds = null;
  const t0 = Date.now();
  if (lab) {
    log(`bench: reusing the ${p.kind} lab in ${p.dir}`);
    await rdsctl(p, ['lab', 'up', '--dir', p.dir]);
  } else {
    fs.mkdirSync(p.base, { recursive: true, mode: 0o700 });
    const args = ['lab', 'up', ...kind.args, '--dir', p.dir, '--name', kind.profile, '--net', pickNet(p.kind), '--port', String(await freePort()), '--ssh-port', String(await freePort())];
    log(`bench: rdsctl ${args.join(' ')}`);
    const { err } = await rdsctl(p, args, log);
    const m = /fleet seeded in ([\d.]+)s/.exec(err);
    if (m) seedSeconds = Number(m[1]);
    lab = await readBenchLab(p);
  }
  return { lab, seedSeconds, upSeconds: (Date.now() - t0) / 1000 };
}

export async function benchLabDown(p, log) {
  if (!fs.existsSync(path.join(p.dir, 'lab.json'))) return;
  log?.(`rdsctl lab down --purge --dir ${p.dir}`);
  await rdsctl(p, ['lab', 'down', '--purge', '--dir', p.dir]);
}

/** SQL through the mariadb client as the lab's rdsctl user (client.cnf), rows as arrays of strings. */
export async function labSql(p, db, sql) {
  const { stdout } = await run('mariadb', [`--defaults-extra-file=${path.join(p.dir, 'client.cnf')}`, '--batch', '--skip-column-names', db, '-e', sql], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
}

/** SQL as the OS user who installed the lab's server (its admin, over the socket). */
export async function labAdminSql(lab, sql) {
  const { stdout } = await run('mariadb', ['--no-defaults', '--protocol=socket', `--socket=${lab.maria.socket}`, `--user=${os.userInfo().username}`, '--batch', '--skip-column-names', '-e', sql], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
}
