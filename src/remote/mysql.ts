import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { dbPassword, parseDsn, type DbConnection, type TlsSettings } from '../core/config.js';
import { PIN_SQL_MODE } from './sql-mode.js';
import { mysqlTrust, untrustedServer } from './mysql-tls.js';
import { ConfigError, ConflictError, DataError, RdsctlError, UnavailableError } from '../core/errors.js';

// mysql2 pools, one per logical database, created on first use. mysql2 is imported lazily so
// commands that never touch a metadb (--version, go2nc to an IP) do not pay for loading it.
// Every statement goes through query()/execute() with placeholders; there is no string-building API.

export type Params = ReadonlyArray<unknown> | Record<string, unknown>;
export type Row = Record<string, unknown>;

export interface Db {
  readonly name: string;
  /** Where this database lives, for error messages: "dbaas at 127.0.0.1:13306". */
  readonly where: string;
  /** The profile's TLS trust this pool was made with: instance sessions opened from it trust the same CA. */
  readonly tls?: TlsSettings;
  query<T = Row>(sql: string, params?: Params): Promise<T[]>;
  execute(sql: string, params?: Params): Promise<{ affectedRows: number; insertId: number }>;
  /** Run fn in one transaction on one connection; rolled back if fn throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /** Rows one at a time without buffering the result set (for 20k-row lists). */
  stream<T = Row>(sql: string, params: Params | undefined, onRow: (row: T) => void): Promise<void>;
  close(): Promise<void>;
}

export interface DbOptions {
  env?: NodeJS.ProcessEnv;
  connectTimeoutMs?: number;
  connectionLimit?: number;
  /** The profile's tls: the server must present a certificate from this CA (mysql-tls.ts). */
  tls?: TlsSettings;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST', 'ENOENT']);
/** The server answered and refused what the profile gave it: a wrong user, password or database name. */
const CREDENTIAL_CODES = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR']);

/** Map a driver error to a typed one that names the database and where it is. */
export function mapDbError(err: unknown, name: string, where: string): Error {
  if (err instanceof RdsctlError) return err;
  const e = err as { code?: string; message?: string; errno?: number };
  const code = e?.code ?? '';
  const untrusted = untrustedServer(err);
  if (untrusted) {
    return new UnavailableError(`metadb ${name} at ${where} is not trusted: ${untrusted}; no password was sent`, { cause: err, hint: "the profile's tls.ca must have issued the server's certificate for the DSN's host" });
  }
  if (CREDENTIAL_CODES.has(code)) {
    const what = code === 'ER_BAD_DB_ERROR' ? 'the database name' : 'the user or password';
    return new ConfigError(`metadb ${name} at ${where} refused the login: ${code} (check ${what} in the profile's databases.${name})`, { cause: err });
  }
  if (CONNECT_CODES.has(code) || /connect ETIMEDOUT|ECONNREFUSED/.test(e?.message ?? '')) {
    return new UnavailableError(`metadb ${name} at ${where} is unreachable: ${code || e.message}`, { cause: err });
  }
  if (code === 'ER_LOCK_WAIT_TIMEOUT' || code === 'ER_LOCK_DEADLOCK') {
    return new ConflictError(`metadb ${name}: ${code} (another operation holds the rows; retry)`, { cause: err });
  }
  const msg = (e?.message ?? String(err)).split('\n')[0];
  return new DataError(`metadb ${name} at ${where}: ${code ? code + ': ' : ''}${msg}`, { cause: err });
}

export function createDb(name: string, conn: DbConnection, opts: DbOptions = {}): Db {
  const dsn = parseDsn(conn.dsn, `databases.${name}.dsn`);
  const where = dsn.socketPath ? dsn.socketPath : `${dsn.host}:${dsn.port}`;
  let poolP: Promise<Pool> | undefined;
  const trust = mysqlTrust(opts.tls, dsn.socketPath ? undefined : { host: dsn.host, port: dsn.port });
  const pool = (): Promise<Pool> =>
    (poolP ??= import('mysql2/promise').then((m) =>
      m.createPool({
        ...trust,
        host: dsn.host,
        port: dsn.port,
        user: dsn.user,
        password: dbPassword(conn, opts.env ?? process.env),
        database: dsn.database,
        ...(dsn.socketPath ? { socketPath: dsn.socketPath } : {}),
        connectionLimit: opts.connectionLimit ?? 8,
        connectTimeout: opts.connectTimeoutMs ?? 5000,
        // DATETIME columns are UTC in every schema; keep JS Dates in UTC too.
        timezone: 'Z',
        dateStrings: false,
        supportBigNumbers: true,
        bigNumberStrings: false,
        decimalNumbers: true,
        multipleStatements: false,
        namedPlaceholders: false,
      }),
    ).then((p) => {
      // mysql2 substitutes placeholders client-side with backslash escapes: pin the session's
      // sql_mode (sql-mode.ts) before any statement of ours runs on a new connection.
      // A connection whose pin failed is destroyed, so the statement waiting for it fails too.
      type Core = { query(sql: string, cb: (err: unknown) => void): void; destroy(): void };
      (p as unknown as { pool: NodeJS.EventEmitter }).pool.on('connection', (c: Core) => c.query(PIN_SQL_MODE, (err) => err && c.destroy()));
      return p;
    }));

  const wrap = (getConn: () => Promise<Pool | PoolConnection>): Db => ({
    name,
    where,
    ...(opts.tls ? { tls: opts.tls } : {}),
    async query<T>(sql: string, params?: Params): Promise<T[]> {
      try {
        const c = await getConn();
        const [rows] = await c.query<RowDataPacket[]>(sql, params as unknown[]);
        return rows as unknown as T[];
      } catch (e) {
        throw mapDbError(e, name, where);
      }
    },
    async execute(sql: string, params?: Params) {
      try {
        const c = await getConn();
        const [res] = await c.query<ResultSetHeader>(sql, params as unknown[]);
        return { affectedRows: res.affectedRows, insertId: res.insertId };
      } catch (e) {
        throw mapDbError(e, name, where);
      }
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      let c: PoolConnection;
      try {
        c = await (await pool()).getConnection();
      } catch (e) {
        throw mapDbError(e, name, where);
      }
      try {
        await c.beginTransaction();
        const out = await fn(wrap(async () => c));
        await c.commit();
        return out;
      } catch (e) {
        await c.rollback().catch(() => undefined);
        throw mapDbError(e, name, where);
      } finally {
        c.release();
      }
    },
    async stream<T>(sql: string, params: Params | undefined, onRow: (row: T) => void): Promise<void> {
      let c: PoolConnection;
      try {
        c = await (await pool()).getConnection();
      } catch (e) {
        throw mapDbError(e, name, where);
      }
      try {
        await new Promise<void>((resolve, reject) => {
          // The callback-style connection streams rows as they arrive; the promise wrapper buffers.
          const core = (c as unknown as { connection: { query(sql: string, values?: unknown): NodeJS.EventEmitter } }).connection;
          const q = core.query(sql, params);
          q.on('result', (row: unknown) => onRow(row as T));
          q.on('error', reject);
          q.on('end', () => resolve());
        });
      } catch (e) {
        throw mapDbError(e, name, where);
      } finally {
        c.release();
      }
    },
    async close() {
      if (poolP) await (await poolP).end().catch(() => undefined);
    },
  });
  return wrap(pool);
}
