import { LOGICAL_DATABASES, normalizeProfile, parseDsn, type LogicalDb, type Profile } from './config.js';
import { ConfigError, UsageError } from './errors.js';

// What `config add` turns into a profile: one metadb server for all six logical databases (the
// usual AG setup: one MariaDB per region holds them), single DSNs overriding any of them, a
// password for all of them (from stdin or a prompt, never argv) or the name of an environment
// variable, and the SSH settings. Validated as a whole by normalizeProfile, like a file.

export interface NewProfileInput {
  name: string;
  /** host:port of the metadb server holding every logical database. */
  metadb?: string;
  dbUser?: string;
  /** Per-database DSNs, winning over `metadb`. */
  dsns: Partial<Record<LogicalDb, string>>;
  password?: string;
  passwordEnv?: string;
  ssh: { user?: string; port?: number; identity_file?: string; known_hosts?: string; jump_host?: string };
  rolesSource?: 'table' | 'none';
  auditLog?: string;
  /** PEM file of the CA that issues the MySQL servers' certificates (profile tls.ca). */
  tlsCa?: string;
}

export function profileName(v: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw new UsageError(`profile name "${v}": 1-64 letters, digits, _ . -`);
  return v;
}

/** `--metadb HOST:PORT` (IPv4, a host name, or [IPv6]). */
export function metadbArg(v: string): string {
  const m = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--metadb ${v}: must be HOST:PORT`);
  return v;
}

/** `--dsn DB=mysql://user@host:port/database`, repeatable. */
export function dsnArg(v: string, prev: Partial<Record<LogicalDb, string>> = {}): Partial<Record<LogicalDb, string>> {
  const eq = v.indexOf('=');
  const db = v.slice(0, eq);
  if (eq <= 0 || !(LOGICAL_DATABASES as readonly string[]).includes(db)) throw new UsageError(`--dsn ${v}: must be DB=DSN with DB one of ${LOGICAL_DATABASES.join(', ')}`);
  try {
    parseDsn(v.slice(eq + 1), `--dsn ${db}`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return { ...prev, [db]: v.slice(eq + 1) };
}

export function buildProfile(i: NewProfileInput): Profile {
  const databases: Record<string, { dsn: string; password?: string; password_env?: string }> = {};
  const secret = i.passwordEnv ? { password_env: i.passwordEnv } : i.password !== undefined ? { password: i.password } : {};
  for (const db of LOGICAL_DATABASES) {
    const dsn = i.dsns[db] ?? (i.metadb ? `mysql://${i.dbUser ?? 'rdsctl'}@${i.metadb}/${db}` : undefined);
    if (dsn) databases[db] = { dsn, ...secret };
  }
  if (Object.keys(databases).length === 0) throw new UsageError('config add: give --metadb HOST:PORT (every metadb on one server) or --dsn DB=DSN');
  const raw = {
    name: i.name,
    databases,
    ssh: Object.fromEntries(Object.entries(i.ssh).filter(([, v]) => v !== undefined)),
    roles_source: i.rolesSource ?? 'table',
    ...(i.auditLog ? { audit_log: i.auditLog } : {}),
    ...(i.tlsCa ? { tls: { ca: i.tlsCa } } : {}),
  };
  try {
    return normalizeProfile(raw, `profile "${i.name}"`);
  } catch (e) {
    throw e instanceof ConfigError ? new UsageError(e.message) : e;
  }
}
