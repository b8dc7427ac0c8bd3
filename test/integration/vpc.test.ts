import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import type { Context } from '../../src/core/context.js';
import type { AclRule } from '../../src/vpc/natgw-acl.js';

// VPC routes through the CLI, and the NAT-gateway ACL actions that `rdsctl hyapi
// add_natgw_acl|list_natgw_acl|delete_natgw_acl` dispatch to, against the lab's vpc and houyi
// databases. Everything added here is deleted again; invalid input must leave the tables as they were.

jest.setTimeout(60_000);

interface Route {
  route_id: string;
  vpc_id: string;
  dst_cidr: string;
  next_hop: string;
  kind: string;
  description: string | null;
}

let lab: TestLab;
let ctx: Context;
let vpc: { vpc_id: string; cidr: string };
let natgw: { natgw_id: string; ip: string };
beforeAll(async () => {
  lab = sharedLab();
  ctx = lab.context().ctx;
  [vpc] = (await ctx.db('vpc').query<{ vpc_id: string; cidr: string }>("SELECT vpc_id, cidr FROM vpc WHERE name = 'prod-core'")) as [typeof vpc];
  [natgw] = (await ctx.db('houyi').query<{ natgw_id: string; ip: string }>('SELECT natgw_id, ip FROM natgw WHERE vpc_id = ?', [vpc.vpc_id])) as [typeof natgw];
  expect(vpc.cidr).toBe('172.16.0.0/12');
});
afterAll(() => ctx.close());

