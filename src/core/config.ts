import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { ConfigError, UsageError } from './errors.js';

// The config file: {current, profiles[]} like the aliyun CLI. JSON, so that no YAML parser sits
// on the start-up path. Written atomically with mode 0600 because it may hold passwords.

export const LOGICAL_DATABASES = ['dbaas', 'houyi', 'xuanyuan', 'tianji', 'pangu', 'vpc'] as const;
export type LogicalDb = (typeof LOGICAL_DATABASES)[number];

/** One logical database. The DSN carries no password; it comes from `password` or `password_env`. */
export interface DbConnection {
  /** mysql://user@host:port/database */
  dsn: string;
  password?: string;
  /** Name of an environment variable holding the password; wins over `password`. */
  password_env?: string;
}

export interface SshSettings {
  user: string;
  port: number;
  identity_file?: string;
  known_hosts?: string;
  /** user@host:port of a bastion in front of the NCs, used with OpenSSH -J and ssh2 forwardOut. */
  jump_host?: string;
  /** Seconds to establish TCP + SSH handshake + auth. */
  connect_timeout: number;
  /** Seconds a remote command may run before it is killed on the remote side. */
  command_timeout: number;
  /** Hosts in flight at once during fan-out. */
  concurrency: number;
}

export interface Profile {
  name: string;
  databases: Partial<Record<LogicalDb, DbConnection>>;
  ssh: SshSettings;
  /** Local append-only audit log (JSONL). */
  audit_log?: string;
  /** Where operator roles come from: the dbaas `operator` table, or nowhere (everyone admin). */
  roles_source: 'table' | 'none';
  /** Set on profiles written by `rdsctl lab up`: the lab's directory. */
  lab_dir?: string;
  /** The group source of a bare `@NAME` in a node set (ClusterShell's default source). */
  group_source?: 'cluster' | 'zone';
  /** The backup store (issue 12): where backup sets and archived binlogs live. */
  backup?: BackupStoreSettings;
  /**
   * TLS for every MySQL connection rdsctl makes (metadbs and instances): the CA whose certificates
   * it trusts. With it, a server without TLS or with a certificate the CA did not issue for the
   * address rdsctl dialled is refused before any credential is sent.
   */
  tls?: TlsSettings;
  /**
   * Where the control plane connects to instances from: the AG hosts rdsctl runs on and the HA
   * watcher's host (IP addresses). The maintenance accounts of every pair rdsctl installs are
   * bound to these and to the pair's own addresses, never to '%'.
   */
  control_addresses?: string[];
  /**
   * Where a connection from one NC to another arrives from when that is not the NC's own address.
   * A lab's hosts share the jump host's network stack, so connections between them come from
   * 127.0.0.1 (MariaDB has no MASTER_BIND to pick another); production leaves this unset.
   */
  nc_source_addresses?: string[];
}

export interface TlsSettings {
  /** PEM file of the CA that issues the servers' certificates. */
  ca: string;
  /**
   * That CA's private key (PEM, on the jump host, 0600): the install issues each instance node's
   * server certificate with it. Only the node's own certificate and key go to the NC.
   */
  ca_key?: string;
}

/**
 * The backup store is an SSH host. rdsctl reaches it like any host (ssh.*); NCs push to it with
 * their own key (nc_identity_file, a path on every NC, checked against nc_known_hosts there).
 */
export interface BackupStoreSettings {
  store_host: string;
  store_address: string;
  /** Directory on the store (its production path, e.g. /backup). */
  store_dir: string;
  nc_identity_file: string;
  nc_known_hosts: string;
}

export const BACKUP_DEFAULTS = { store_dir: '/backup', nc_identity_file: '/etc/rds/backup/id_ed25519', nc_known_hosts: '/etc/rds/backup/known_hosts' } as const;

export interface ConfigFile {
  current?: string;
  profiles: Profile[];
}

export const SSH_DEFAULTS: SshSettings = {
  user: 'root',
  port: 22,
  connect_timeout: 10,
  command_timeout: 600,
  concurrency: 64,
};

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || os.homedir(), '.config');
  return path.join(xdg, 'rdsctl', 'config.json');
}

