import type { Db } from '../remote/mysql.js';
import { NotFoundError } from '../core/errors.js';
import { nearByPrefix, rankNear } from '../core/near.js';
import type { Column } from '../core/output.js';
import { findVpc } from './routes.js';

// The ids other commands take (`vpc route add --vpc`, `hyapi add_natgw_acl natgw_id=`, an
// instance's vswitch): VPCs with their vSwitch and route counts, vSwitches, NAT gateways.
// A filter naming something that does not exist is a not-found with near names, never an
// empty list that looks like "nothing there".

export interface VpcListRow {
  vpc_id: string;
  name: string;
  cidr: string;
  region: string;
  status: string;
  tunnel_id: number;
  vswitches: number;
  routes: number;
}

export async function listVpcs(db: Db, f: { region?: string } = {}): Promise<VpcListRow[]> {
  const region = f.region ?? null;
  const rows = await db.query<VpcListRow>(
    `SELECT v.vpc_id, v.name, v.cidr, v.region, v.status, v.tunnel_id,
            (SELECT COUNT(*) FROM vswitch s WHERE s.vpc_id = v.vpc_id) AS vswitches,
            (SELECT COUNT(*) FROM route_entry r WHERE r.vpc_id = v.vpc_id) AS routes
       FROM vpc v WHERE (? IS NULL OR v.region = ?) ORDER BY v.region, v.name, v.vpc_id`,
    [region, region],
  );
  if (rows.length === 0 && region !== null) {
    const known = (await db.query<{ region: string }>('SELECT DISTINCT region FROM vpc ORDER BY region')).map((r) => r.region);
    if (!known.includes(region)) throw new NotFoundError(`no VPC in region ${region}`, rankNear(region, known));
  }
  return rows.map((r) => ({ ...r, vswitches: Number(r.vswitches), routes: Number(r.routes) }));
}

export interface VswitchListRow {
  vswitch_id: string;
  vpc_id: string;
  vpc_name: string | null;
  zone: string;
  cidr: string;
}

export async function listVswitches(db: Db, f: { vpc?: string; zone?: string } = {}): Promise<VswitchListRow[]> {
  if (f.vpc !== undefined) await findVpc(db, f.vpc);
  const vpc = f.vpc ?? null;
  const zone = f.zone ?? null;
  const rows = await db.query<VswitchListRow>(
    `SELECT s.vswitch_id, s.vpc_id, v.name AS vpc_name, s.zone, s.cidr
       FROM vswitch s LEFT JOIN vpc v ON v.vpc_id = s.vpc_id
      WHERE (? IS NULL OR s.vpc_id = ?) AND (? IS NULL OR s.zone = ?)
      ORDER BY s.vpc_id, s.zone, s.vswitch_id`,
    [vpc, vpc, zone, zone],
  );
  if (rows.length === 0 && zone !== null) {
    const known = (await db.query<{ zone: string }>('SELECT DISTINCT zone FROM vswitch ORDER BY zone')).map((r) => r.zone);
    if (!known.includes(zone)) throw new NotFoundError(`no vSwitch in zone ${zone}`, rankNear(zone, known));
  }
  return rows;
}

export interface NatgwListRow {
  natgw_id: string;
  vpc_id: string;
  zone_id: number;
  ip: string;
  status: string;
  acl_rules: number;
}

/**
 * NAT gateways (houyi.natgw), optionally of one VPC. `vpcExists` answers whether a VPC id with
 * no gateway is real (the vpc database), so a typo is a not-found and a VPC without a gateway
 * an empty list.
 */
export async function listNatgws(db: Db, f: { vpc_id?: string }, vpcExists?: (id: string) => Promise<boolean>): Promise<NatgwListRow[]> {
  const vpc = f.vpc_id ?? null;
  const rows = await db.query<NatgwListRow>(
    `SELECT g.natgw_id, g.vpc_id, g.zone_id, g.ip, g.status,
            (SELECT COUNT(*) FROM natgw_acl a WHERE a.natgw_id = g.natgw_id) AS acl_rules
       FROM natgw g WHERE (? IS NULL OR g.vpc_id = ?) ORDER BY g.vpc_id, g.natgw_id`,
    [vpc, vpc],
  );
  if (rows.length === 0 && vpc !== null && !(vpcExists && (await vpcExists(vpc)))) {
    const near = await nearByPrefix(vpc, async (like) => (await db.query<{ v: string }>('SELECT DISTINCT vpc_id AS v FROM natgw WHERE vpc_id LIKE ? ORDER BY vpc_id LIMIT 20', [like])).map((r) => r.v));
    throw new NotFoundError(`no NAT gateway in VPC ${vpc}${vpcExists ? ' and no such VPC' : ''}`, near);
  }
  return rows.map((r) => ({ ...r, acl_rules: Number(r.acl_rules) }));
}


export const VPC_COLUMNS: Column<VpcListRow>[] = [
  { header: 'VPC_ID', value: (v) => v.vpc_id },
  { header: 'NAME', value: (v) => v.name },
  { header: 'CIDR', value: (v) => v.cidr },
  { header: 'REGION', value: (v) => v.region },
  { header: 'STATUS', value: (v) => v.status, tone: (v) => (v.status === 'available' ? 'ok' : 'warn') },
  { header: 'VSWITCHES', value: (v) => v.vswitches, align: 'right' },
  { header: 'ROUTES', value: (v) => v.routes, align: 'right' },
  { header: 'TUNNEL_ID', value: (v) => v.tunnel_id, wide: true, align: 'right' },
];

export const VSWITCH_COLUMNS: Column<VswitchListRow>[] = [
  { header: 'VSWITCH_ID', value: (s) => s.vswitch_id },
  { header: 'VPC_ID', value: (s) => s.vpc_id },
  { header: 'ZONE', value: (s) => s.zone },
  { header: 'CIDR', value: (s) => s.cidr },
  { header: 'VPC_NAME', value: (s) => s.vpc_name, wide: true },
];

export const NATGW_COLUMNS: Column<NatgwListRow>[] = [
  { header: 'NATGW_ID', value: (g) => g.natgw_id },
  { header: 'VPC_ID', value: (g) => g.vpc_id },
  { header: 'IP', value: (g) => g.ip },
  { header: 'STATUS', value: (g) => g.status, tone: (g) => (g.status === 'available' ? 'ok' : 'warn') },
  { header: 'ACL_RULES', value: (g) => g.acl_rules, align: 'right' },
  { header: 'ZONE_ID', value: (g) => g.zone_id, wide: true, align: 'right' },
];
