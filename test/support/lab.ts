import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { createContext, type Context } from '../../src/core/context.js';
import { createIO } from '../../src/core/io.js';
import { labHost, labLayout, type LabLayout } from '../../src/lab/lab.js';
import { paramsOf, readLabFile, type LabFile } from '../../src/lab/params.js';
import { freezeHost, hostExec, startSshd, stopSshd, thawHost, type HostExecResult } from '../../src/lab/power.js';
import { labProcesses } from '../../src/lab/procs.js';
import { hostRootOf } from '../../src/lab/hosts.js';
import type { HostLayout } from '../../src/rds/layout.js';
import { layoutUnder } from './layout.js';
import { runCli, type CliResult, type RunOptions } from './run.js';

// Private labs for tests: each in its own temp dir with its own config file, a random free
// MariaDB port and SSH port, and a random loopback net 127.<150-199> that no running lab uses,
// so a test lab never touches the user's lab, and two test runs on one machine do not collide.
//
// The integration run shares ONE lab, started by test/integration/global-setup.ts (which repeats
// freePort/freeNet and the owner.pid convention: Jest loads it without the TypeScript transform
// of test files), and which exports:
//   RDSCTL_TEST_LAB_ROOT  the temp dir holding config.json and lab/
//   RDSCTL_TEST_LAB_DIR   the lab dir (lab.json, client.cnf, ssh/, hosts/<host>/ = each host's disk …)
//   RDSCTL_TEST_CONFIG    the config file whose current profile is the lab's ("lab")
// Test files get it with sharedLab(); run CLI commands against it with lab.run([...]).

export const TEST_LAB_PREFIX = 'rdsctl-test-lab-';
export const TEST_NETS = { min: 150, max: 199 } as const;

export interface TestLab {
  /** Temp dir holding config.json, lab/ and owner.pid. */
  root: string;
  dir: string;
  configPath: string;
  /** The lab's parameters as lab.json has them. */
  file: LabFile;
  layout: LabLayout;
  /** process.env with RDSCTL_CONFIG pointing at the lab's config (and no RDSCTL_PROFILE). */
  env: NodeJS.ProcessEnv;
  clientCnf: string;
  clientKey: string;
  knownHosts: string;
  /** The real CLI in-process against this lab. */
  run(args: string[], o?: RunOptions): Promise<CliResult>;
  /** A Context on this lab with captured streams (read them from the returned `out`/`err`). */
  context(): { ctx: Context; out: () => string; err: () => string };
  /** Arguments for the system OpenSSH client to reach an address of this lab (strict host keys). */
  sshArgs(address: string): string[];
  /**
   * Stop / start one host's sshd: the host becomes unreachable over SSH while everything else in
   * it (sessions, mysqld) keeps running. An NC or SLB node; VMs go through virsh on their NC.
   */
  stopHost(name: string): void;
  startHost(name: string): void;
  /** "NC loss": SIGSTOP / SIGCONT every process of the host's pid namespace (an NC's VMs too). */
  freezeHost(name: string): void;
  thawHost(name: string): void;
  /** A host's disk on the jump host: hostDisk(h)/P is the host's /P for its private paths (/mysqldata, /etc …). */
  hostDisk(name: string): string;
  /** hostLayout(port) of an RDS instance on an NC, every path where the jump host sees it (the NC's disk). */
  hostLayoutOnDisk(name: string, port: number): HostLayout;
  /** Run argv inside a running host (its namespaces, a session's capabilities), not over SSH. */
  hostExec(name: string, argv: string[], o?: { input?: string }): Promise<HostExecResult>;
  /** `lab down --purge` and remove the temp dir. */
  destroy(): Promise<void>;
}

/** A TCP port nobody listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Second octets of 127.X that have a listener right now (from /proc/net/tcp). */
export function busyNets(): Set<number> {
  const busy = new Set<number>();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '0A') continue;
    const hex = f[1]!.split(':')[0]!;
    if (parseInt(hex.slice(6, 8), 16) === 127) busy.add(parseInt(hex.slice(4, 6), 16));
  }
  return busy;
}

export function freeNet(): string {
  const busy = busyNets();
  const free: number[] = [];
  for (let x = TEST_NETS.min; x <= TEST_NETS.max; x++) if (!busy.has(x)) free.push(x);
  if (free.length === 0) throw new Error(`no free 127.X net for a test lab (all of 127.${TEST_NETS.min}-${TEST_NETS.max} in use)`);
  return `127.${free[randomInt(free.length)]}`;
}

