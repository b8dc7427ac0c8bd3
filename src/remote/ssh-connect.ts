// Connections (ClusterShell's Worker/Ssh transport side): the jump chain, host keys checked
// against known_hosts (ssh2 itself accepts any key), credentials, the cache of live connections
// and the channel slots each connection has.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, Client as SshClient, ConnectConfig, ParsedKey } from 'ssh2';
import type { Profile } from '../core/config.js';
import { KnownHosts, knownHostsName } from './known-hosts.js';
import { HopFailure, onAbort, raceAbort } from './ssh-abort.js';
import { parseJumpHost, type FailureCategory, type HostTarget, type SshPoolOptions } from './ssh-types.js';

const { Client, utils } = ssh2;

/** sshd allows 10 sessions per connection by default (MaxSessions); two stay free for kills. */
const CHANNELS_PER_CONNECTION = 8;
/** Connections closing in closeAll get this long before they are destroyed. */
const CLOSE_WAIT_MS = 1000;
/** Key types ssh2 offers, in its order; used to put the ones known_hosts can check first. */
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const MAX_VIA_DEPTH = 8;

/** One SSH connection to make: the profile's jump host, a `via`, or the target itself. */
export interface Hop {
  /** The target's display name, or the address for the profile's jump host. */
  name: string;
  user: string;
  host: string;
  port: number;
  /** Set on every hop but the last: failures are reported as "via NAME: ...". */
  intermediate: boolean;
}

export interface Conn {
  client: SshClient;
  key: string;
  cached: boolean;
  alive: boolean;
  open: number;
  waiting: Array<() => void>;
}

/** Read and parsed once per pool: a thousand hosts must not parse the key a thousand times. */
interface Credentials {
  privateKey?: ParsedKey;
  agent?: string;
}

export interface Connector {
  /** The hops to `target`: the profile's jump host, then its via chain, then itself. Throws HopFailure. */
  hopsFor(target: HostTarget): Hop[];
  /**
   * The connection for the last hop, opening what is missing. Jump hosts and vias are always
   * cached (many targets share them); the last hop only when `cacheLast`. `fresh`: just opened.
   */
  connect(hops: Hop[], cacheLast: boolean, signals: AbortSignal[]): Promise<{ conn: Conn; fresh: boolean }>;
  /** Mark a connection dead and out of the cache (it closed or failed). */
  drop(conn: Conn): void;
  /** drop, then end the connection. */
  close(conn: Conn): void;
  /** Wait for a free channel on the connection (sshd's MaxSessions). */
  acquire(conn: Conn, signals: AbortSignal[]): Promise<void>;
  release(conn: Conn): void;
  /** Close the cached connection to one target. */
  forget(target: HostTarget): void;
  closeAll(): Promise<void>;
}

