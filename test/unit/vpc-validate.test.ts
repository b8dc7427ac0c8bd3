import { cidrBounds, cidrContainsIp, formatIpv4, parseCidr, parseIpv4, type Cidr } from '../../src/vpc/cidr.js';
import { NO_PORTS, parsePortRange, parsePriority, validateAclRule } from '../../src/vpc/natgw-acl.js';
import { ACTIONS, parseCall } from '../../src/commands/hyapi.js';
import { checkAgainstVpc, newRouteId, validateRouteInput } from '../../src/vpc/routes.js';
import { ConflictError, UsageError } from '../../src/core/errors.js';

describe('IPv4 and CIDR parsing', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.0.0.1', 0x0a000001],
    ['255.255.255.255', 0xffffffff],
    ['172.16.1.20', 0xac100114],
  ])('%s', (s, n) => {
    expect(parseIpv4(s)).toBe(n);
    expect(formatIpv4(n)).toBe(s);
  });

  it.each(['', '10.0.0', '10.0.0.0.1', '256.0.0.1', '010.0.0.1', '1.2.3.-4', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4\n', '0x1.2.3.4', '１.2.3.4', '1..3.4', '::1', '1.2.3.4;DROP'])('refuses %j', (s) => {
    expect(typeof parseIpv4(s)).toBe('string');
  });

  it.each([
    ['10.0.0.0/8', 8],
    ['0.0.0.0/0', 0],
    ['10.1.2.3/32', 32],
    ['172.16.0.0/12', 12],
    ['192.168.1.128/25', 25],
  ])('accepts %s', (s, prefix) => {
    const c = parseCidr(s) as Cidr;
    expect(c.text).toBe(s);
    expect(c.prefix).toBe(prefix);
  });

  it.each([
    ['10.0.0.1/24', /host bits set \(did you mean 10\.0\.0\.0\/24\?\)/],
    ['172.16.0.0/11', /host bits set/],
    ['10.0.0.0/33', /not a CIDR/],
    ['10.0.0.0/', /not a CIDR/],
    ['10.0.0.0', /not a CIDR/],
    ['10.0.0.0/08', /not a CIDR/],
    ['10.0.0.0/-1', /not a CIDR/],
    ['10.0.0.0/8/8', /not a CIDR/],
    ['300.0.0.0/8', /octet 300/],
    ["10.0.0.0/8' OR '1'='1", /not a CIDR/],
  ])('refuses %j', (s, msg) => {
    const c = parseCidr(s);
    expect(typeof c).toBe('string');
    expect(c).toMatch(msg);
  });

  it('containment and bounds', () => {
    const c = parseCidr('172.16.0.0/12') as Cidr;
    expect(cidrContainsIp(c, parseIpv4('172.31.255.255') as number)).toBe(true);
    expect(cidrContainsIp(c, parseIpv4('172.32.0.0') as number)).toBe(false);
    expect(cidrBounds(c)).toEqual({ first: parseIpv4('172.16.0.0'), last: parseIpv4('172.31.255.255') });
    expect(cidrContainsIp(parseCidr('0.0.0.0/0') as Cidr, 0xffffffff)).toBe(true);
  });
});

