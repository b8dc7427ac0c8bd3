import fs from 'node:fs';
import net from 'node:net';

// Loopback only: the lab binds and probes 127.0.0.0/8 addresses and nothing else.

/** Try to bind address:port; resolves to the errno code when it cannot (EADDRINUSE, EACCES …). */
export function bindProbe(address: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

/** Does something accept TCP connections on address:port within timeoutMs? */
export function tcpProbe(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: address, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Decode /proc/net/tcp's little-endian hex IPv4 ("0100007F" → 127.0.0.1). */
export function decodeProcAddress(hex: string): string {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
}

/** Inodes of sockets listening on port at address (or on a wildcard that covers it). */
export function listenerInodes(address: string, port: number, procNet: Array<[string, string]> = readProcNet()): string[] {
  const out: string[] = [];
  for (const [family, text] of procNet) {
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue;
      const [addrHex, portHex] = f[1]!.split(':');
      if (parseInt(portHex!, 16) !== port) continue;
      const wildcard = /^0+$/.test(addrHex!);
      if (wildcard || (family === 'tcp' && decodeProcAddress(addrHex!) === address)) out.push(f[9]!);
    }
  }
  return out;
}

function readProcNet(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const family of ['tcp', 'tcp6']) {
    try {
      out.push([family, fs.readFileSync(`/proc/net/${family}`, 'utf8')]);
    } catch {
      continue;
    }
  }
  return out;
}

/** "pid 4242 (mariadbd)" for the process holding a listening socket, when /proc lets us see it. */
export function whoListens(address: string, port: number): string | undefined {
  const inodes = new Set(listenerInodes(address, port).map((i) => `socket:[${i}]`));
  if (inodes.size === 0) return undefined;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) {
          const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
          return `pid ${pid} (${comm})`;
        }
      } catch {
        continue;
      }
    }
  }
  return undefined;
}

/** The one-line text for a port we cannot bind. */
export function portInUseMessage(address: string, port: number, code: string): string {
  if (code !== 'EADDRINUSE') return `cannot listen on ${address}:${port}: ${code}`;
  const who = whoListens(address, port);
  return `port ${port} on ${address} is already in use${who ? ` by ${who}` : ''}`;
}
