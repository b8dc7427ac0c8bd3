import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { ensureKeys, knownHostsLines, startUnit, stopUnit, type SshdPaths, type SshdUnit } from '../../src/lab/sshd.js';
import type { Profile, SshSettings } from '../../src/core/config.js';
import type { HostTarget } from '../../src/remote/ssh-types.js';

// Real OpenSSH servers for one test file, independent of the shared lab: a random 127.X.Y.0/24
// (X in 200-250) and a random port, so parallel runs on the same machine do not collide.
// One sshd per host, so a test can stop one host and leave the others up.

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
        host_root: path.join(dir, 'hosts', '{host}'),
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
