import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { TLSSocket } from 'node:tls';
import type { AuthPlugin } from 'mysql2';
import type { TlsSettings } from '../core/config.js';
import { ConfigError } from '../core/errors.js';

// What every mysql2 connection of rdsctl trusts (metadb pools and instance sessions).
//
// TLS: with the profile's tls.ca, a server must offer TLS and present a certificate that CA
// issued for the address dialled (an IP address is checked against the certificate's IP SANs,
// a name against its DNS SANs). mysql2 refuses a server without TLS before it sends anything,
// and a certificate that fails after the SSLRequest packet, which holds no user name.
//
// Password recovery: a server may switch the login to sha256_password or caching_sha2_password
// "full authentication" and hand out its own RSA key, and mysql2 then sends the password
// encrypted to that key: a rogue server decrypts it. These plugins below send the password only
// inside a TLS session whose certificate was verified, and otherwise refuse; the scramble-based
// answers (mysql_native_password, the caching_sha2 fast path) never reveal the password.

export const PUBKEY_REFUSED = 'refused to send the password: the server asked for it in readable form (RSA public-key retrieval or cleartext) outside a verified TLS session';

export interface MysqlTrustOptions {
  ssl?: { ca: string; rejectUnauthorized: true; verifyIdentity: true };
  stream?: () => net.Socket;
  authPlugins: Record<string, AuthPlugin>;
}

/** What the plugins read of mysql2's connection: the socket (TLS or not) and the password. */
interface LoginConn {
  stream: unknown;
  config: { password?: string };
}

const caCache = new Map<string, string>();

function readCa(file: string): string {
  let pem = caCache.get(file);
  if (pem === undefined) {
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`profile tls.ca ${file}: cannot read the CA file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new ConfigError(`profile tls.ca ${file}: not a PEM certificate`);
    caCache.set(file, pem);
  }
  return pem;
}

/** Is this login inside a TLS session whose peer certificate was verified? */
function verifiedTls(stream: unknown): boolean {
  return stream instanceof TLSSocket && stream.encrypted && stream.authorized;
}

function sha256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

/** caching_sha2_password's scramble answer: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce). */
function sha2Token(password: string, nonce: Buffer): Buffer {
  if (!password) return Buffer.alloc(0);
  const s1 = sha256(Buffer.from(password));
  const s3 = sha256(Buffer.concat([sha256(s1), nonce]));
  return Buffer.from(s1.map((x, i) => x ^ s3[i]!));
}

const FAST_AUTH_OK = 3;
const FULL_AUTH = 4;

/**
 * The TCP socket for a TLS login to host:port. Node checks the certificate against the socket's
 * _host, which net.connect leaves unset for an IP address (and mysql2 then passes no servername),
 * so the check would be made against "localhost". Setting it makes an IP address be checked
 * against the certificate's IP SANs and a name against its DNS SANs.
 */
function dial(host: string, port: number): () => net.Socket {
  return () => {
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    (s as unknown as { _host: string })._host = host;
    return s;
  };
}

/** mysql2 options for a login to host:port (a TCP one; a unix socket needs no TLS). */
export function mysqlTrust(tls: TlsSettings | undefined, to?: { host: string; port: number }): MysqlTrustOptions {
  return {
    ...(tls ? { ssl: { ca: readCa(tls.ca), rejectUnauthorized: true as const, verifyIdentity: true as const } } : {}),
    ...(tls && to ? { stream: dial(to.host, to.port) } : {}),
    authPlugins: {
      sha256_password: (m) => {
        const connection = m.connection as unknown as LoginConn;
        return () => {
          if (!verifiedTls(connection.stream)) throw new Error(PUBKEY_REFUSED);
          return Buffer.from(`${connection.config.password ?? ''}\0`, 'utf8');
        };
      },
      caching_sha2_password: (m) => {
        const connection = m.connection as unknown as LoginConn;
        let sent = false;
        return (data: Buffer) => {
          if (!sent) {
            sent = true;
            return sha2Token(connection.config.password ?? '', data.subarray(0, 20));
          }
          if (data.length === 1 && data[0] === FAST_AUTH_OK) return null;
          if (data.length === 1 && data[0] === FULL_AUTH && verifiedTls(connection.stream)) return Buffer.from(`${connection.config.password ?? ''}\0`, 'utf8');
          throw new Error(PUBKEY_REFUSED);
        };
      },
    },
  };
}

/** A driver error that means "this server is not one the CA vouches for" (or offers no TLS). */
export function untrustedServer(e: unknown): string | null {
  const x = e as { code?: string; message?: string };
  const msg = x?.message ?? '';
  if (x?.code === 'HANDSHAKE_NO_SSL_SUPPORT') return 'the server offers no TLS';
  if (msg.startsWith(PUBKEY_REFUSED)) return PUBKEY_REFUSED;
  if (x?.code === 'HANDSHAKE_SSL_ERROR' || /^ERR_TLS_CERT|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO/.test(x?.code ?? '') || /certificate|Hostname\/IP does not match/i.test(msg)) {
    return `its TLS certificate is not trusted: ${msg.split('\n')[0]}`;
  }
  return null;
}
