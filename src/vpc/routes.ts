import { randomBytes } from 'node:crypto';
import type { Context } from '../core/context.js';
import type { Db } from '../remote/mysql.js';
import { ConflictError, NotFoundError, UsageError } from '../core/errors.js';
import type { PlannedChange } from '../core/mutation.js';
import type { Column } from '../core/output.js';
import { nearByPrefix } from '../core/near.js';
import { cidrBounds, cidrContainsIp, parseCidr, type Cidr } from './cidr.js';
import { cidrArg, descriptionArg, idArg, ipv4Arg } from './validate.js';

// Route entries of the VPC database (the seeds' go2vpc). Rules checked before any write:
//  - the destination is a CIDR block with its host bits zero;
//  - the next hop is an IPv4 address inside the VPC's own CIDR (not its network or broadcast
//    address), or the address Houyi gives one of the VPC's NAT gateways or ECS instances (the lab's
//    and classic-network hosts have addresses outside the VPC block);
//  - the destination is not the same as or inside one of the VPC's vSwitch blocks (that traffic
//    is local to the VPC; a custom route there would hijack it);
//  - (vpc, destination) is not routed yet.
// System routes come with the VPC and are never deleted from here.

/** A route as `vpc route list -o json` prints it (stable field names). */
export interface Route {
  route_id: string;
  vpc_id: string;
  dst_cidr: string;
  next_hop: string;
  kind: 'system' | 'custom';
  description: string | null;
  gmt_created: Date;
}

export interface RouteInput {
  vpc_id: string;
  dst_cidr: string;
  next_hop: string;
  description: string | null;
}

interface Vpc {
  vpc_id: string;
  cidr: string;
  status: string;
}

const SELECT_ROUTES = 'SELECT route_id, vpc_id, dst_cidr, next_hop, kind, description, gmt_created FROM route_entry';

/** Flags in, a syntactically valid route out (UsageError naming the flag otherwise). Pure. */
export function validateRouteInput(o: { vpc?: string; cidr?: string; nextHop?: string; description?: string }): RouteInput {
  if (!o.vpc) throw new UsageError('--vpc is required');
  if (!o.cidr) throw new UsageError('--cidr is required');
  if (!o.nextHop) throw new UsageError('--next-hop is required');
  ipv4Arg(o.nextHop, '--next-hop');
  return { vpc_id: idArg(o.vpc, '--vpc'), dst_cidr: cidrArg(o.cidr, '--cidr'), next_hop: o.nextHop, description: descriptionArg(o.description, '--description') };
}

/** Where the next hop is, when it is outside the VPC block: "NAT gateway ngw-…", "ECS vm-001". */
export type HopLookup = (vpcId: string, ip: string) => Promise<string | null>;

/**
 * The rules that need the VPC's own blocks. `hopOwner` is what Houyi knows of the next hop
 * (null when it is none of the VPC's NAT gateways or instances).
 */
export function checkAgainstVpc(r: RouteInput, vpcCidr: string, vswitchCidrs: readonly string[], hopOwner: string | null): void {
  const vpc = parseCidr(vpcCidr);
  if (typeof vpc === 'string') throw new ConflictError(`VPC ${r.vpc_id} has an invalid CIDR in the database: ${vpc}`);
  const hop = ipv4Arg(r.next_hop, '--next-hop');
  if (cidrContainsIp(vpc, hop)) {
    const { first, last } = cidrBounds(vpc);
    if (vpc.prefix <= 30 && (hop === first || hop === last)) {
      throw new UsageError(`--next-hop ${r.next_hop} is the ${hop === first ? 'network' : 'broadcast'} address of VPC ${r.vpc_id} (${vpc.text})`);
    }
  } else if (hopOwner === null) {
    throw new UsageError(`--next-hop ${r.next_hop} is neither inside VPC ${r.vpc_id} (${vpc.text}) nor one of its NAT gateways or ECS instances`);
  }
  const dst = parseCidr(r.dst_cidr) as Cidr;
  for (const text of vswitchCidrs) {
    const vsw = parseCidr(text);
    if (typeof vsw === 'string') continue;
    if (dst.prefix >= vsw.prefix && cidrContainsIp(vsw, dst.network)) {
      throw new ConflictError(`--cidr ${dst.text} is inside vSwitch block ${vsw.text} of VPC ${r.vpc_id}: that traffic stays in the VPC`);
    }
  }
}