describe('NAT gateway ACL rules', () => {
  const base = { natgw_id: 'ngw-1', direction: 'ingress', protocol: 'tcp', src_cidr: '0.0.0.0/0', dst_cidr: '10.1.0.0/16', port_range: '443/443' };

  it('a valid rule, with defaults', () => {
    expect(validateAclRule(base)).toEqual({ ...base, policy: 'accept', priority: 100, description: null });
  });

  it('icmp and all have no ports: -1/-1, also when left out', () => {
    expect(parsePortRange(undefined, 'icmp')).toBe(NO_PORTS);
    expect(parsePortRange('-1/-1', 'all')).toBe(NO_PORTS);
    expect(() => parsePortRange('80/80', 'icmp')).toThrow(/has no ports/);
  });

  it.each(['1/65535', '80/80', '1024/65535'])('port range %s', (p) => expect(parsePortRange(p, 'udp')).toBe(p));

  it.each([
    ['0/80', /1-65535/],
    ['80/65536', /up to 65535/],
    ['90/80', /must not be above/],
    ['-1/-1', /1-65535/],
    ['80', /N\/M/],
    ['80-90', /N\/M/],
    ['080/90', /N\/M/],
    ['80/90/100', /N\/M/],
    ['99999999999/1', /N\/M/],
    [' 80/80', /N\/M/],
  ])('refuses port range %j', (p, msg) => {
    expect(() => parsePortRange(p, 'tcp')).toThrow(UsageError);
    expect(() => parsePortRange(p, 'tcp')).toThrow(msg);
  });

  it('tcp/udp need a port range', () => expect(() => parsePortRange(undefined, 'tcp')).toThrow(/required for protocol tcp/));

  it.each([
    [{ protocol: 'sctp' }, /protocol: "sctp" is not one of tcp, udp, icmp, all/],
    [{ direction: 'inbound' }, /direction: "inbound" is not one of ingress, egress/],
    [{ src_cidr: '10.0.0.1/8' }, /src_cidr: .*host bits/],
    [{ dst_cidr: 'any' }, /dst_cidr: .*not a CIDR/],
    [{ policy: 'allow' }, /policy/],
    [{ priority: '0' }, /priority/],
    [{ priority: '101' }, /priority/],
    [{ priority: '1e2' }, /priority/],
    [{ natgw_id: "ngw'; DROP TABLE natgw_acl; --" }, /natgw_id: .*not a valid id/],
    [{ description: 'two\nlines' }, /description: must be one line/],
    [{ natgw_id: '' }, /natgw_id: required/],
  ])('refuses %j', (change, msg) => {
    expect(() => validateAclRule({ ...base, ...change })).toThrow(msg);
  });

  it('the action table: names, params and required params for the hyapi dispatcher', () => {
    const acl = ACTIONS.filter((a) => a.acl);
    expect(acl.map((a) => [a.name, a.mutating])).toEqual([
      ['list_natgw_acl', false],
      ['add_natgw_acl', true],
      ['delete_natgw_acl', true],
    ]);
    const add = acl.find((a) => a.name === 'add_natgw_acl')!;
    expect(add.params.filter((p) => p.required).map((p) => p.name)).toEqual(['natgw_id', 'direction', 'protocol', 'src_cidr', 'dst_cidr']);
  });

  it('unknown, missing and malformed parameters are usage errors while parsing, before any context exists', () => {
    const words = (o: Record<string, string>): string[] => Object.entries(o).map(([k, v]) => `${k}=${v}`);
    expect(() => parseCall('add_natgw_acl', words({ ...base, prot: 'tcp' }))).toThrow(/unknown parameter "prot"/);
    expect(() => parseCall('add_natgw_acl', words({ natgw_id: 'ngw-1' }))).toThrow(/missing direction, protocol, src_cidr, dst_cidr/);
    expect(() => parseCall('add_natgw_acl', words({ ...base, port_range: '0/1' }))).toThrow(UsageError);
    expect(() => parseCall('delete_natgw_acl', ['acl_id=x'])).toThrow(/acl_id: "x" is not a rule id/);
    expect(parseCall('add_natgw_acl', words(base))).toMatchObject({ kind: 'acl-add', rule: { natgw_id: base.natgw_id } });
  });
});

describe('routes', () => {
  const vswitches = ['172.16.1.0/24', '172.16.2.0/24'];
  const r = (o: Partial<{ cidr: string; nextHop: string }> = {}) => validateRouteInput({ vpc: 'vpc-1', cidr: '10.200.0.0/16', nextHop: '172.16.1.20', ...o });

  it('flags are required and validated', () => {
    expect(r()).toEqual({ vpc_id: 'vpc-1', dst_cidr: '10.200.0.0/16', next_hop: '172.16.1.20', description: null });
    expect(() => validateRouteInput({ cidr: '10.0.0.0/8', nextHop: '1.2.3.4' })).toThrow(/--vpc is required/);
    expect(() => r({ cidr: '10.200.0.1/16' })).toThrow(/--cidr: .*host bits set/);
    expect(() => r({ nextHop: '172.16.1.256' })).toThrow(/--next-hop: /);
    expect(() => validateRouteInput({ vpc: 'vpc 1', cidr: '10.0.0.0/8', nextHop: '1.2.3.4' })).toThrow(/--vpc: .*not a valid id/);
  });

  it('next hop inside the VPC, not its network or broadcast address', () => {
    expect(() => checkAgainstVpc(r(), '172.16.0.0/12', vswitches, null)).not.toThrow();
    expect(() => checkAgainstVpc(r({ nextHop: '172.16.0.0' }), '172.16.0.0/12', vswitches, null)).toThrow(/network address/);
    expect(() => checkAgainstVpc(r({ nextHop: '172.31.255.255' }), '172.16.0.0/12', vswitches, null)).toThrow(/broadcast address/);
  });

  it('a next hop outside the VPC block only when Houyi knows it as the VPC\'s gateway or instance', () => {
    expect(() => checkAgainstVpc(r({ nextHop: '127.0.204.1' }), '172.16.0.0/12', vswitches, null)).toThrow(/neither inside VPC vpc-1 \(172\.16\.0\.0\/12\) nor one of its NAT gateways/);
    expect(() => checkAgainstVpc(r({ nextHop: '127.0.204.1' }), '172.16.0.0/12', vswitches, 'NAT gateway ngw-1')).not.toThrow();
  });

  it('a destination equal to or inside a vSwitch block is a conflict; a wider one is not', () => {
    expect(() => checkAgainstVpc(r({ cidr: '172.16.1.0/24' }), '172.16.0.0/12', vswitches, null)).toThrow(ConflictError);
    expect(() => checkAgainstVpc(r({ cidr: '172.16.1.128/25' }), '172.16.0.0/12', vswitches, null)).toThrow(/inside vSwitch block 172\.16\.1\.0\/24/);
    expect(() => checkAgainstVpc(r({ cidr: '0.0.0.0/0' }), '172.16.0.0/12', vswitches, null)).not.toThrow();
  });

  it('route ids look like the seed\'s', () => {
    expect(newRouteId()).toMatch(/^rte-bp1[0-9a-f]{17}$/);
    expect(newRouteId()).not.toBe(newRouteId());
  });
});