export function createConnector(profile: Profile, opts: SshPoolOptions, poolSignals: AbortSignal[]): Connector {
  const ssh = profile.ssh;
  const home = opts.env.HOME || os.homedir();
  const knownHostsFile = expandHome(ssh.known_hosts ?? '~/.ssh/known_hosts', home);
  const connectMs = Math.round(ssh.connect_timeout * 1000);
  const jumpSpec = ssh.jump_host ? parseJumpHost(ssh.jump_host, ssh.user) : undefined;
  const jump: Hop | undefined = jumpSpec && { name: jumpSpec.host, ...jumpSpec, intermediate: true };
  const cache = new Map<string, Promise<Conn>>();
  const live = new Set<Conn>();
  let creds: Credentials | HopFailure | undefined;
  let knownHosts: KnownHosts | HopFailure | undefined;

  function credentials(): Credentials {
    creds ??= loadCredentials(ssh.identity_file ? expandHome(ssh.identity_file, home) : undefined, opts.env, home);
    if (creds instanceof HopFailure) throw creds;
    return creds;
  }

  function hostKeys(): KnownHosts {
    if (!knownHosts) {
      try {
        knownHosts = KnownHosts.load(knownHostsFile);
      } catch (e) {
        knownHosts = new HopFailure('host-key', `cannot read known_hosts ${knownHostsFile}: ${errCode(e)}`);
      }
    }
    if (knownHosts instanceof HopFailure) throw knownHosts;
    return knownHosts;
  }

  function hopsFor(target: HostTarget): Hop[] {
    const chain: HostTarget[] = [];
    for (let t: HostTarget | undefined = target; t; t = t.via) {
      chain.unshift(t);
      if (chain.length > MAX_VIA_DEPTH) throw new HopFailure('error', `more than ${MAX_VIA_DEPTH} hops through "via"`);
    }
    const hops: Hop[] = chain.map((t) => ({ name: t.name, user: ssh.user, host: t.address, port: t.port ?? ssh.port, intermediate: true }));
    if (jump) hops.unshift({ ...jump });
    hops[hops.length - 1]!.intermediate = false;
    return hops;
  }

  /** Open one SSH connection, through `via` when given, with the connect timeout over all of it. */
  function openHop(hop: Hop, via: Conn | undefined, key: string, cached: boolean, signals: AbortSignal[]): Promise<Conn> {
    return new Promise<Conn>((resolve, reject) => {
      let settled = false;
      let hostKeyFailure: HopFailure | undefined;
      let newKey: Buffer | undefined;
      const client = new Client();
      const conn: Conn = { client, key, cached, alive: false, open: 0, waiting: [] };
      const fail = (f: HopFailure): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        offAbort();
        client.destroy();
        reject(f);
      };
      // Covers the forward through a via, TCP, the SSH handshake and auth: a host that accepts
      // TCP and never speaks SSH, or a via that cannot reach its target, ends here.
      const timer = setTimeout(() => fail(new HopFailure('connect-timeout', failureText(hop, 'connect-timeout', `no SSH session within ${ssh.connect_timeout}s`))), connectMs);
      const offAbort = onAbort(signals, () => fail(new HopFailure('interrupted', 'interrupted while connecting')));
      client.on('error', (e: Error & { level?: string; code?: string }) => {
        if (settled) return drop(conn);
        fail(hostKeyFailure ?? classifyConnectError(hop, e));
      });
      client.on('close', () => {
        drop(conn);
        fail(new HopFailure('error', failureText(hop, 'error', 'connection closed during the SSH handshake')));
      });
      client.once('ready', () => {
        if (settled) return void client.end();
        if (newKey) {
          try {
            const kh = hostKeys();
            if (kh.check(hop.host, hop.port, newKey).status === 'unknown') kh.append(hop.host, hop.port, newKey);
          } catch (e) {
            return fail(e instanceof HopFailure ? e : new HopFailure('host-key', `cannot record the host key of ${hopLabel(hop)} in ${knownHostsFile}: ${errCode(e)}`));
          }
        }
        settled = true;
        clearTimeout(timer);
        offAbort();
        conn.alive = true;
        live.add(conn);
        resolve(conn);
      });

      const verify = (blob: Buffer): boolean => {
        const res = hostKeys().check(hop.host, hop.port, blob);
        if (res.status === 'ok') return true;
        if (res.status === 'unknown' && opts.acceptNew) {
          newKey = blob;
          return true;
        }
        const what = hopLabel(hop);
        hostKeyFailure = new HopFailure(
          'host-key',
          failureText(
            hop,
            'host-key',
            res.status === 'unknown'
              ? `unknown host key for ${what}; rerun with --accept-new to record it`
              : res.status === 'revoked'
                ? `host key for ${what} is marked @revoked in ${knownHostsFile}:${res.line}; refusing to connect`
                : `host key for ${what} does not match ${knownHostsFile}:${res.line}; refusing to connect (possible man-in-the-middle; if the host was reinstalled, remove that line)`,
          ),
        );
        return false;
      };

      const start = (sock?: ConnectConfig['sock']): void => {
        let c: Credentials;
        try {
          c = credentials();
          hostKeys();
        } catch (e) {
          return fail(e as HopFailure);
        }
        const cfg: ConnectConfig = {
          host: hop.host,
          port: hop.port,
          username: hop.user,
          readyTimeout: connectMs,
          hostVerifier: verify,
          // Objects, not method names: the parsed key is passed as it is, and "none" is never tried.
          authHandler: [
            ...(c.privateKey ? [{ type: 'publickey', username: hop.user, key: c.privateKey }] : []),
            ...(c.agent ? [{ type: 'agent', username: hop.user, agent: c.agent }] : []),
          ] as AnyAuthMethod[],
          ...(sock ? { sock } : {}),
          // Idle cached connections notice a dead peer; one-off fan-out connections do not need it.
          ...(cached ? { keepaliveInterval: 30_000, keepaliveCountMax: 3 } : {}),
        };
        const order = hostKeyOrder(hostKeys().keyTypes(hop.host, hop.port));
        if (order) cfg.algorithms = { serverHostKey: order as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
        try {
          client.connect(cfg);
        } catch (e) {
          fail(new HopFailure('error', failureText(hop, 'error', (e as Error).message)));
        }
      };

      if (!via) return start();
      try {
        via.client.forwardOut('127.0.0.1', 0, hop.host, hop.port, (err, stream) => {
          if (err) return fail(classifyForwardError(hop, err));
          if (settled) return void stream.close();
          start(stream);
        });
      } catch (e) {
        fail(classifyForwardError(hop, e as Error));
      }
    });
  }

  async function connect(hops: Hop[], cacheLast: boolean, signals: AbortSignal[]): Promise<{ conn: Conn; fresh: boolean }> {
    let prev: Conn | undefined;
    for (let i = 0; i < hops.length; i++) {
      const last = i === hops.length - 1;
      const key = chainKey(hops, i);
      let pending = cache.get(key);
      let fresh = false;
      if (!pending) {
        if (last && !cacheLast) return { conn: await openHop(hops[i]!, prev, key, false, signals), fresh: true };
        // A shared connection is not torn down by one caller's abort, only by the pool's.
        const p = openHop(hops[i]!, prev, key, true, poolSignals);
        cache.set(key, p);
        p.catch(() => {
          if (cache.get(key) === p) cache.delete(key);
        });
        pending = p;
        fresh = true;
      }
      const conn = await raceAbort(pending, signals);
      if (!conn.alive) {
        if (cache.get(key) === pending) cache.delete(key);
        i--;
        continue;
      }
      if (last) return { conn, fresh };
      prev = conn;
    }
    throw new HopFailure('error', 'no hops');
  }

  function drop(conn: Conn): void {
    conn.alive = false;
    live.delete(conn);
    const p = cache.get(conn.key);
    if (p) void p.then((c) => c === conn && cache.get(conn.key) === p && cache.delete(conn.key), () => undefined);
  }

  function close(conn: Conn): void {
    drop(conn);
    conn.client.end();
  }

  async function acquire(conn: Conn, signals: AbortSignal[]): Promise<void> {
    while (conn.open >= CHANNELS_PER_CONNECTION) {
      let wake: () => void = () => undefined;
      const turn = new Promise<void>((resolve) => (wake = resolve));
      conn.waiting.push(wake);
      try {
        await raceAbort(turn, signals);
      } catch (e) {
        const i = conn.waiting.indexOf(wake);
        // Already woken: hand the turn on rather than lose it.
        if (i >= 0) conn.waiting.splice(i, 1);
        else conn.waiting.shift()?.();
        throw e;
      }
    }
    conn.open++;
  }

  function release(conn: Conn): void {
    conn.open--;
    conn.waiting.shift()?.();
  }

  function forget(target: HostTarget): void {
    let hops: Hop[];
    try {
      hops = hopsFor(target);
    } catch {
      return;
    }
    const key = chainKey(hops, hops.length - 1);
    const p = cache.get(key);
    cache.delete(key);
    if (p) void p.then((c) => close(c), () => undefined);
  }

  async function closeAll(): Promise<void> {
    const pending = [...cache.values()];
    cache.clear();
    const conns = new Set(live);
    for (const p of pending) {
      const c = await p.catch(() => undefined);
      if (c) conns.add(c);
    }
    await Promise.all(
      [...conns].map(
        (c) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              c.client.destroy();
              resolve();
            }, CLOSE_WAIT_MS);
            c.client.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            close(c);
          }),
      ),
    );
  }

  return { hopsFor, connect, drop, close, acquire, release, forget, closeAll };
}

