import os from 'node:os';
import path from 'node:path';
import { createIO, type IO } from './io.js';
import { systemClock, type Clock } from './clock.js';
import { readConfig, resolveConfigPath, selectProfile, type ConfigFile, type LogicalDb, type Profile } from './config.js';
import { ConfigError } from './errors.js';
import { AuditLog } from './audit.js';
import { createDb, type Db } from '../remote/mysql.js';
import type { SshPool } from '../remote/ssh-types.js';
import { osIdentity } from './identity.js';

/**
 * Everything a command may touch, injected. Commands never import process globals or
 * singletons: tests build a Context with captured streams, a private lab profile and a clock.
 * Expensive parts (config file, pools, ssh2) are created on first use.
 */
export interface Context {
  io: IO;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  debug: boolean;
  /** Aborted on SIGINT/SIGTERM; long operations stop, print what they have, and exit 130. */
  signal: AbortSignal;
  /**
   * While a child owns the terminal (`instance connect`'s mariadb client), Ctrl-C is the child's
   * (it cancels a query there): rdsctl neither aborts nor exits on SIGINT until the returned
   * release is called. SIGTERM still stops rdsctl.
   */
  holdInterrupts?(): () => void;
  /** The OS user running rdsctl: the operator identity for roles and audit. */
  osUser: string;
  configPath: string;
  config(): ConfigFile;
  /** The active profile (--profile, RDSCTL_PROFILE, current). Throws a ConfigError/NotFoundError. */
  profile(): Profile;
  /** A pooled connection to a logical database of the active profile, created lazily. */
  db(name: LogicalDb): Db;
  /** The SSH client factory (ssh2 loaded on first call). */
  ssh(): Promise<SshPool>;
  audit(): AuditLog;
  /** A fact looked up at most once per context (the operator's role): the first call's promise, kept. */
  once<T>(key: string, make: () => Promise<T>): Promise<T>;
  /** Close pools and connections so the process can exit on its own. */
  close(): Promise<void>;
}

export interface ContextOptions {
  /** How the process holds back SIGINT (cli.ts); without it holdInterrupts() does nothing. */
  interrupts?: { hold(): () => void };
  io?: IO;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  debug?: boolean;
  signal?: AbortSignal;
  configFlag?: string;
  profileFlag?: string;
  /** Tests may act as another operator; the CLI always uses the real OS user. */
  osUser?: string;
  /** Tests may inject an SSH pool; otherwise remote/ssh.ts builds one from the profile. */
  ssh?: SshPool;
}

export function defaultAuditPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(base, 'rdsctl', 'audit.jsonl');
}

export function createContext(o: ContextOptions = {}): Context {
  const env = o.env ?? process.env;
  const io = o.io ?? createIO({ env });
  const clock = o.clock ?? systemClock;
  const configPath = resolveConfigPath(o.configFlag, env);
  const signal = o.signal ?? new AbortController().signal;
  const osUser = o.osUser ?? osIdentity();
  let cfg: ConfigFile | undefined;
  let prof: Profile | undefined;
  const dbs = new Map<LogicalDb, Db>();
  let sshP: Promise<SshPool> | undefined = o.ssh ? Promise.resolve(o.ssh) : undefined;
  let audit: AuditLog | undefined;
  const facts = new Map<string, Promise<unknown>>();

  const ctx: Context = {
    io,
    env,
    clock,
    debug: Boolean(o.debug),
    signal,
    holdInterrupts: () => (o.interrupts ? o.interrupts.hold() : () => undefined),
    osUser,
    configPath,
    config: () => (cfg ??= readConfig(configPath)),
    profile: () => (prof ??= selectProfile(ctx.config(), o.profileFlag, env, configPath)),
    db(name) {
      let db = dbs.get(name);
      if (!db) {
        const p = ctx.profile();
        const conn = p.databases[name];
        if (!conn) throw new ConfigError(`profile "${p.name}" has no connection for database "${name}"`, { hint: `rdsctl config set databases.${name}.dsn mysql://user@host:port/${name}` });
        db = createDb(name, conn, { env, ...(p.tls ? { tls: p.tls } : {}) });
        dbs.set(name, db);
      }
      return db;
    },
    ssh() {
      return (sshP ??= import('../remote/ssh.js').then((m) => m.createSshPool(ctx.profile(), { env, signal })));
    },
    audit() {
      if (!audit) {
        const p = ctx.profile();
        audit = new AuditLog(p.audit_log ?? defaultAuditPath(env), { user: osUser, profile: p.name }, () => clock.now(), () => (p.databases.dbaas ? ctx.db('dbaas') : undefined));
      }
      return audit;
    },
    once<T>(key: string, make: () => Promise<T>): Promise<T> {
      let p = facts.get(key) as Promise<T> | undefined;
      if (!p) facts.set(key, (p = make()));
      return p;
    },
    async close() {
      await Promise.all([...dbs.values()].map((d) => d.close()));
      if (sshP) await (await sshP).closeAll().catch(() => undefined);
    },
  };
  return ctx;
}


