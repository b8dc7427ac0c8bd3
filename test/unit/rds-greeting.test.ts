import net from 'node:net';
import { RemoteError } from '../../src/core/errors.js';
import { readGreeting } from '../../src/remote/mysql-instance.js';

// The handshake probe behind do_check_start_* and do_validate_rds_data_route, against loopback
// servers that answer the way a MariaDB server does: a handshake, an error packet, or nothing.

function server(onConn: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const srv = net.createServer(onConn);
    srv.listen(0, '127.0.0.1', () => resolve({ port: (srv.address() as net.AddressInfo).port, close: () => new Promise((r) => srv.close(() => r())) }));
  });
}

function packet(body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(body.length, 0, 3);
  return Buffer.concat([h, body]);
}

test('a handshake gives the protocol and server version, even split over several writes', async () => {
  const body = Buffer.concat([Buffer.from([10]), Buffer.from('10.11.19-MariaDB-log\0'), Buffer.alloc(20, 1)]);
  const p = packet(body);
  const s = await server((c) => {
    c.write(p.subarray(0, 3));
    setTimeout(() => c.write(p.subarray(3)), 20);
  });
  try {
    expect(await readGreeting({ name: 'nc-x', host: '127.0.0.1', port: s.port }, 2000)).toEqual({ protocol: 10, serverVersion: '10.11.19-MariaDB-log' });
  } finally {
    await s.close();
  }
});

test('an error packet (host not allowed) still proves a server answers', async () => {
  const msg = "Host '127.0.0.1' is not allowed to connect to this MariaDB server";
  const body = Buffer.concat([Buffer.from([0xff, 0x6a, 0x04]), Buffer.from(msg)]);
  const s = await server((c) => c.end(packet(body)));
  try {
    expect(await readGreeting({ name: 'nc-x', host: '127.0.0.1', port: s.port }, 2000)).toEqual({ protocol: 0, serverVersion: null, refused: { errno: 1130, message: msg } });
  } finally {
    await s.close();
  }
});

test('silence, a closed connection and a refused port are RemoteErrors naming the host', async () => {
  const quiet = await server(() => undefined);
  const closer = await server((c) => c.end());
  try {
    await expect(readGreeting({ name: 'nc-q', host: '127.0.0.1', port: quiet.port }, 200)).rejects.toThrow(new RemoteError(`nc-q 127.0.0.1:${quiet.port}: no MySQL handshake within 200 ms`));
    await expect(readGreeting({ name: 'nc-c', host: '127.0.0.1', port: closer.port }, 2000)).rejects.toThrow(/nc-c 127\.0\.0\.1:\d+: closed before the handshake/);
  } finally {
    await quiet.close();
    await closer.close();
  }
  await expect(readGreeting({ name: 'nc-r', host: '127.0.0.1', port: closer.port }, 2000)).rejects.toThrow(/nc-r 127\.0\.0\.1:\d+: ECONNREFUSED/);
});
