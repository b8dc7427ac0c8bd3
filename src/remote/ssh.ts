import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, Client as SshClient, ClientChannel, ConnectConfig, ParsedKey } from 'ssh2';
import type { Profile } from '../core/config.js';
import { InterruptedError, RemoteError, oneLine } from '../core/errors.js';
import { KnownHosts, knownHostsName } from './known-hosts.js';
import { sh } from './quote.js';
import { parseJumpHost, type ExecOptions, type ExecResult, type FailureCategory, type FanoutOptions, type HostTarget, type SshPool, type SshPoolOptions } from './ssh-types.js';

// The ssh2 side of the SSH boundary: cached connections, host keys checked against known_hosts
// (ssh2 itself accepts any key), jump hosts, remote kill, bounded output, fan-out.
//
// Remote kill: OpenSSH ignores the "signal" channel request, so a timed-out command would keep
// running. sshd starts every non-pty exec in its own session, so the remote shell's PID is its
// process group. The wrapper prints that PID as a marker line on stderr first; the pool strips it
// and, to stop the command, signals `-PGID` from a second channel of the same connection.
// The command then runs through `eval` in that same login shell, not `exec $SHELL -c`: bash lowers
// SHLVL on exec, so a second bash believes sshd started it and reads ~/.bashrc again (measured
// +100 ms a host with a pyenv init there).

const { Client, utils } = ssh2;

const DEFAULT_MAX_OUTPUT = 8 * 1024 * 1024;
/** sshd allows 10 sessions per connection by default (MaxSessions); two stay free for kills. */
const CHANNELS_PER_CONNECTION = 8;
const MARKER = Buffer.from('\x1eRDSCTL-PGID ');
/** How long a stop waits for the PGID marker, for the kill channel to start, then for the command's channel to close. */
const PGID_WAIT_MS = 1000;
const KILL_WAIT_MS = 2000;
const STOP_WAIT_MS = 4000;
/** Connections closing in closeAll get this long before they are destroyed. */
const CLOSE_WAIT_MS = 1000;
/** A partial line longer than this is handed on as a line, so a flood without newlines stays bounded. */
const MAX_LINE_BYTES = 64 * 1024;
/** Key types ssh2 offers, in its order; used to put the ones known_hosts can check first. */
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const MAX_VIA_DEPTH = 8;

/** One SSH connection to make: the profile's jump host, a `via`, or the target itself. */
interface Hop {
  /** The target's display name, or the address for the profile's jump host. */
  name: string;
  user: string;
  host: string;
  port: number;
  /** Set on every hop but the last: failures are reported as "via NAME: ...". */
  intermediate: boolean;
}

interface ExitStatus {
  code: number | null;
  signal: string | null;
}

interface Conn {
  client: SshClient;
  key: string;
  cached: boolean;
  alive: boolean;
  open: number;
  waiting: Array<() => void>;
}

/** A failure of ssh itself (not of the remote command), with its category. */
class HopFailure extends Error {
  constructor(
    readonly category: FailureCategory,
    message: string,
  ) {
    super(message);
  }
}

/** Read and parsed once per pool: a thousand hosts must not parse the key a thousand times. */
interface Credentials {
  privateKey?: ParsedKey;
  agent?: string;
}

