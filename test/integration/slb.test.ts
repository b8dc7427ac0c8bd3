import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import type { Context } from '../../src/core/context.js';

// lb_node / proxy status against the lab's Xuanyuan rows (lvs-04 offline, lvs-07 maintain,
// proxy-03 offline) and, with --live, the lab's real sshds on each online node's service port.

jest.setTimeout(60_000);

interface NodeJson {
  nodes: Array<Record<string, unknown>>;
  summary: Record<string, number>;
}

let lab: TestLab;
let ctx: Context;
beforeAll(() => {
  lab = sharedLab();
  ctx = lab.context().ctx;
});
afterAll(() => ctx.close());

describe('lb_node status', () => {
  test('one row per node, summary on stderr, exit 4 for the offline and maintain fixtures', async () => {
    const r = await lab.run(['lb_node', 'status']);
    expect(r.code).toBe(4);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^IP_ADDR\s+STATUS\s+CLUSTER\s+ROLE\s+VIP$/);
    expect(lines).toHaveLength(9);
    expect(r.stderr).toBe('8 lb_nodes: 6 online, 1 offline, 1 maintain\n');
  });

  test('-o json: {nodes, summary} with the seed\'s field names', async () => {
    const r = await lab.run(['lb_node', 'status', '-o', 'json']);
    expect(r.code).toBe(4);
    const j = json<NodeJson>(r);
    expect(j.summary).toEqual({ total: 8, online: 6, offline: 1, maintain: 1 });
    expect(Object.keys(j.nodes[0]!).sort()).toEqual(['cluster', 'gmt_modified', 'id', 'ip_addr', 'role', 'service_port', 'status', 'vip']);
    expect(j.nodes.filter((n) => n.status !== 'online').map((n) => n.ip_addr)).toEqual([`${lab.file.net}.200.4`, `${lab.file.net}.200.7`]);
  });

  test('filters: --cluster and --status; all online → exit 0', async () => {
    const r = await lab.run(['lb_node', 'status', '--cluster', 'slb-hza-01', '--status', 'online', '-o', 'json']);
    expect(r.code).toBe(0);
    const j = json<NodeJson>(r);
    expect(j.summary).toEqual({ total: 3, online: 3, offline: 0, maintain: 0 });
    expect(j.nodes.every((n) => n.cluster === 'slb-hza-01')).toBe(true);
    const off = await lab.run(['lb_node', 'status', '--status', 'offline,maintain', '-o', 'tsv']);
    expect(off.code).toBe(4);
    expect(off.stdout.trim().split('\n')).toHaveLength(3);
  });

  test('an unknown cluster is not-found with a near name; a bad flag is a usage error', async () => {
    const r = await lab.run(['lb_node', 'status', '--cluster', 'slb-hza-1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^rdsctl: no lb_node in cluster slb-hza-1 \(did you mean: slb-hza-01\b.*\)\n$/);
    const bad = await lab.run(['lb_node', 'status', '--status', 'up']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^rdsctl: --status up: "up" is not one of online, offline, maintain\n$/);
  });

  test('--live: the online nodes answer on their service port, the others do not, and metadb agrees', async () => {
    const r = await lab.run(['lb_node', 'status', '--live', '--timeout', '3', '-o', 'json']);
    expect(r.code).toBe(4);
    const j = json<NodeJson>(r);
    for (const n of j.nodes) expect(n.live).toBe(n.status === 'online' ? 'up' : 'down');
    expect(j.summary).toMatchObject({ up: 6, down: 2, mismatch: 0 });
    expect(j.nodes.find((n) => n.status === 'offline')!.live_error).toBe('ECONNREFUSED');
  });
});

describe('--live mismatch, on rows this test adds and removes', () => {
  const cluster = 'slb-test-live';
  let dead: string;
  let alive: string;
  beforeAll(async () => {
    // Nothing listens on .200.250; every NC's sshd listens on the lab's SSH port.
    dead = `${lab.file.net}.200.250`;
    const [nc] = await ctx.db('houyi').query<{ ip: string }>("SELECT ip FROM nc WHERE status = 'online' ORDER BY hostname LIMIT 1");
    alive = nc!.ip;
    const x = ctx.db('xuanyuan');
    await x.execute("INSERT INTO lb_node (ip_addr, status, cluster, role, service_port) VALUES (?, 'online', ?, 'master', ?), (?, 'offline', ?, 'backup', ?)", [dead, cluster, lab.file.ssh_port, alive, cluster, lab.file.ssh_port]);
  });
  afterAll(async () => {
    await ctx.db('xuanyuan').execute('DELETE FROM lb_node WHERE cluster = ?', [cluster]);
  });

  test('online but down, and offline but up, are both marked', async () => {
    const r = await lab.run(['lb_node', 'status', '--cluster', cluster, '--live', '--timeout', '3', '-o', 'json']);
    expect(r.code).toBe(4);
    const j = json<NodeJson>(r);
    expect(j.nodes.map((n) => [n.ip_addr, n.status, n.live, n.mismatch])).toEqual(
      [
        [dead, 'online', 'down', true],
        [alive, 'offline', 'up', true],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]), 'en', { numeric: true })),
    );
    const t = await lab.run(['lb_node', 'status', '--cluster', cluster, '--live', '--timeout', '3']);
    expect(t.stdout.match(/MISMATCH/g)).toHaveLength(3);
    expect(t.stderr).toBe('2 lb_nodes: 1 online, 1 offline, 0 maintain, live: 1 up, 1 down, 2 mismatch\n');
  });
});

describe('proxy status', () => {
  test('the ip_adr column as the seed spells it; proxy-03 offline → exit 4', async () => {
    const r = await lab.run(['proxy', 'status', '-o', 'json']);
    expect(r.code).toBe(4);
    const j = json<NodeJson>(r);
    expect(j.summary).toEqual({ total: 6, online: 5, offline: 1, maintain: 0 });
    expect(Object.keys(j.nodes[0]!).sort()).toEqual(['cluster', 'gmt_modified', 'id', 'ip_adr', 'kind', 'service_port', 'status']);
    expect(j.nodes.find((n) => n.status === 'offline')!.ip_adr).toBe(`${lab.file.net}.201.3`);
  });

  test('table, --live, and a filter that leaves only online proxies', async () => {
    const t = await lab.run(['proxy', 'status', '--live']);
    expect(t.code).toBe(4);
    expect(t.stdout.split('\n')[0]).toMatch(/^IP_ADR\s+STATUS\s+CLUSTER\s+KIND\s+PORT\s+LIVE\s+MISMATCH$/);
    expect(t.stderr).toBe('6 proxy nodes: 5 online, 1 offline, 0 maintain, live: 5 up, 1 down, 0 mismatch\n');
    const ok = await lab.run(['proxy', 'status', '--cluster', 'slb-hzb-01', '-o', 'json']);
    expect(ok.code).toBe(0);
    expect(json<NodeJson>(ok).summary.total).toBe(3);
  });
});
