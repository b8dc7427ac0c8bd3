import net from 'node:net';
import { healthy, isMismatch, summarize, summaryLine, type LbNodeRow } from '../../src/slb/nodes.js';
import { mapLimit } from '../../src/core/concurrency.js';
import { tcpProbe } from '../../src/slb/probe.js';
import { parseStatusFlags } from '../../src/commands/shared/slb-status.js';

const node = (status: LbNodeRow['status'], live?: 'up' | 'down'): LbNodeRow => ({
  id: 1, ip_addr: '127.0.0.1', status, cluster: 'c', role: 'master', vip: null, service_port: 80, gmt_modified: new Date(0),
  ...(live ? { live, mismatch: isMismatch(status, live) } : {}),
});

describe('summary and health', () => {
  it('counts by status; unhealthy when any node is not online', () => {
    const s = summarize([node('online'), node('offline'), node('maintain'), node('online')], false);
    expect(s).toEqual({ total: 4, online: 2, offline: 1, maintain: 1 });
    expect(healthy(s)).toBe(false);
    expect(healthy(summarize([node('online')], false))).toBe(true);
    expect(summaryLine('lb_node', s)).toBe('4 lb_nodes: 2 online, 1 offline, 1 maintain');
  });

  it('mismatch: online but down, or offline but up; maintenance may be either', () => {
    expect(isMismatch('online', 'down')).toBe(true);
    expect(isMismatch('offline', 'up')).toBe(true);
    expect(isMismatch('online', 'up')).toBe(false);
    expect(isMismatch('offline', 'down')).toBe(false);
    expect(isMismatch('maintain', 'up')).toBe(false);
    expect(isMismatch('maintain', 'down')).toBe(false);
  });

  it('with --live: all online but one down is unhealthy', () => {
    const s = summarize([node('online', 'up'), node('online', 'down')], true);
    expect(s).toMatchObject({ up: 1, down: 1, mismatch: 1 });
    expect(healthy(s)).toBe(false);
    expect(summaryLine('proxy', s)).toBe('2 proxy nodes: 2 online, 0 offline, 0 maintain, live: 1 up, 1 down, 1 mismatch');
  });
});

describe('flags', () => {
  const base = { timeout: '2', concurrency: '32' };
  it('parses', () => {
    expect(parseStatusFlags({ ...base, status: 'offline,maintain', cluster: 'slb-hza-01', live: true })).toEqual({ cluster: 'slb-hza-01', status: ['offline', 'maintain'], live: true, timeoutMs: 2000, concurrency: 32 });
  });
  it.each([
    [{ status: 'down' }, /--status down: "down" is not one of online, offline, maintain/],
    [{ timeout: '0' }, /--timeout 0/],
    [{ timeout: '1e3' }, /--timeout/],
    [{ concurrency: '0' }, /--concurrency/],
    [{ concurrency: '-3' }, /--concurrency/],
    [{ cluster: "x' OR 1=1" }, /--cluster/],
  ])('refuses %j', (o, msg) => {
    expect(() => parseStatusFlags({ ...base, ...o })).toThrow(msg);
  });
});

describe('tcpProbe against real sockets on loopback', () => {
  let srv: net.Server;
  let port: number;
  beforeAll(async () => {
    srv = net.createServer((s) => s.end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    port = (srv.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => srv.close(() => r())));

  it('up when something listens', async () => {
    const p = await tcpProbe('127.0.0.1', port, 2000);
    expect(p.live).toBe('up');
    expect(p.error).toBeNull();
  });

  it('down with the reason when nothing listens', async () => {
    const closed = await new Promise<number>((r) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const p = await tcpProbe('127.0.0.1', closed, 2000);
    expect(p).toMatchObject({ live: 'down', error: 'ECONNREFUSED' });
  });

  it('an abort stops a probe at once', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await tcpProbe('127.0.0.1', port, 2000, ac.signal)).toMatchObject({ live: 'down', error: 'interrupted' });
  });
});

describe('mapLimit', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (ms, i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30, 40, 50]);
    expect(peak).toBe(2);
  });
  it('empty input', async () => expect(await mapLimit([], 4, async () => 1)).toEqual([]));
});