function chainKey(hops: Hop[], i: number): string {
  return hops
    .slice(0, i + 1)
    .map((h) => `${h.user}@${h.host}:${h.port}`)
    .join('>');
}

function loadCredentials(identityFile: string | undefined, env: NodeJS.ProcessEnv, home: string): Credentials | HopFailure {
  const agent = env.SSH_AUTH_SOCK || undefined;
  const candidates = identityFile ? [identityFile] : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(home, '.ssh', f));
  let lastProblem = '';
  for (const file of candidates) {
    let text: Buffer;
    try {
      text = fs.readFileSync(file);
    } catch (e) {
      lastProblem = `cannot read identity file ${file}: ${errCode(e)}`;
      continue;
    }
    const parsed = utils.parseKey(text);
    if (parsed instanceof Error) {
      lastProblem = /encrypted|passphrase/i.test(parsed.message) ? `identity file ${file} needs a passphrase; load it into ssh-agent` : `identity file ${file}: ${parsed.message}`;
      continue;
    }
    const privateKey = Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
    return { privateKey, ...(agent ? { agent } : {}) };
  }
  if (agent) return { agent };
  return new HopFailure('auth', identityFile ? lastProblem : 'no identity: set ssh.identity_file in the profile or start ssh-agent');
}

/** How to name a hop in messages: its name and the known_hosts name it is checked under. */
function hopLabel(hop: Hop): string {
  const kh = knownHostsName(hop.host, hop.port);
  return hop.name === hop.host ? kh : `${hop.name} (${kh})`;
}