const count = async (db: 'vpc' | 'houyi', table: 'route_entry' | 'natgw_acl'): Promise<number> =>
  Number((await ctx.db(db).query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table === 'route_entry' ? 'route_entry' : 'natgw_acl'}`))[0]!.n);

describe('vpc route', () => {
  test('list: every route, or one VPC\'s, system routes first', async () => {
    const all = json<Route[]>(await lab.run(['vpc', 'route', 'list', '-o', 'json']));
    expect(all.length).toBe(await count('vpc', 'route_entry'));
    const r = await lab.run(['vpc', 'route', 'list', '--vpc', vpc.vpc_id, '-o', 'json']);
    expect(r.code).toBe(0);
    const mine = json<Route[]>(r);
    expect(mine.every((x) => x.vpc_id === vpc.vpc_id)).toBe(true);
    expect(mine.map((x) => [x.dst_cidr, x.kind])).toEqual(expect.arrayContaining([['172.16.1.0/24', 'system'], ['0.0.0.0/0', 'custom']]));
    expect(Object.keys(mine[0]!).sort()).toEqual(['description', 'dst_cidr', 'gmt_created', 'kind', 'next_hop', 'route_id', 'vpc_id']);
    const t = await lab.run(['vpc', 'route', 'list', '--vpc', vpc.vpc_id]);
    expect(t.stdout.split('\n')[0]).toMatch(/^ROUTE\s+VPC\s+DESTINATION\s+NEXT HOP\s+KIND$/);
    const bad = await lab.run(['vpc', 'route', 'list', '--vpc', `${vpc.vpc_id.slice(0, -1)}x`]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(`did you mean: ${vpc.vpc_id}`);
  });

  test('add, list, delete: a route to an IDC block via an instance inside the VPC, audited', async () => {
    const before = await count('vpc', 'route_entry');
    const add = await lab.run(['vpc', 'route', 'add', '--vpc', vpc.vpc_id, '--cidr', '10.230.0.0/16', '--next-hop', '172.16.1.20', '--description', 'IDC test', '--reason', 'integration test', '-o', 'json']);
    expect(add.code).toBe(0);
    const route = json<Route>(add);
    expect(route).toMatchObject({ vpc_id: vpc.vpc_id, dst_cidr: '10.230.0.0/16', next_hop: '172.16.1.20', kind: 'custom', description: 'IDC test' });
    expect(route.route_id).toMatch(/^rte-bp1[0-9a-f]{17}$/);
    try {
      const listed = json<Route[]>(await lab.run(['vpc', 'route', 'list', '--vpc', vpc.vpc_id, '-o', 'json']));
      expect(listed.find((x) => x.route_id === route.route_id)).toMatchObject({ dst_cidr: '10.230.0.0/16' });
      const dup = await lab.run(['vpc', 'route', 'add', '--vpc', vpc.vpc_id, '--cidr', '10.230.0.0/16', '--next-hop', '172.16.1.21']);
      expect(dup.code).toBe(9);
      expect(dup.stderr).toBe(`rdsctl: VPC ${vpc.vpc_id} already routes 10.230.0.0/16 (route ${route.route_id}, custom, next hop 172.16.1.20)\n`);
      const noYes = await lab.run(['vpc', 'route', 'delete', route.route_id]);
      expect(noYes.code).toBe(2);
      expect(await count('vpc', 'route_entry')).toBe(before + 1);
    } finally {
      const del = await lab.run(['vpc', 'route', 'delete', route.route_id, '--yes', '--reason', 'integration test', '-o', 'json']);
      expect(del.code).toBe(0);
      expect(json<Route>(del).route_id).toBe(route.route_id);
    }
    expect(await count('vpc', 'route_entry')).toBe(before);
    const audit = ctx.audit().readLocal().filter((a) => a.command.startsWith('vpc route') && a.reason === 'integration test');
    expect(audit.slice(-4).map((a) => [a.command, a.phase, a.ok])).toEqual([
      ['vpc route add', 'intent', undefined],
      ['vpc route add', 'result', true],
      ['vpc route delete', 'intent', undefined],
      ['vpc route delete', 'result', true],
    ]);
  });

  test('a next hop outside the VPC block is accepted when it is the VPC\'s NAT gateway; delete by --vpc and --cidr', async () => {
    const add = await lab.run(['vpc', 'route', 'add', '--vpc', vpc.vpc_id, '--cidr', '10.231.0.0/16', '--next-hop', natgw.ip]);
    expect(add.code).toBe(0);
    const del = await lab.run(['vpc', 'route', 'delete', '--vpc', vpc.vpc_id, '--cidr', '10.231.0.0/16', '--yes']);
    expect(del.code).toBe(0);
    expect(del.stderr).toMatch(/^deleted route rte-bp1\w+: 10\.231\.0\.0\/16 in /);
  });

  test.each([
    [['--cidr', '10.230.0.1/16', '--next-hop', '172.16.1.20'], 2, /--cidr: "10\.230\.0\.1\/16" has host bits set/],
    [['--cidr', '10.230.0.0/33', '--next-hop', '172.16.1.20'], 2, /--cidr: .*not a CIDR block/],
    [['--cidr', '10.230.0.0', '--next-hop', '172.16.1.20'], 2, /not a CIDR block/],
    [['--cidr', "10.0.0.0/8' OR '1'='1", '--next-hop', '172.16.1.20'], 2, /not a CIDR block/],
    [['--cidr', '10.230.0.0/16', '--next-hop', '172.16.1.256'], 2, /--next-hop: /],
    [['--cidr', '10.230.0.0/16', '--next-hop', '8.8.8.8'], 2, /neither inside VPC .* nor one of its NAT gateways or ECS instances/],
    [['--cidr', '10.230.0.0/16', '--next-hop', '172.16.0.0'], 2, /network address/],
    [['--cidr', '172.16.1.64/26', '--next-hop', '172.16.1.20'], 9, /inside vSwitch block 172\.16\.1\.0\/24/],
    [['--cidr', '0.0.0.0/0', '--next-hop', '172.16.1.20'], 9, /already routes 0\.0\.0\.0\/0/],
    [['--next-hop', '172.16.1.20'], 2, /--cidr is required/],
  ])('rejected before anything is written: %j', async (args, code, msg) => {
    const before = await count('vpc', 'route_entry');
    const r = await lab.run(['vpc', 'route', 'add', '--vpc', vpc.vpc_id, ...(args as string[])]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(msg as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await count('vpc', 'route_entry')).toBe(before);
  });

  test('--dry-run shows the INSERT and writes nothing; system routes cannot be deleted', async () => {
    const before = await count('vpc', 'route_entry');
    const r = await lab.run(['vpc', 'route', 'add', '--vpc', vpc.vpc_id, '--cidr', '10.232.0.0/16', '--next-hop', '172.16.1.20', '--dry-run', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(json<{ dry_run: boolean; sql: Array<{ statement: string }> }>(r).sql[0]!.statement).toMatch(/^INSERT INTO route_entry/);
    const sys = await lab.run(['vpc', 'route', 'delete', '--vpc', vpc.vpc_id, '--cidr', '172.16.1.0/24', '--yes']);
    expect(sys.code).toBe(9);
    expect(sys.stderr).toMatch(/is a system route/);
    expect((await lab.run(['vpc', 'route', 'delete', 'rte-nope', '--yes'])).code).toBe(3);
    expect((await lab.run(['vpc', 'route', 'delete', '--yes'])).code).toBe(2);
    expect(await count('vpc', 'route_entry')).toBe(before);
  });
});

describe('vpc list, vpc vswitch list, hyapi list_natgw: the ids other commands take', () => {
  test('vpc list: every VPC with its vSwitch and route counts; --region; an unknown region exits 3 with near names', async () => {
    const rows = json<Array<{ vpc_id: string; name: string; region: string; vswitches: number; routes: number }>>(await lab.run(['vpc', 'list', '-o', 'json']));
    expect(rows.length).toBe(Number((await ctx.db('vpc').query<{ n: number }>('SELECT COUNT(*) AS n FROM vpc'))[0]!.n));
    const core = rows.find((r) => r.vpc_id === vpc.vpc_id)!;
    expect(core).toMatchObject({ name: 'prod-core', cidr: '172.16.0.0/12' });
    expect(core.vswitches).toBe(Number((await ctx.db('vpc').query<{ n: number }>('SELECT COUNT(*) AS n FROM vswitch WHERE vpc_id = ?', [vpc.vpc_id]))[0]!.n));
    expect(core.routes).toBeGreaterThan(0);
    expect(Object.keys(core).sort()).toEqual(['cidr', 'name', 'region', 'routes', 'status', 'tunnel_id', 'vpc_id', 'vswitches']);
    const t = await lab.run(['vpc', 'list']);
    expect(t.stdout.split('\n')[0]).toMatch(/^VPC_ID\s+NAME\s+CIDR\s+REGION\s+STATUS\s+VSWITCHES\s+ROUTES$/);
    expect(json<unknown[]>(await lab.run(['vpc', 'list', '--region', core.region, '-o', 'json'])).length).toBe(rows.filter((r) => r.region === core.region).length);
    const bad = await lab.run(['vpc', 'list', '--region', `${core.region}x`]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(`did you mean: ${core.region}`);
  });

  test('vpc vswitch list: all, by --vpc and --zone; unknown VPC or zone exit 3 with near names', async () => {
    const all = json<Array<{ vswitch_id: string; vpc_id: string; zone: string; cidr: string }>>(await lab.run(['vpc', 'vswitch', 'list', '-o', 'json']));
    expect(all.length).toBe(Number((await ctx.db('vpc').query<{ n: number }>('SELECT COUNT(*) AS n FROM vswitch'))[0]!.n));
    const mine = json<typeof all>(await lab.run(['vpc', 'vswitch', 'list', '--vpc', vpc.vpc_id, '-o', 'json']));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((s) => s.vpc_id === vpc.vpc_id)).toBe(true);
    expect(mine.map((s) => s.cidr)).toContain('172.16.1.0/24');
    const zone = mine[0]!.zone;
    const inZone = json<typeof all>(await lab.run(['vpc', 'vswitch', 'list', '--vpc', vpc.vpc_id, '--zone', zone, '-o', 'json']));
    expect(inZone.map((s) => s.vswitch_id)).toEqual(mine.filter((s) => s.zone === zone).map((s) => s.vswitch_id));
    const badVpc = await lab.run(['vpc', 'vswitch', 'list', '--vpc', `${vpc.vpc_id.slice(0, -1)}x`]);
    expect(badVpc.code).toBe(3);
    expect(badVpc.stderr).toContain(`did you mean: ${vpc.vpc_id}`);
    const badZone = await lab.run(['vpc', 'vswitch', 'list', '--zone', `${zone}x`]);
    expect(badZone.code).toBe(3);
    expect(badZone.stderr).toContain(`did you mean: ${zone}`);
    expect((await lab.run(['vpc', 'vswitch', 'list', '--vpc', '$(reboot)'])).code).toBe(2);
  });

  test('hyapi list_natgw: the gateways in the envelope, one VPC\'s; an unknown VPC exits 3 in the envelope', async () => {
    const r = await lab.run(['hyapi', 'list_natgw', '-o', 'json']);
    expect(r.code).toBe(0);
    const env = json<{ code: string; data: Array<{ natgw_id: string; vpc_id: string; ip: string; acl_rules: number }> }>(r);
    expect(env.code).toBe('200');
    expect(env.data.length).toBe(Number((await ctx.db('houyi').query<{ n: number }>('SELECT COUNT(*) AS n FROM natgw'))[0]!.n));
    const g = env.data.find((x) => x.natgw_id === natgw.natgw_id)!;
    expect(g).toMatchObject({ vpc_id: vpc.vpc_id, ip: natgw.ip });
    expect(g.acl_rules).toBe(Number((await ctx.db('houyi').query<{ n: number }>('SELECT COUNT(*) AS n FROM natgw_acl WHERE natgw_id = ?', [natgw.natgw_id]))[0]!.n));
    const one = json<typeof env>(await lab.run(['hyapi', 'list_natgw', `vpc_id=${vpc.vpc_id}`]));
    expect(one.data.map((x) => x.natgw_id)).toEqual([natgw.natgw_id]);
    const table = await lab.run(['hyapi', 'list_natgw', '-o', 'table']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NATGW_ID\s+VPC_ID\s+IP\s+STATUS\s+ACL_RULES$/);
    const bad = await lab.run(['hyapi', 'list_natgw', `vpc_id=${vpc.vpc_id.slice(0, -1)}x`]);
    expect(bad.code).toBe(3);
    expect(json<{ code: string; data: null }>(bad)).toMatchObject({ code: 'InvalidVpcId.NotFound', data: null });
    expect(bad.stderr).toContain(`did you mean: ${vpc.vpc_id}`);
  });
});

describe('NAT gateway ACL (rdsctl hyapi *_natgw_acl)', () => {
  interface Answer<T> { code: string; message: string; data: T }
  /** `rdsctl hyapi NAME k=v…` as a runbook would call it; JSON answers come in the API envelope. */
  async function call(name: string, params: Record<string, string>, flags: string[] = []) {
    const r = await lab.run(['hyapi', name, ...Object.entries(params).map(([k, v]) => `${k}=${v}`), ...flags]);
    return { ...r, answer: <T>() => (json<Answer<T>>(r).data) };
  }

  const rule = () => ({ natgw_id: natgw.natgw_id, direction: 'ingress', protocol: 'tcp', src_cidr: '203.0.113.0/24', dst_cidr: '172.16.1.0/24', port_range: '8080/8090', priority: '20', description: 'integration test' });

  test('list_natgw_acl: the seeded rules, all or one gateway\'s', async () => {
    const all = (await call('list_natgw_acl', {})).answer<AclRule[]>();
    expect(all.length).toBe(await count('houyi', 'natgw_acl'));
    const r = await call('list_natgw_acl', { natgw_id: natgw.natgw_id });
    expect(json<Answer<AclRule[]>>(r)).toMatchObject({ code: '200' });
    const mine = r.answer<AclRule[]>();
    expect(mine.map((x) => [x.direction, x.protocol, x.port_range])).toEqual(expect.arrayContaining([['ingress', 'tcp', '443/443'], ['egress', 'all', '-1/-1']]));
    expect(Object.keys(mine[0]!).sort()).toEqual(['description', 'direction', 'dst_cidr', 'gmt_created', 'id', 'natgw_id', 'policy', 'port_range', 'priority', 'protocol', 'src_cidr', 'vpc_id']);
    const table = await call('list_natgw_acl', { natgw_id: natgw.natgw_id }, ['-o', 'table']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NATGW\s+DIRECTION/);
    const missing = await call('list_natgw_acl', { natgw_id: `${natgw.natgw_id.slice(0, -1)}x` });
    expect(missing.code).toBe(3);
    // Failures come in the same {code, message, data} envelope as every other hyapi action.
    expect(json<Answer<null>>(missing)).toMatchObject({ code: 'InvalidNatGatewayId.NotFound', data: null });
    expect(json<Answer<null>>(missing).message).toMatch(/NAT gateway .* not found/);
  });

  test('add_natgw_acl: added, listed, a duplicate refused, then deleted', async () => {
    const before = await count('houyi', 'natgw_acl');
    const add = await call('add_natgw_acl', rule(), ['--reason', 'integration test']);
    expect(add.code).toBe(0);
    const added = add.answer<AclRule>();
    expect(added).toMatchObject({ natgw_id: natgw.natgw_id, vpc_id: vpc.vpc_id, direction: 'ingress', protocol: 'tcp', port_range: '8080/8090', policy: 'accept', priority: 20 });
    try {
      const listed = (await call('list_natgw_acl', { natgw_id: natgw.natgw_id, direction: 'ingress' })).answer<AclRule[]>();
      expect(listed.map((x) => x.id)).toContain(added.id);
      expect((await call('add_natgw_acl', { ...rule(), policy: 'drop', priority: '30' })).code).toBe(9);
      const dup = await call('add_natgw_acl', rule());
      expect(json<Answer<null>>(dup)).toMatchObject({ code: 'AclEntry.Conflict', data: null });
      expect(dup.code).toBe(9);
      expect(dup.stderr).toMatch(new RegExp(`already has rule ${added.id} for ingress tcp 203\\.0\\.113\\.0/24 -> 172\\.16\\.1\\.0/24 ports 8080/8090`));
      const unconfirmed = await call('delete_natgw_acl', { acl_id: String(added.id) });
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.stderr).toMatch(/needs confirmation: rerun with --yes/);
      expect(await count('houyi', 'natgw_acl')).toBe(before + 1);
    } finally {
      const del = await call('delete_natgw_acl', { acl_id: String(added.id), natgw_id: natgw.natgw_id }, ['--yes', '--reason', 'integration test']);
      expect(del.stderr).toContain(`deleted ACL rule ${added.id} of NAT gateway ${natgw.natgw_id}\n`);
      expect(del.answer<AclRule>().id).toBe(added.id);
    }
    expect(await count('houyi', 'natgw_acl')).toBe(before);
    expect((await call('delete_natgw_acl', { acl_id: String(added.id) }, ['--yes'])).code).toBe(3);
  });

  test('icmp takes no ports: -1/-1 by default; --dry-run writes nothing', async () => {
    const before = await count('houyi', 'natgw_acl');
    const r = await call('add_natgw_acl', { natgw_id: natgw.natgw_id, direction: 'egress', protocol: 'icmp', src_cidr: '172.16.0.0/12', dst_cidr: '198.51.100.0/24' }, ['--dry-run']);
    const plan = json<{ dry_run: boolean; sql: Array<{ params: unknown[] }> }>(r);
    expect(plan.dry_run).toBe(true);
    expect(plan.sql[0]!.params).toEqual([natgw.natgw_id, 'egress', 'icmp', '172.16.0.0/12', '198.51.100.0/24', '-1/-1', 'accept', 100, null]);
    expect(await count('houyi', 'natgw_acl')).toBe(before);
  });

  test.each([
    [{ port_range: '0/80' }, /port_range: "0\/80" is not N\/M with ports 1-65535/],
    [{ port_range: '80/70000' }, /port_range: "80\/70000": ports go up to 65535/],
    [{ port_range: '90/80' }, /must not be above the second/],
    [{ port_range: '-1/-1' }, /is not N\/M/],
    [{ protocol: 'icmp', port_range: '80/80' }, /protocol icmp has no ports/],
    [{ protocol: 'gre' }, /protocol: "gre" is not one of tcp, udp, icmp, all/],
    [{ direction: 'both' }, /direction: "both" is not one of ingress, egress/],
    [{ src_cidr: '203.0.113.1/24' }, /src_cidr: .*host bits set/],
    [{ dst_cidr: '172.16.1.0/40' }, /dst_cidr: .*not a CIDR block/],
    [{ dst_cidr: '$(reboot)' }, /dst_cidr: .*not a CIDR block/],
    [{ priority: '500' }, /priority: "500" is not a whole number from 1 to 100/],
    [{ natgw_id: 'ngw-nope' }, /NAT gateway ngw-nope not found/],
  ])('rejected with nothing written: %j', async (change, msg) => {
    const before = await count('houyi', 'natgw_acl');
    const r = await call('add_natgw_acl', { ...rule(), ...change });
    expect([2, 3]).toContain(r.code);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await count('houyi', 'natgw_acl')).toBe(before);
  });

  test('usage errors and not-found are the documented kinds', async () => {
    expect((await call('add_natgw_acl', { ...rule(), port_range: '0/0' })).code).toBe(2);
    expect((await call('add_natgw_acl', { ...rule(), natgw_id: 'ngw-nope' })).code).toBe(3);
    const unknown = await call('add_natgw_acl', { ...rule(), colour: 'red' });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown parameter "colour"/);
  });
});
