import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';

// One private lab for the whole integration run (8 NCs, 16 VMs: small, so the 2-core machine
// stays quick), started with the built CLI (bin/rdsctl → dist; scripts/test builds first).
// Jest starts its workers after this returns, so they inherit the variables set here; test files
// read them through sharedLab() in test/support/lab.ts:
//   RDSCTL_TEST_LAB_ROOT  temp dir with config.json, lab/ and owner.pid
//   RDSCTL_TEST_LAB_DIR   the lab dir      RDSCTL_TEST_CONFIG  its config file (current profile "lab")
//
// Jest loads this file with Node's own ESM loader, which cannot import the TypeScript sources, so
// it only uses node: modules; the few helpers it shares with test/support/lab.ts are repeated here.

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const PREFIX = 'rdsctl-test-lab-';

function cli(args: string[], configPath: string): { code: number; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, RDSCTL_CONFIG: configPath, NO_COLOR: '1' };
  delete env.RDSCTL_PROFILE;
  try {
    execFileSync(process.execPath, [path.join(REPO, 'bin/rdsctl'), ...args], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    return { code: 0, stderr: '' };
  } catch (e) {
    const err = e as { status?: number; stderr?: string };
    return { code: err.status ?? 1, stderr: String(err.stderr ?? '') };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A 127.X (X in 150-199) with no listener: not used by another running lab. */
function freeNet(): string {
  const busy = new Set<number>();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const hex = f[1]?.split(':')[0] ?? '';
    if (f[3] === '0A' && parseInt(hex.slice(6, 8), 16) === 127) busy.add(parseInt(hex.slice(4, 6), 16));
  }
  const free = Array.from({ length: 50 }, (_, i) => 150 + i).filter((x) => !busy.has(x));
  if (!free.length) throw new Error('global-setup: no free 127.X net in 127.150-199 for the test lab');
  return `127.${free[randomInt(free.length)]}`;
}

/** Labs of earlier runs that died without teardown (owner pid gone): stop and remove them. */
function sweepStale(): number {
  let n = 0;
  for (const name of fs.readdirSync(os.tmpdir()).filter((x) => x.startsWith(PREFIX))) {
    const root = path.join(os.tmpdir(), name);
    let owner: number;
    try {
      owner = Number(fs.readFileSync(path.join(root, 'owner.pid'), 'utf8'));
    } catch {
      continue; // a run that is just creating it
    }
    if (owner > 0 && fs.existsSync(`/proc/${owner}`)) continue;
    cli(['lab', 'down', '--purge', '--dir', path.join(root, 'lab')], path.join(root, 'config.json'));
    fs.rmSync(root, { recursive: true, force: true });
    n++;
  }
  return n;
}

export default async function globalSetup(): Promise<void> {
  if (!fs.existsSync(path.join(REPO, 'dist/cli.js'))) throw new Error('global-setup: dist/ is missing; run scripts/setup (or npm run build) first');
  const swept = sweepStale();
  if (swept) process.stderr.write(`\nglobal-setup: removed ${swept} test lab(s) left by dead runs\n`);
  const t0 = Date.now();
  let last = '';
  for (let attempt = 0; attempt < 4; attempt++) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
    fs.writeFileSync(path.join(root, 'owner.pid'), String(process.pid));
    const configPath = path.join(root, 'config.json');
    const dir = path.join(root, 'lab');
    const r = cli(['lab', 'up', '--dir', dir, '--ncs', '8', '--vms', '16', '--port', String(await freePort()), '--ssh-port', String(await freePort()), '--net', freeNet()], configPath);
    if (r.code === 0) {
      process.env.RDSCTL_TEST_LAB_ROOT = root;
      process.env.RDSCTL_TEST_LAB_DIR = dir;
      process.env.RDSCTL_TEST_CONFIG = configPath;
      process.stderr.write(`\nglobal-setup: test lab ${dir} up in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
      return;
    }
    last = r.stderr.trim();
    cli(['lab', 'down', '--purge', '--dir', dir], configPath);
    fs.rmSync(root, { recursive: true, force: true });
    // Another run may have taken the same port or net at the same moment: pick new ones.
    if (!/already in use/.test(last)) break;
  }
  throw new Error(`global-setup: the test lab did not start: ${last}`);
}