function failureText(hop: Hop, category: FailureCategory, text: string): string {
  const where = `${hop.host}:${hop.port}`;
  const body =
    category === 'dns' ? `cannot resolve ${hop.host}` : category === 'refused' ? `connection refused by ${where}` : category === 'auth' ? `authentication as ${hop.user} failed on ${where}` : category === 'host-key' ? text : `${where}: ${text}`;
  return hop.intermediate ? `via ${hop.name}: ${body}` : body;
}

function classifyConnectError(hop: Hop, e: Error & { level?: string; code?: string }): HopFailure {
  const code = e.code ?? '';
  let category: FailureCategory = 'error';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || e.level === 'client-dns') category = 'dns';
  else if (code === 'ECONNREFUSED') category = 'refused';
  else if (code === 'ETIMEDOUT' || e.level === 'client-timeout') category = 'connect-timeout';
  else if (e.level === 'client-authentication' || /All configured authentication methods failed/.test(e.message)) category = 'auth';
  return new HopFailure(category, failureText(hop, category, category === 'connect-timeout' ? 'no SSH session in time' : e.message || code));
}

/** A via's sshd could not reach the next hop: its reason text is all there is. */
function classifyForwardError(hop: Hop, e: Error): HopFailure {
  const msg = e.message.replace(/^\(SSH\) Channel open failure: /, '');
  const category: FailureCategory = /refused/i.test(msg) ? 'refused' : /timed? ?out/i.test(msg) ? 'connect-timeout' : /resolve|name or service|not known/i.test(msg) ? 'dns' : 'error';
  return new HopFailure(category, failureText(hop, category, `cannot reach ${hop.host}:${hop.port}: ${msg}`));
}

/**
 * With key types on record that ssh2 would not pick first, ask for those first, as OpenSSH does;
 * otherwise a host with several keys would show one we cannot check. undefined: the default order.
 */
function hostKeyOrder(known: string[]): string[] | undefined {
  if (known.length === 0 || known.includes(HOST_KEY_ALGORITHMS[0]!)) return undefined;
  const wanted = known.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t])).filter((t) => HOST_KEY_ALGORITHMS.includes(t));
  return [...new Set([...wanted, ...HOST_KEY_ALGORITHMS])];
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}