export async function findVpc(db: Db, vpcId: string, lock = false): Promise<Vpc> {
  const [v] = await db.query<Vpc>(`SELECT vpc_id, cidr, status FROM vpc WHERE vpc_id = ?${lock ? ' FOR UPDATE' : ''}`, [vpcId]);
  if (v) return v;
  const near = await nearByPrefix(vpcId, async (like) =>
    (await db.query<{ vpc_id: string }>('SELECT vpc_id FROM vpc WHERE vpc_id LIKE ? ORDER BY vpc_id LIMIT 20', [like])).map((x) => x.vpc_id),
  );
  throw new NotFoundError(`VPC ${vpcId} not found in the vpc database`, near);
}

export async function listRoutes(db: Db, vpcId?: string): Promise<Route[]> {
  if (vpcId !== undefined) await findVpc(db, vpcId);
  return db.query<Route>(`${SELECT_ROUTES} WHERE (? IS NULL OR vpc_id = ?) ORDER BY vpc_id, kind, dst_cidr`, [vpcId ?? null, vpcId ?? null]);
}

const INSERT_ROUTE = "INSERT INTO route_entry (route_id, vpc_id, dst_cidr, next_hop, kind, description) VALUES (?, ?, ?, ?, 'custom', ?)";

/** Everything that can be checked before writing; throws the error the add would fail with. */
async function preflight(db: Db, r: RouteInput, lock: boolean, hopLookup: HopLookup): Promise<void> {
  const vpc = await findVpc(db, r.vpc_id, lock);
  if (vpc.status !== 'available') throw new ConflictError(`VPC ${r.vpc_id} is ${vpc.status}, not available`);
  const vsw = await db.query<{ cidr: string }>('SELECT cidr FROM vswitch WHERE vpc_id = ?', [r.vpc_id]);
  const vpcBlock = parseCidr(vpc.cidr);
  const inside = typeof vpcBlock !== 'string' && cidrContainsIp(vpcBlock, ipv4Arg(r.next_hop, '--next-hop'));
  checkAgainstVpc(r, vpc.cidr, vsw.map((v) => v.cidr), inside ? null : await hopLookup(r.vpc_id, r.next_hop));
  const [dup] = await db.query<Route>(`${SELECT_ROUTES} WHERE vpc_id = ? AND dst_cidr = ?`, [r.vpc_id, r.dst_cidr]);
  if (dup) throw new ConflictError(`VPC ${r.vpc_id} already routes ${r.dst_cidr} (route ${dup.route_id}, ${dup.kind}, next hop ${dup.next_hop})`);
}

/** Houyi's NAT gateways and live ECS instances of the VPC at that address. */
export function houyiHopLookup(ctx: Context): HopLookup {
  return async (vpcId, ip) => {
    const houyi = ctx.db('houyi');
    const [g] = await houyi.query<{ natgw_id: string }>("SELECT natgw_id FROM natgw WHERE vpc_id = ? AND ip = ? AND status = 'available'", [vpcId, ip]);
    if (g) return `NAT gateway ${g.natgw_id}`;
    const [v] = await houyi.query<{ name: string }>("SELECT name FROM vm WHERE vpc_id = ? AND ip = ? AND status <> 'deleted'", [vpcId, ip]);
    return v ? `ECS ${v.name}` : null;
  };
}

export function newRouteId(): string {
  return `rte-bp1${randomBytes(9).toString("hex").slice(0, 17)}`;
}