function envFor(configPath: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RDSCTL_CONFIG: configPath, NO_COLOR: '1' };
  delete env.RDSCTL_PROFILE;
  return env;
}

/** A handle on an existing lab (started by startTestLab or the global setup). */
export function openTestLab(root: string): TestLab {
  const dir = path.join(root, 'lab');
  const configPath = path.join(root, 'config.json');
  const file = readLabFile(dir);
  if (!file) throw new Error(`no lab in ${dir}`);
  const layout = labLayout({ ...paramsOf(file), dir });
  const env = envFor(configPath);
  const clientKey = path.join(dir, 'ssh', 'id_ed25519');
  const knownHosts = path.join(dir, 'ssh', 'known_hosts');
  const host = (name: string) => labHost(layout, name);
  return {
    root,
    dir,
    configPath,
    file,
    layout,
    env,
    clientCnf: path.join(dir, 'client.cnf'),
    clientKey,
    knownHosts,
    run: (args, o = {}) => runCli(args, { ...o, env: { ...env, ...(o.env ?? {}) } }),
    context() {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (d: Buffer) => (out += d.toString()));
      stderr.on('data', (d: Buffer) => (err += d.toString()));
      const ctx = createContext({ env, io: createIO({ stdout, stderr, stdoutIsTTY: false, stderrIsTTY: false, stdinIsTTY: false, env }) });
      return { ctx, out: () => out, err: () => err };
    },
    sshArgs: (address) => [
      '-F', '/dev/null',
      '-i', clientKey,
      '-o', `UserKnownHostsFile=${knownHosts}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=5',
      '-p', String(file.ssh_port),
      `${os.userInfo().username}@${address}`,
    ],
    stopHost: (name) => void stopSshd(dir, host(name)),
    startHost: (name) => startSshd(dir, host(name)),
    freezeHost: (name) => void freezeHost(dir, host(name)),
    thawHost: (name) => void thawHost(dir, host(name)),
    hostExec: (name, argv, o = {}) => hostExec(dir, host(name), argv, o),
    hostDisk: (name) => hostRootOf(dir, host(name).name),
    hostLayoutOnDisk: (name, port) => layoutUnder(hostRootOf(dir, host(name).name), port),
    destroy: () => destroyTestLab(root),
  };
}

export interface TestLabOptions {
  ncs?: number;
  vms?: number;
  name?: string;
}

/**
 * Start a private lab. A clash with another run that picked the same port or net at the same
 * moment is retried with new ones; any other failure is thrown with the CLI's message.
 */
export async function startTestLab(o: TestLabOptions = {}): Promise<TestLab> {
  let last: CliResult | undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), TEST_LAB_PREFIX));
    fs.writeFileSync(path.join(root, 'owner.pid'), String(process.pid));
    const configPath = path.join(root, 'config.json');
    const args = [
      'lab', 'up',
      '--dir', path.join(root, 'lab'),
      '--ncs', String(o.ncs ?? 8),
      '--vms', String(o.vms ?? 16),
      '--name', o.name ?? 'lab',
      '--port', String(await freePort()),
      '--ssh-port', String(await freePort()),
      '--net', freeNet(),
    ];
    last = await runCli(args, { env: envFor(configPath) });
    if (last.code === 0) return openTestLab(root);
    await destroyTestLab(root);
    if (!/already in use/.test(last.stderr)) break;
  }
  throw new Error(`test lab did not start (exit ${last?.code}): ${last?.stderr.trim()}`);
}

/** `lab down --purge` of the lab under a test root, then remove the root; works on a half-made lab too. */
export async function destroyTestLab(root: string): Promise<void> {
  const r = await runCli(['lab', 'down', '--purge', '--dir', path.join(root, 'lab')], { env: envFor(path.join(root, 'config.json')) });
  fs.rmSync(root, { recursive: true, force: true });
  if (r.code !== 0) throw new Error(`lab down in ${root} failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/** The lab the integration run shares (see global-setup.ts). */
export function sharedLab(): TestLab {
  const root = process.env.RDSCTL_TEST_LAB_ROOT;
  if (!root) throw new Error('RDSCTL_TEST_LAB_ROOT is not set: integration tests run through jest --selectProjects integration (global-setup.ts starts the lab)');
  return openTestLab(root);
}

/** Pids of processes still running for a lab dir (empty after `lab down`). */
export function labPids(dir: string): number[] {
  return labProcesses(dir).map((p) => p.pid);
}
