import net from 'node:net';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { RemoteError, UnavailableError } from '../core/errors.js';
import { PIN_SQL_MODE } from './sql-mode.js';
import type { TlsSettings } from '../core/config.js';
import { mysqlTrust, untrustedServer } from './mysql-tls.js';

// Direct connections to an RDS instance (not a metadb): the install steps that run after root is
// dropped, and `instance show --live`. Also a bare protocol probe that needs no account: a MySQL
// server speaks first, so reading its handshake packet proves it answers on that address.

export interface InstanceEndpoint {
  /** For messages: "nc-a01". */
  name: string;
  host: string;
  port: number;
}

export interface Greeting {
  protocol: number;
  /** null when the server answered with an error packet instead of a handshake. */
  serverVersion: string | null;
  /** The error packet's code and message ("Host … is not allowed to connect"): the server is up but refuses this client. */
  refused?: { errno: number; message: string };
}

/**
 * Connect, read the server's first packet, close. A handshake or an error packet both prove a
 * MySQL server answers there; no answer throws RemoteError naming the endpoint.
 */
export function readGreeting(ep: InstanceEndpoint, timeoutMs: number): Promise<Greeting> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host: ep.host, port: ep.port });
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, g?: Greeting): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(g!);
    };
    const timer = setTimeout(() => done(new RemoteError(`${ep.name} ${ep.host}:${ep.port}: no MySQL handshake within ${timeoutMs} ms`, { host: ep.name })), timeoutMs);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const len = buf.readUIntLE(0, 3);
      if (buf.length < 4 + len) return;
      const body = buf.subarray(4, 4 + len);
      if (body[0] === 0xff) {
        // No account matches this client's host yet (a fresh install has root@localhost only), too many connections, …
        return done(null, { protocol: 0, serverVersion: null, refused: { errno: body.readUInt16LE(1), message: body.subarray(3).toString('utf8').replace(/^#\w{5}/, '') } });
      }
      const end = body.indexOf(0, 1);
      done(null, { protocol: body[0]!, serverVersion: body.subarray(1, end < 0 ? body.length : end).toString('utf8') });
    });
    sock.on('error', (e: NodeJS.ErrnoException) => done(new RemoteError(`${ep.name} ${ep.host}:${ep.port}: ${e.code ?? e.message}`, { host: ep.name, cause: e })));
    sock.on('end', () => done(new RemoteError(`${ep.name} ${ep.host}:${ep.port}: closed before the handshake`, { host: ep.name })));
  });
}

export interface InstanceSession {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface InstanceLogin extends InstanceEndpoint {
  user: string;
  password: string;
  connectTimeoutMs?: number;
  /** Verify the server's certificate against this CA (mysql-tls.ts); without it, no TLS, but never a readable password. */
  tls?: TlsSettings;
  /**
   * Bound on every statement (and on close). Without it a server whose host stops answering after
   * the handshake (frozen, cut off: TCP stays open) holds a query forever; HA probes set it.
   */
  queryTimeoutMs?: number;
}

/** A session on an instance as one account. Errors name the host and keep the server's message. */
export async function openInstance(login: InstanceLogin): Promise<InstanceSession> {
  const mysql = await import('mysql2/promise');
  const where = `${login.name} ${login.host}:${login.port}`;
  let conn: Connection;
  try {
    conn = await mysql.createConnection({
      ...mysqlTrust(login.tls, { host: login.host, port: login.port }),
      host: login.host,
      port: login.port,
      user: login.user,
      password: login.password,
      connectTimeout: login.connectTimeoutMs ?? 5000,
      multipleStatements: false,
      supportBigNumbers: true,
      dateStrings: true,
    });
    // See PINNED_SQL_MODE (sql-mode.ts): placeholders and literals assume backslash escapes.
    await conn.query({ sql: PIN_SQL_MODE, ...(login.queryTimeoutMs ? { timeout: login.queryTimeoutMs } : {}) });
  } catch (e) {
    const untrusted = untrustedServer(e);
    // Exit 8 as for a metadb: the server rdsctl reached is not the one the CA vouches for.
    if (untrusted) throw new UnavailableError(`${where} is not trusted: ${untrusted}; no password was sent`, { cause: e });
    throw new RemoteError(`${where}: cannot log in as ${login.user}: ${describe(e)}`, { host: login.name, cause: e });
  }
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
      try {
        const [rows] = await conn.query<RowDataPacket[]>({ sql, ...(login.queryTimeoutMs ? { timeout: login.queryTimeoutMs } : {}) }, params);
        return (Array.isArray(rows) ? rows : []) as unknown as T[];
      } catch (e) {
        throw new RemoteError(`${where}: ${describe(e)}`, { host: login.name, cause: e });
      }
    },
    async close() {
      if (!login.queryTimeoutMs) return void (await conn.end().catch(() => conn.destroy()));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), login.queryTimeoutMs)));
      const r = await Promise.race([conn.end().then(() => 'ended' as const, () => 'late' as const), late]);
      clearTimeout(timer);
      if (r === 'late') conn.destroy();
    },
  };
}

function describe(e: unknown): string {
  const x = e as { code?: string; message?: string };
  return `${x.code ? x.code + ': ' : ''}${(x.message ?? String(e)).split('\n')[0]}`;
}