export function createSshPool(profile: Profile, opts: SshPoolOptions): SshPool {
  const ssh = profile.ssh;
  const home = opts.env.HOME || os.homedir();
  const knownHostsFile = expandHome(ssh.known_hosts ?? '~/.ssh/known_hosts', home);
  const connectMs = Math.round(ssh.connect_timeout * 1000);
  const jumpSpec = ssh.jump_host ? parseJumpHost(ssh.jump_host, ssh.user) : undefined;
  const jump: Hop | undefined = jumpSpec && { name: jumpSpec.host, ...jumpSpec, intermediate: true };
  const poolSignals = opts.signal ? [opts.signal] : [];
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
        if (settled) return dropConn(conn);
        fail(hostKeyFailure ?? classifyConnectError(hop, e));
      });
      client.on('close', () => {
        dropConn(conn);
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

  function chainKey(hops: Hop[], i: number): string {
    return hops
      .slice(0, i + 1)
      .map((h) => `${h.user}@${h.host}:${h.port}`)
      .join('>');
  }

  /**
   * The connection for the last hop, opening what is missing. Jump hosts and vias are always
   * cached (many targets share them); the last hop only when `cacheLast`.
   */
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

  function dropConn(conn: Conn): void {
    conn.alive = false;
    live.delete(conn);
    const p = cache.get(conn.key);
    if (p) void p.then((c) => c === conn && cache.get(conn.key) === p && cache.delete(conn.key), () => undefined);
  }

  function closeConn(conn: Conn): void {
    dropConn(conn);
    conn.client.end();
  }

  async function execute(target: HostTarget, command: string, o: ExecOptions, cacheLast: boolean): Promise<ExecResult> {
    const started = performance.now();
    const signals = o.signal ? [...poolSignals, o.signal] : poolSignals;
    const failed = (f: HopFailure): ExecResult => ({
      host: target.name,
      address: target.address,
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: '',
      durationMs: Math.round(performance.now() - started),
      category: f.category,
      error: oneLine(f.message),
    });
    if (signals.some((s) => s.aborted)) return failed(new HopFailure('interrupted', 'interrupted before it started'));
    let hops: Hop[];
    try {
      hops = hopsFor(target);
    } catch (e) {
      return failed(e as HopFailure);
    }
    // A cached connection can be dead without knowing it yet (sshd restarted): one retry on a new one.
    for (let attempt = 0; ; attempt++) {
      let got: { conn: Conn; fresh: boolean };
      try {
        got = await connect(hops, cacheLast, signals);
      } catch (e) {
        return failed(e instanceof HopFailure ? e : new HopFailure('error', (e as Error).message));
      }
      const { conn, fresh } = got;
      try {
        return await runCommand(conn, target, command, o, signals, started);
      } catch (e) {
        const f = e instanceof HopFailure ? e : new HopFailure('error', (e as Error).message);
        if (fresh || attempt > 0 || f.category === 'interrupted') return failed(f);
        closeConn(conn);
      } finally {
        if (!conn.cached) closeConn(conn);
      }
    }
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

  /**
   * Open an exec channel. The exit status is recorded from inside ssh2's callback: a fast command's
   * data, exit-status and close can arrive in one read, and an 'exit' listener added after an
   * await would miss it (measured: a third of a 1000-host fan-out of `hostname`).
   */
  function openExec(conn: Conn, command: string): Promise<{ ch: ClientChannel; status: ExitStatus }> {
    return new Promise((resolve, reject) => {
      if (!conn.alive) return reject(new HopFailure('error', 'connection closed'));
      try {
        conn.client.exec(command, (err, ch) => {
          if (err) return reject(new HopFailure('error', `cannot start the command: ${err.message}`));
          const status: ExitStatus = { code: null, signal: null };
          ch.on('exit', (code: number | null, signal?: string) => {
            if (typeof code === 'number') status.code = code;
            else if (signal) status.signal = signal;
          });
          resolve({ ch, status });
        });
      } catch (e) {
        reject(new HopFailure('error', `cannot start the command: ${(e as Error).message}`));
      }
    });
  }

  /**
   * Stop the remote process group from a second channel: TERM, then KILL a second later. TERM
   * first because shells run their EXIT traps on it: a group killed outright in the middle of
   * `pyenv rehash` in ~/.bashrc left its lock file behind and stalled every later login 60 s.
   * Resolves once the script has started; it finishes on its own, even if the connection closes.
   */
  async function signalGroup(conn: Conn, pgid: number): Promise<void> {
    const group = `-${pgid}`;
    try {
      const { ch } = await withTimeout(openExec(conn, sh`kill -s TERM -- ${group} 2>/dev/null || exit 0; sleep 1; kill -s KILL -- ${group} 2>/dev/null`), KILL_WAIT_MS);
      ch.resume();
      ch.stderr.resume();
      ch.end();
    } catch {
      // Best effort: the connection may be the thing that failed.
    }
  }

  async function runCommand(conn: Conn, target: HostTarget, command: string, o: ExecOptions, signals: AbortSignal[], started: number): Promise<ExecResult> {
    await acquire(conn, signals);
    let ch: ClientChannel;
    let status: ExitStatus;
    try {
      ({ ch, status } = await openExec(conn, wrapCommand(command)));
    } catch (e) {
      release(conn);
      throw e;
    }
    const timeoutSec = o.timeoutSec ?? ssh.command_timeout;
    const max = o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const out = new Sink(max, o.onStdout);
    const err = new Sink(max, o.onStderr);
    const pgid = new PgidFilter((b) => err.push(b));
    return new Promise<ExecResult>((resolve) => {
      let stopped: { category: FailureCategory; message: string } | undefined;
      let done = false;
      let forced = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        offAbort();
        conn.client.removeListener('close', onConnClose);
        pgid.end();
        release(conn);
        if (forced) closeConn(conn);
        const { code: exitCode, signal: exitSignal } = status;
        let category: FailureCategory | null = null;
        let error: string | undefined;
        if (stopped) {
          category = stopped.category;
          error = stopped.message;
        } else if (exitCode !== null) {
          category = exitCode === 0 ? null : 'exit';
          if (category) error = `exited ${exitCode}`;
        } else if (exitSignal !== null) {
          category = 'signal';
          error = `killed by ${exitSignal}`;
        } else {
          category = 'error';
          error = 'connection closed before the command exited';
        }
        const truncated = out.dropped > 0 || err.dropped > 0;
        resolve({
          host: target.name,
          address: target.address,
          exitCode,
          signal: exitSignal,
          stdout: out.text(),
          stderr: err.text(),
          durationMs: Math.round(performance.now() - started),
          category,
          ...(error ? { error } : {}),
          ...(truncated ? { truncated } : {}),
        });
      };
      const stop = (category: FailureCategory, message: string): void => {
        if (done || stopped) return;
        stopped = { category, message };
        clearTimeout(timer);
        void (async () => {
          const id = await pgid.known(PGID_WAIT_MS);
          if (done) return;
          if (id === undefined) ch.close();
          else await signalGroup(conn, id);
          // Once the group is gone sshd closes the channel by itself; past this, give up on it.
          setTimeout(() => {
            forced = !done;
            finish();
          }, STOP_WAIT_MS).unref();
        })();
      };
      const onConnClose = (): void => finish();
      conn.client.once('close', onConnClose);
      const timer = setTimeout(() => stop('command-timeout', `no exit within ${timeoutSec}s; killed the remote process group`), Math.min(Math.round(timeoutSec * 1000), 2 ** 31 - 1));
      const offAbort = onAbort(signals, () => stop('interrupted', 'interrupted; killed the remote process group'));
      let paused = false;
      const flow = o.backpressure;
      const throttle = (): void => {
        if (!flow || paused || !flow.blocked()) return;
        paused = true;
        ch.pause();
        ch.stderr.pause();
        void flow.wait().then(() => {
          paused = false;
          ch.resume();
          ch.stderr.resume();
        });
      };
      ch.on('data', (b: Buffer) => {
        out.push(b);
        throttle();
      });
      ch.stderr.on('data', (b: Buffer) => {
        pgid.push(b);
        throttle();
      });
      ch.on('close', finish);
      ch.on('error', () => undefined);
      if (o.stdin !== undefined) ch.end(o.stdin);
      else ch.end();
    });
  }

  const pool: SshPool = {
    exec(target, command, o = {}) {
      return execute(target, command, o, true);
    },

    async run(target, command, o = {}) {
      const r = await execute(target, command, o, true);
      if (r.category === null) return r.stdout;
      if (r.category === 'interrupted') throw new InterruptedError(`${r.host}: ${r.error}`);
      const last = r.category === 'exit' ? lastLine(r.stderr) : '';
      throw new RemoteError(oneLine(`${r.host}: ${r.category === 'exit' ? `remote command exited ${r.exitCode}` : r.error ?? r.category}${last ? `: ${last}` : ''}`), { host: r.host });
    },

    async fanout(targets, command, o: FanoutOptions = {}) {
      const limit = Math.max(1, Math.min(o.concurrency ?? ssh.concurrency, targets.length || 1));
      const results: ExecResult[] = new Array<ExecResult>(targets.length);
      const signals = o.signal ? [...poolSignals, o.signal] : poolSignals;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < targets.length) {
          const i = next++;
          const t = targets[i]!;
          let r: ExecResult;
          if (signals.some((s) => s.aborted)) {
            r = { host: t.name, address: t.address, exitCode: null, signal: null, stdout: '', stderr: '', durationMs: 0, category: 'interrupted', error: 'interrupted before it started' };
          } else if (o.onLine) {
            const onLine = o.onLine;
            const lo = new LineSplitter((line) => onLine(t.name, 'stdout', line));
            const le = new LineSplitter((line) => onLine(t.name, 'stderr', line));
            r = await execute(
              t,
              command,
              {
                ...o,
                onStdout: (b) => {
                  o.onStdout?.(b);
                  lo.push(b);
                },
                onStderr: (b) => {
                  o.onStderr?.(b);
                  le.push(b);
                },
              },
              Boolean(o.keepConnections),
            );
            lo.end();
            le.end();
          } else {
            r = await execute(t, command, o, Boolean(o.keepConnections));
          }
          results[i] = r;
          o.onResult?.(r);
        }
      };
      await Promise.all(Array.from({ length: limit }, worker));
      return results;
    },

    forget(target) {
      let hops: Hop[];
      try {
        hops = hopsFor(target);
      } catch {
        return;
      }
      const key = chainKey(hops, hops.length - 1);
      const p = cache.get(key);
      cache.delete(key);
      if (p) void p.then((c) => closeConn(c), () => undefined);
    },

    async closeAll() {
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
              closeConn(c);
            }),
        ),
      );
    },
  };
  return pool;
}