export async function planAddRoute(ctx: Context, r: RouteInput): Promise<PlannedChange<Route>> {
  const db = ctx.db('vpc');
  const hops = houyiHopLookup(ctx);
  await preflight(db, r, false, hops);
  const routeId = newRouteId();
  const params = [routeId, r.vpc_id, r.dst_cidr, r.next_hop, r.description];
  return {
    plan: { action: `add route ${r.dst_cidr} via ${r.next_hop} to VPC ${r.vpc_id}`, targets: [r.vpc_id], sql: [{ db: 'vpc', statement: INSERT_ROUTE, params }] },
    audit: { command: 'vpc route add', targets: [r.vpc_id], detail: { route_id: routeId, ...r } },
    apply: () =>
      db.transaction(async (tx) => {
        // Locking the VPC row queues concurrent adds to the same VPC behind one another.
        await preflight(tx, r, true, hops);
        await tx.execute(INSERT_ROUTE, params);
        const [created] = await tx.query<Route>(`${SELECT_ROUTES} WHERE route_id = ?`, [routeId]);
        return created!;
      }),
  };
}

/** A route named by its id, or by VPC and destination. */
export type RouteRef = { route_id: string } | { vpc_id: string; dst_cidr: string };

async function findRoute(db: Db, ref: RouteRef, lock: boolean): Promise<Route> {
  const forUpdate = lock ? ' FOR UPDATE' : '';
  const [r] =
    'route_id' in ref
      ? await db.query<Route>(`${SELECT_ROUTES} WHERE route_id = ?${forUpdate}`, [ref.route_id])
      : await db.query<Route>(`${SELECT_ROUTES} WHERE vpc_id = ? AND dst_cidr = ?${forUpdate}`, [ref.vpc_id, ref.dst_cidr]);
  if (r) return r;
  if ('route_id' in ref) throw new NotFoundError(`route ${ref.route_id} not found`);
  await findVpc(db, ref.vpc_id);
  throw new NotFoundError(`VPC ${ref.vpc_id} has no route for ${ref.dst_cidr}`);
}

/** The route to delete (found, and refused when a system route), and its plan. */
export async function planDeleteRoute(ctx: Context, ref: RouteRef): Promise<PlannedChange<Route> & { route: Route; what: string }> {
  const db = ctx.db('vpc');
  const route = await findRoute(db, ref, false);
  if (route.kind === 'system') throw new ConflictError(`route ${route.route_id} (${route.dst_cidr}) is a system route of ${route.vpc_id}; it goes with the VPC`);
  const what = `delete route ${route.route_id}: ${route.dst_cidr} via ${route.next_hop} in ${route.vpc_id}`;
  return {
    route,
    what,
    plan: { action: what, targets: [route.vpc_id], sql: [{ db: 'vpc', statement: DELETE_ROUTE, params: [route.route_id] }] },
    audit: { command: 'vpc route delete', targets: [route.vpc_id], detail: { route } },
    apply: async () => {
      await db.transaction(async (tx) => {
        await findRoute(tx, { route_id: route.route_id }, true);
        await tx.execute(DELETE_ROUTE, [route.route_id]);
      });
      return route;
    },
  };
}

const DELETE_ROUTE = "DELETE FROM route_entry WHERE route_id = ? AND kind = 'custom'";

export const ROUTE_COLUMNS: Column<Route>[] = [
  { header: 'ROUTE', value: (r) => r.route_id },
  { header: 'VPC', value: (r) => r.vpc_id },
  { header: 'DESTINATION', value: (r) => r.dst_cidr },
  { header: 'NEXT HOP', value: (r) => r.next_hop },
  { header: 'KIND', value: (r) => r.kind, tone: (r) => (r.kind === 'system' ? 'dim' : undefined) },
  { header: 'DESCRIPTION', value: (r) => r.description, wide: true },
  { header: 'CREATED', value: (r) => r.gmt_created, wide: true },
];
