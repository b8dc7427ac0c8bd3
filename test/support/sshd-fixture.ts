import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import type { Profile, SshSettings } from '../../src/core/config.js';
import type { HostTarget } from '../../src/remote/ssh-types.js';

// Real OpenSSH servers for one test file, independent of the shared lab: a random 127.X.Y.0/24
// (X in 200-250) and a random port, so parallel runs on the same machine do not collide.
// One sshd per host, so a test can stop one host and leave the others up. These are bare sshds
// for the SSH transport's tests (fan-out, timeouts, host keys, jumps): each session sees its
// host's name in RDS_HOST_NAME and runs on the jump host itself, so the tests send them nothing
// but echo, printf and sleep. Anything else goes to the lab's isolated hosts (test/support/lab.ts).

interface SshdPaths {
  dir: string;
  hostKey: string;
  authorizedKeys: string;
}

interface SshdUnit {
  id: string;
  port: number;
  hosts: Array<{ name: string; address: string; root: string }>;
}

function ensureKeys(dir: string): { hostKey: string; clientKey: string; authorizedKeys: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const clientKey = path.join(dir, 'id_ed25519');
  const authorizedKeys = path.join(dir, 'authorized_keys');
  for (const k of [hostKey, clientKey]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rdsctl-fixture', '-f', k], { stdio: 'ignore' });
  fs.writeFileSync(authorizedKeys, fs.readFileSync(clientKey + '.pub'), { mode: 0o600 });
  return { hostKey, clientKey, authorizedKeys };
}

function sshdBinary(): string {
  for (const p of ['/usr/sbin/sshd', '/usr/bin/sshd']) if (fs.existsSync(p)) return p;
  throw new Error('OpenSSH server (sshd) is not installed');
}

const confPath = (p: SshdPaths, u: SshdUnit): string => path.join(p.dir, `sshd-${u.id}.conf`);
const pidPath = (p: SshdPaths, u: SshdUnit): string => path.join(p.dir, `sshd-${u.id}.pid`);

function renderConfig(p: SshdPaths, u: SshdUnit): string {
  return [
    ...u.hosts.map((h) => `ListenAddress ${h.address}:${u.port}`),
    `HostKey ${p.hostKey}`,
    `PidFile ${pidPath(p, u)}`,
    `AuthorizedKeysFile ${p.authorizedKeys}`,
    'StrictModes no',
    'UsePAM no',
    'UseDNS no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PrintMotd no',
    'AllowTcpForwarding yes',
    'PermitOpen any',
    'MaxStartups 1000:30:2000',
    'MaxSessions 64',
    'LogLevel ERROR',
    ...u.hosts.flatMap((h) => [`Match LocalAddress ${h.address}`, `  SetEnv RDS_HOST_NAME=${h.name} HOME=${h.root}`]),
  ].join('\n') + '\n';
}

function unitPid(p: SshdPaths, u: SshdUnit): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidPath(p, u), 'utf8').trim());
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(confPath(p, u)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function startUnit(p: SshdPaths, u: SshdUnit): void {
  if (unitPid(p, u)) return;
  fs.mkdirSync(p.dir, { recursive: true });
  fs.writeFileSync(confPath(p, u), renderConfig(p, u), { mode: 0o600 });
  fs.rmSync(pidPath(p, u), { force: true });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const r = spawnSync(sshdBinary(), ['-f', confPath(p, u), '-E', path.join(p.dir, `sshd-${u.id}.log`)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fixture sshd ${u.id} did not start: ${r.stderr || `exit ${r.status}`}`);
  for (let i = 0; i < 200 && !unitPid(p, u); i++) spawnSync('sleep', ['0.01']);
  if (!unitPid(p, u)) throw new Error(`fixture sshd ${u.id} wrote no pid file`);
}

function stopUnit(p: SshdPaths, u: SshdUnit): void {
  const pid = unitPid(p, u);
  if (!pid) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && unitPid(p, u); i++) spawnSync('sleep', ['0.01']);
  if (unitPid(p, u)) process.kill(pid, 'SIGKILL');
  fs.rmSync(pidPath(p, u), { force: true });
}

function knownHostsLines(hostKeyPub: string, units: SshdUnit[]): string {
  const key = fs.readFileSync(hostKeyPub, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  return units.flatMap((u) => u.hosts.map((h) => `[${h.address}]:${u.port} ${key}`)).join('\n') + '\n';
}

export interface FixtureHost {
  name: string;
  address: string;
  port: number;
  root: string;
}

export interface SshdFixture {
  dir: string;
  port: number;
  /** "127.X.Y": the test's private /24; .1 to .N are the hosts, the rest is free for other listeners. */
  subnet: string;
  hosts: FixtureHost[];
  clientKey: string;
  hostKeyPub: string;
  /** known_hosts with a line for every host. */
  knownHosts: string;
  target(name: string, via?: HostTarget): HostTarget;
  /** A profile whose ssh settings point at this fixture; `ssh` overrides single settings. */
  profile(ssh?: Partial<SshSettings>): Profile;
  stopHost(name: string): void;
  startHost(name: string): void;
  /** Stop every sshd and remove the directory. Safe to call twice. */
  close(): void;
}

export function startSshdFixture(count: number, namePrefix = 'nc-t'): SshdFixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-sshd-'));
  const keys = ensureKeys(path.join(dir, 'keys'));
  const paths: SshdPaths = { dir: path.join(dir, 'sshd'), hostKey: keys.hostKey, authorizedKeys: keys.authorizedKeys };
  let units: SshdUnit[] = [];
  let started: SshdUnit[] = [];
  let subnet = '';
  let port = 0;
  // A port or subnet taken by another run makes sshd fail to bind; pick again.
  for (let attempt = 0; ; attempt++) {
    subnet = `127.${randomInt(200, 251)}.${randomInt(0, 256)}`;
    port = randomInt(20000, 40001);
    units = Array.from({ length: count }, (_, i) => {
      const name = `${namePrefix}${String(i + 1).padStart(2, '0')}`;
      const root = path.join(dir, 'hosts', name);
      fs.mkdirSync(root, { recursive: true });
      return { id: name, port, hosts: [{ name, address: `${subnet}.${i + 1}`, root }] };
    });
    started = [];
    try {
      for (const u of units) {
        startUnit(paths, u);
        started.push(u);
      }
      break;
    } catch (e) {
      for (const u of started) stopUnit(paths, u);
      if (attempt >= 4) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, knownHostsLines(`${keys.hostKey}.pub`, units), { mode: 0o600 });
  const hosts: FixtureHost[] = units.map((u) => ({ ...u.hosts[0]!, port }));
  const unitOf = (name: string): SshdUnit => {
    const u = units.find((x) => x.id === name);
    if (!u) throw new Error(`fixture has no host ${name}`);
    return u;
  };
  let closed = false;

  return {
    dir,
    port,
    subnet,
    hosts,
    clientKey: keys.clientKey,
    hostKeyPub: `${keys.hostKey}.pub`,
    knownHosts,
    target(name, via) {
      const h = hosts.find((x) => x.name === name);
      if (!h) throw new Error(`fixture has no host ${name}`);
      return { name: h.name, address: h.address, port: h.port, ...(via ? { via } : {}) };
    },
    profile(ssh = {}) {
      return {
        name: 'ssh-fixture',
        databases: {},
        ssh: {
          user: os.userInfo().username,
          port,
          identity_file: keys.clientKey,
          known_hosts: knownHosts,
          connect_timeout: 5,
          command_timeout: 60,
          concurrency: 8,
          ...ssh,
        },
        roles_source: 'none',
      };
    },
    stopHost(name) {
      stopUnit(paths, unitOf(name));
    },
    startHost(name) {
      startUnit(paths, unitOf(name));
    },
    close() {
      if (closed) return;
      closed = true;
      for (const u of units) stopUnit(paths, u);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