/** The command as the remote login shell gets it: the PGID marker first, then the command itself. */
export function wrapCommand(command: string): string {
  return sh`printf '\\036RDSCTL-PGID %s\\n' "$$" >&2; eval ${command}`;
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

function lastLine(s: string): string {
  const lines = s.split('\n').filter((l) => l.trim() !== '');
  const l = lines[lines.length - 1] ?? '';
  return l.length > 200 ? `${l.slice(0, 197)}...` : l;
}

/** Listen on several signals at once; returns the function that stops listening. */
function onAbort(signals: AbortSignal[], fn: () => void): () => void {
  if (signals.length === 0) return () => undefined;
  const handler = (): void => fn();
  // One listener per command in flight is by design (bounded by the fan-out window), not a leak.
  for (const s of signals) {
    setMaxListeners(0, s);
    s.addEventListener('abort', handler, { once: true });
  }
  if (signals.some((s) => s.aborted)) queueMicrotask(fn);
  return () => {
    for (const s of signals) s.removeEventListener('abort', handler);
  };
}

function raceAbort<T>(p: Promise<T>, signals: AbortSignal[]): Promise<T> {
  if (signals.length === 0) return p;
  return new Promise<T>((resolve, reject) => {
    const off = onAbort(signals, () => reject(new HopFailure('interrupted', 'interrupted before it started')));
    p.then(
      (v) => {
        off();
        resolve(v);
      },
      (e: unknown) => {
        off();
        reject(e);
      },
    );
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Collects one output stream up to `max` bytes; the rest is counted and dropped. */
class Sink {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  dropped = 0;
  constructor(
    private readonly max: number,
    private readonly onChunk?: (b: Buffer) => void,
  ) {}

  push(b: Buffer): void {
    this.onChunk?.(b);
    const room = this.max - this.bytes;
    if (b.length <= room) {
      this.chunks.push(b);
      this.bytes += b.length;
      return;
    }
    if (room > 0) {
      // A copy, so the rest of the chunk is not kept alive by the slice.
      this.chunks.push(Buffer.from(b.subarray(0, room)));
      this.bytes += room;
    }
    this.dropped += b.length - Math.max(room, 0);
  }

  text(): string {
    return this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks, this.bytes).toString('utf8');
  }
}

/** Takes the remote shell's PID marker off stderr; every other byte passes through in order. */
class PgidFilter {
  pgid: number | undefined;
  /** Bytes before the marker; null once it has been seen or given up on. */
  private held: Buffer | null = Buffer.alloc(0);
  private waiters: Array<(id: number | undefined) => void> = [];

  constructor(private readonly pass: (b: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.held === null) return this.pass(chunk);
    let buf = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    // Lines before the marker (a chatty .bashrc) pass through; the marker line itself is dropped.
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
      if (buf.subarray(0, MARKER.length).equals(MARKER)) {
        const id = Number(buf.subarray(MARKER.length, nl).toString('latin1'));
        this.settle(Number.isInteger(id) && id > 1 ? id : undefined);
        if (buf.length > nl + 1) this.pass(buf.subarray(nl + 1));
        return;
      }
      this.pass(buf.subarray(0, nl + 1));
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > 4096) {
      this.settle(undefined);
      this.pass(buf);
      return;
    }
    this.held = buf;
  }

  end(): void {
    if (this.held?.length) this.pass(this.held);
    this.settle(undefined);
  }

  /** The PGID once the marker arrives, or undefined after `ms`. */
  known(ms: number): Promise<number | undefined> {
    if (this.held === null) return Promise.resolve(this.pgid);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(undefined), ms);
      this.waiters.push((id) => {
        clearTimeout(t);
        resolve(id);
      });
    });
  }

  private settle(id: number | undefined): void {
    if (this.held === null) return;
    this.held = null;
    this.pgid = id;
    for (const w of this.waiters.splice(0)) w(id);
  }
}

/** Complete lines from a byte stream, decoded as UTF-8 only once whole. */
class LineSplitter {
  private partial: Buffer | null = null;
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      this.onLine(buf.toString('utf8', start, nl > start && buf[nl - 1] === 13 ? nl - 1 : nl));
      start = nl + 1;
    }
    buf = buf.subarray(start);
    if (buf.length > MAX_LINE_BYTES) {
      this.onLine(buf.toString('utf8'));
      buf = buf.subarray(buf.length);
    }
    this.partial = buf.length ? Buffer.from(buf) : null;
  }

  end(): void {
    if (this.partial) this.onLine(this.partial.toString('utf8'));
    this.partial = null;
  }
}