/** --config, then RDSCTL_CONFIG, then the XDG path. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const p = flag || env.RDSCTL_CONFIG || defaultConfigPath(env);
  return path.resolve(p);
}

export function readConfig(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { profiles: [] };
    throw new ConfigError(`cannot read config ${file}: ${code ?? (e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config ${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return validateConfig(raw, file);
}

function validateConfig(raw: unknown, file: string): ConfigFile {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`config ${file}: top level must be an object {current, profiles}`);
  const r = raw as { current?: unknown; profiles?: unknown };
  if (r.current !== undefined && typeof r.current !== 'string') throw new ConfigError(`config ${file}: "current" must be a string`);
  if (r.profiles !== undefined && !Array.isArray(r.profiles)) throw new ConfigError(`config ${file}: "profiles" must be a list`);
  const profiles = ((r.profiles as unknown[]) ?? []).map((p, i) => normalizeProfile(p, `${file}: profiles[${i}]`));
  const seen = new Set<string>();
  for (const p of profiles) {
    if (seen.has(p.name)) throw new ConfigError(`config ${file}: profile "${p.name}" is defined twice`);
    seen.add(p.name);
  }
  return { current: r.current as string | undefined, profiles };
}

export function normalizeProfile(raw: unknown, where: string): Profile {
  if (!raw || typeof raw !== 'object') throw new ConfigError(`${where}: must be an object`);
  const p = raw as Record<string, unknown>;
  if (typeof p.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(p.name)) throw new ConfigError(`${where}: "name" must be 1-64 letters, digits, _ . -`);
  const dbs = (p.databases ?? {}) as Record<string, unknown>;
  if (typeof dbs !== 'object' || Array.isArray(dbs)) throw new ConfigError(`${where}.databases: must be an object`);
  const databases: Profile['databases'] = {};
  for (const [k, v] of Object.entries(dbs)) {
    if (!(LOGICAL_DATABASES as readonly string[]).includes(k)) throw new ConfigError(`${where}.databases.${k}: unknown logical database (valid: ${LOGICAL_DATABASES.join(', ')})`);
    const c = v as Record<string, unknown>;
    if (!c || typeof c.dsn !== 'string') throw new ConfigError(`${where}.databases.${k}: "dsn" must be a string`);
    parseDsn(c.dsn, `${where}.databases.${k}.dsn`);
    databases[k as LogicalDb] = {
      dsn: c.dsn,
      ...(typeof c.password === 'string' ? { password: c.password } : {}),
      ...(typeof c.password_env === 'string' ? { password_env: c.password_env } : {}),
    };
  }
  const s = (p.ssh ?? {}) as Record<string, unknown>;
  const num = (k: keyof SshSettings, min: number, max: number): number => {
    const v = s[k] ?? SSH_DEFAULTS[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ConfigError(`${where}.ssh.${k}: must be a number from ${min} to ${max}`);
    return v;
  };
  const str = (k: keyof SshSettings): string | undefined => {
    const v = s[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new ConfigError(`${where}.ssh.${k}: must be a string`);
    return v;
  };
  const ssh: SshSettings = {
    user: str('user') ?? SSH_DEFAULTS.user,
    port: num('port', 1, 65535),
    connect_timeout: num('connect_timeout', 0.1, 3600),
    command_timeout: num('command_timeout', 0.1, 7 * 86400),
    concurrency: num('concurrency', 1, 4096),
  };
  for (const k of ['identity_file', 'known_hosts', 'jump_host'] as const) {
    const v = str(k);
    if (v !== undefined) ssh[k] = v;
  }
  const rolesSource = p.roles_source ?? 'none';
  if (rolesSource !== 'table' && rolesSource !== 'none') throw new ConfigError(`${where}.roles_source: must be "table" or "none"`);
  const out: Profile = {
    name: p.name,
    databases,
    ssh,
    roles_source: rolesSource,
  };
  if (typeof p.audit_log === 'string') out.audit_log = p.audit_log;
  if (typeof p.lab_dir === 'string') out.lab_dir = p.lab_dir;
  if (p.group_source !== undefined) {
    if (p.group_source !== 'cluster' && p.group_source !== 'zone') throw new ConfigError(`${where}.group_source: must be "cluster" or "zone"`);
    out.group_source = p.group_source;
  }
  if (p.backup !== undefined && p.backup !== null) out.backup = normalizeBackup(p.backup, `${where}.backup`);
  if (p.tls !== undefined && p.tls !== null) {
    const t = p.tls as Record<string, unknown>;
    if (typeof t !== 'object' || Array.isArray(t) || typeof t.ca !== 'string' || !t.ca.startsWith('/') || /[\0\n]/.test(t.ca)) throw new ConfigError(`${where}.tls.ca: the absolute path of the CA's PEM file`);
    out.tls = { ca: t.ca };
    if (t.ca_key !== undefined && t.ca_key !== null) {
      if (typeof t.ca_key !== 'string' || !t.ca_key.startsWith('/') || /[\0\n]/.test(t.ca_key)) throw new ConfigError(`${where}.tls.ca_key: the absolute path of the CA's private key (PEM)`);
      out.tls.ca_key = t.ca_key;
    }
  }
  for (const k of ['control_addresses', 'nc_source_addresses'] as const) {
    const v = p[k];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || v.length === 0 || v.length > 32 || !v.every((a) => typeof a === 'string' && net.isIP(a) !== 0)) throw new ConfigError(`${where}.${k}: a list of 1-32 IP addresses`);
    out[k] = [...new Set(v as string[])];
  }
  return out;
}

function normalizeBackup(v: unknown, where: string): BackupStoreSettings {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${where}: must be an object`);
  const b = v as Record<string, unknown>;
  const str = (k: keyof BackupStoreSettings, dflt?: string): string => {
    const x = b[k] ?? dflt;
    if (typeof x !== 'string' || !x) throw new ConfigError(`${where}.${k}: must be a non-empty string`);
    return x;
  };
  const out: BackupStoreSettings = {
    store_host: str('store_host'),
    store_address: str('store_address'),
    store_dir: str('store_dir', BACKUP_DEFAULTS.store_dir),
    nc_identity_file: str('nc_identity_file', BACKUP_DEFAULTS.nc_identity_file),
    nc_known_hosts: str('nc_known_hosts', BACKUP_DEFAULTS.nc_known_hosts),
  };
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(out.store_host)) throw new ConfigError(`${where}.store_host: a host name`);
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(out.store_address)) throw new ConfigError(`${where}.store_address: an address`);
  for (const k of ['store_dir', 'nc_identity_file', 'nc_known_hosts'] as const) {
    if (!out[k].startsWith('/') || out[k].split('/').includes('..') || /[\0\n]/.test(out[k])) throw new ConfigError(`${where}.${k}: an absolute path`);
  }
  return out;
}

/** Write the whole file atomically: temp file in the same directory, fsync, rename, 0600. */
export function writeConfig(file: string, cfg: ConfigFile): void {
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(cfg, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
  } catch (e) {
    throw new ConfigError(`cannot write config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** --profile, then RDSCTL_PROFILE, then the file's `current`. */
export function selectProfile(cfg: ConfigFile, flag: string | undefined, env: NodeJS.ProcessEnv, file: string): Profile {
  const name = flag || env.RDSCTL_PROFILE || cfg.current;
  const source = flag ? '--profile' : env.RDSCTL_PROFILE ? 'RDSCTL_PROFILE' : `"current" in ${file}`;
  if (!name) {
    throw new ConfigError(`no profile selected and ${file} names no current profile`, {
      hint: 'run `rdsctl lab up` for a local region, or `rdsctl config use NAME`',
    });
  }
  const p = cfg.profiles.find((x) => x.name === name);
  if (!p) {
    const names = cfg.profiles.map((x) => x.name);
    const near = names.filter((n) => similar(n, name));
    throw new ConfigError(`profile "${name}" (from ${source}) is not in ${file}`, {
      hint: names.length ? `profiles: ${(near.length ? near : names).slice(0, 3).join(', ')}` : 'no profiles yet; run `rdsctl lab up`',
    });
  }
  return p;
}

function similar(a: string, b: string): boolean {
  return a.toLowerCase().includes(b.toLowerCase()) || b.toLowerCase().includes(a.toLowerCase());
}

export interface ParsedDsn {
  user: string;
  host: string;
  port: number;
  database: string;
  socketPath?: string;
}

/** mysql://user@host:port/database[?socket=/path]. A password in the DSN is refused: it would leak into `ps` and logs. */
export function parseDsn(dsn: string, where: string): ParsedDsn {
  let u: URL;
  try {
    u = new URL(dsn);
  } catch {
    throw new ConfigError(`${where}: bad DSN (expected mysql://user@host:port/database)`);
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') throw new ConfigError(`${where}: bad DSN scheme "${u.protocol}" (expected mysql://)`);
  if (u.password) throw new ConfigError(`${where}: DSN must not contain a password; use "password_env" or "password"`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!u.hostname || !database || !/^[A-Za-z0-9_$]{1,64}$/.test(database)) throw new ConfigError(`${where}: bad DSN (expected mysql://user@host:port/database)`);
  const port = u.port ? Number(u.port) : 3306;
  const out: ParsedDsn = { user: decodeURIComponent(u.username || 'root'), host: u.hostname.replace(/^\[|\]$/g, ''), port, database };
  const sock = u.searchParams.get('socket');
  if (sock) out.socketPath = sock;
  return out;
}

/** The password for a connection: the named env var if set, else the stored one. */
export function dbPassword(c: DbConnection, env: NodeJS.ProcessEnv): string | undefined {
  if (c.password_env && env[c.password_env] !== undefined) return env[c.password_env];
  return c.password;
}

// ---- `config set KEY VALUE`: the settable keys, their types and checks, in one table ----

type Setter = { kind: 'string' | 'number' | 'enum' | 'list'; values?: string[]; secret?: boolean };
const DB_KEYS: Record<string, Setter> = { dsn: { kind: 'string' }, password: { kind: 'string', secret: true }, password_env: { kind: 'string' } };
const TOP_KEYS: Record<string, Setter> = {
  audit_log: { kind: 'string' },
  roles_source: { kind: 'enum', values: ['table', 'none'] },
  group_source: { kind: 'enum', values: ['cluster', 'zone'] },
  control_addresses: { kind: 'list' },
  nc_source_addresses: { kind: 'list' },
  'ssh.user': { kind: 'string' },
  'ssh.port': { kind: 'number' },
  'ssh.identity_file': { kind: 'string' },
  'ssh.known_hosts': { kind: 'string' },
  'ssh.jump_host': { kind: 'string' },
  'ssh.connect_timeout': { kind: 'number' },
  'ssh.command_timeout': { kind: 'number' },
  'ssh.concurrency': { kind: 'number' },
  'backup.store_host': { kind: 'string' },
  'backup.store_address': { kind: 'string' },
  'backup.store_dir': { kind: 'string' },
  'backup.nc_identity_file': { kind: 'string' },
  'backup.nc_known_hosts': { kind: 'string' },
};

export function settableKeys(): string[] {
  return [...Object.keys(TOP_KEYS), ...LOGICAL_DATABASES.flatMap((d) => Object.keys(DB_KEYS).map((k) => `databases.${d}.${k}`))];
}

/** Returns a new profile with KEY set; the result is re-validated as a whole. */
export function setProfileKey(p: Profile, key: string, value: string): Profile {
  const copy = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
  let setter: Setter | undefined = TOP_KEYS[key];
  let target: Record<string, unknown> = copy;
  let leaf = key;
  const m = /^databases\.([a-z]+)\.([a-z_]+)$/.exec(key);
  if (m) {
    setter = (LOGICAL_DATABASES as readonly string[]).includes(m[1]!) ? DB_KEYS[m[2]!] : undefined;
    const dbs = (copy.databases ??= {}) as Record<string, Record<string, unknown>>;
    target = dbs[m[1]!] ??= { dsn: '' };
    leaf = m[2]!;
  } else if (key.startsWith('ssh.')) {
    target = (copy.ssh ??= {}) as Record<string, unknown>;
    leaf = key.slice(4);
  } else if (key.startsWith('backup.')) {
    // A store is named by host and address; the paths default until set.
    target = (copy.backup ??= { store_host: value, store_address: value }) as Record<string, unknown>;
    leaf = key.slice(7);
  }
  if (!setter) throw new UsageError(`config set: unknown key "${key}" (valid: ${settableKeys().join(', ')})`);
  if (setter.kind === 'number') {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`config set ${key}: "${value}" is not a number`);
    target[leaf] = n;
  } else if (setter.kind === 'list') {
    target[leaf] = value.split(',').map((x) => x.trim()).filter((x) => x !== '');
  } else if (setter.kind === 'enum') {
    if (!setter.values!.includes(value)) throw new UsageError(`config set ${key}: "${value}" is not one of ${setter.values!.join(', ')}`);
    target[leaf] = value;
  } else {
    target[leaf] = value;
  }
  try {
    return normalizeProfile(copy, `profile "${p.name}"`);
  } catch (e) {
    throw new UsageError(`config set ${key}: ${(e as Error).message}`);
  }
}

const MASK = '********';

/** A copy safe to print: stored passwords are masked, env var names are kept (they are not secret). */
export function maskProfile(p: Profile): Profile {
  const databases: Profile['databases'] = {};
  for (const [k, v] of Object.entries(p.databases)) {
    databases[k as LogicalDb] = { ...v, ...(v.password !== undefined ? { password: MASK } : {}) };
  }
  return { ...p, databases };
}
