import type { Presence } from '../core/presence.js';
import type { Db } from '../remote/mysql.js';
import type { HostTarget } from '../remote/ssh-types.js';
import { NotFoundError } from '../core/errors.js';
import { isIpv4, nearByPrefix, PROBE_LIMIT } from '../core/near.js';

// NCs (physical hosts) in the houyi metadb. An NC is named by hostname, IP or serial number; each
// lookup is an equality or IN on that column's unique index, in batches, so resolving a node set
// of a thousand names is a few indexed queries, not a thousand.

export type NcStatus = 'online' | 'offline' | 'maintain' | 'locked';

export interface Nc {
  id: number;
  hostname: string;
  ip: string;
  sn: string;
  cluster: string;
  zone: string;
  region: string;
  status: NcStatus;
  locked: boolean;
  lock_reason: string | null;
  cpu_total: number;
  cpu_allocated: number;
  mem_total_mb: number;
  mem_allocated_mb: number;
  disk_total_gb: number;
  ssh_port: number;
}

export type NcKey = 'hostname' | 'ip' | 'sn';

const NC_COLUMNS = `n.id, n.hostname, n.ip, n.sn, c.name AS cluster, z.name AS zone, z.region, n.status, n.locked,
       n.lock_reason, n.cpu_total, n.cpu_allocated, n.mem_total_mb, n.mem_allocated_mb, n.disk_total_gb, n.ssh_port
  FROM nc n JOIN cluster c ON c.id = n.cluster_id JOIN zone z ON z.id = n.zone_id`;
// By a key of nc: STRAIGHT_JOIN reads nc first through that key; left alone the optimizer may start
// from the two-row zone table and filter a whole zone's NCs.
const SELECT_NC_BY_KEY = `SELECT STRAIGHT_JOIN ${NC_COLUMNS}`;
// By zone/cluster name: the optimizer's order (the small table first) is the right one.
const SELECT_NC = `SELECT ${NC_COLUMNS}`;

// Column names come from this closed table only, never from input.
const KEY_COLUMN: Record<NcKey, string> = { hostname: 'n.hostname', ip: 'n.ip', sn: 'n.sn' };
const BATCH = 500;

/** Whether ncsBy(key, [value]) can find an NC: the same table and key (core/presence.ts). */
export function ncPresence(key: NcKey, value: string): Presence {
  return { from: `nc n WHERE ${KEY_COLUMN[key]} = ?`, params: [value] };
}

function toNc(r: Record<string, unknown>): Nc {
  return { ...(r as unknown as Nc), locked: Boolean(r.locked) };
}

export async function ncsBy(db: Db, key: NcKey, values: readonly string[]): Promise<Nc[]> {
  const out: Nc[] = [];
  const distinct = [...new Set(values)];
  for (let i = 0; i < distinct.length; i += BATCH) {
    const chunk = distinct.slice(i, i + BATCH);
    const rows = await db.query(`${SELECT_NC_BY_KEY} WHERE ${KEY_COLUMN[key]} IN (?)`, [chunk]);
    out.push(...rows.map(toNc));
  }
  return out;
}

/**
 * Resolve names to NCs: IP-shaped names by ip, the others by hostname, then what is left by sn.
 * Returns the NC for each name found (names in input order) and the names that matched nothing.
 */
export async function resolveNcNames(db: Db, names: readonly string[]): Promise<{ found: Map<string, Nc>; missing: string[] }> {
  const found = new Map<string, Nc>();
  const ips = names.filter(isIpv4);
  const others = names.filter((n) => !isIpv4(n));
  for (const nc of await ncsBy(db, 'ip', ips)) found.set(nc.ip, nc);
  for (const nc of await ncsBy(db, 'hostname', others)) found.set(nc.hostname, nc);
  const left = others.filter((n) => !found.has(n));
  for (const nc of await ncsBy(db, 'sn', left)) found.set(nc.sn, nc);
  return { found, missing: names.filter((n) => !found.has(n)) };
}

export async function findNc(db: Db, name: string): Promise<Nc> {
  const { found } = await resolveNcNames(db, [name]);
  const nc = found.get(name);
  if (nc) return nc;
  throw new NotFoundError(`NC "${name}" not found in houyi (by hostname, IP or SN)`, await nearNcNames(db, name));
}

/** Near hostnames (or IPs, for an IP-shaped name) for a name that matched nothing. */
export async function nearNcNames(db: Db, name: string): Promise<string[]> {
  const column = /^\d/.test(name) ? 'ip' : 'hostname';
  return nearByPrefix(name, async (pattern) => {
    const rows = await db.query<{ v: string }>(`SELECT ${column} AS v FROM nc WHERE ${column} LIKE ? ORDER BY ${column} LIMIT ${PROBE_LIMIT}`, [pattern]);
    return rows.map((r) => r.v);
  });
}

export interface NcFilter {
  zone?: string;
  cluster?: string;
}

export async function listNcs(db: Db, f: NcFilter = {}): Promise<Nc[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.zone !== undefined) {
    where.push('z.name = ?');
    params.push(f.zone);
  }
  if (f.cluster !== undefined) {
    where.push('c.name = ?');
    params.push(f.cluster);
  }
  const rows = await db.query(`${SELECT_NC}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY n.hostname`, params);
  return rows.map(toNc);
}

export type GroupKind = 'cluster' | 'zone';

/** Hostnames of the NCs in a cluster or zone. An unknown cluster/zone is a NotFoundError with near names. */
export async function ncsInGroup(db: Db, kind: GroupKind, name: string): Promise<string[]> {
  const table = kind === 'cluster' ? 'cluster' : 'zone';
  const column = kind === 'cluster' ? 'cluster_id' : 'zone_id';
  // @cluster:* is every NC in some cluster (ClusterShell's "all nodes" of a group source).
  if (name === '*') return (await db.query<{ hostname: string }>(`SELECT hostname FROM nc WHERE ${column} IS NOT NULL ORDER BY hostname`)).map((r) => r.hostname);
  const group = await db.query<{ id: number }>(`SELECT id FROM ${table} WHERE name = ?`, [name]);
  if (group.length === 0) {
    const near = await nearByPrefix(name, async (pattern) => {
      const rows = await db.query<{ name: string }>(`SELECT name FROM ${table} WHERE name LIKE ? ORDER BY name LIMIT ${PROBE_LIMIT}`, [pattern]);
      return rows.map((r) => r.name);
    });
    throw new NotFoundError(`${kind} "${name}" not found in houyi`, near.map((n) => `@${kind}:${n}`));
  }
  const rows = await db.query<{ hostname: string }>(`SELECT hostname FROM nc WHERE ${column} = ? ORDER BY hostname`, [group[0]!.id]);
  return rows.map((r) => r.hostname);
}

export function ncTarget(nc: Pick<Nc, 'hostname' | 'ip' | 'ssh_port'>): HostTarget {
  return { name: nc.hostname, address: nc.ip, port: nc.ssh_port };
}

export interface VmCounts {
  total: number;
  by_status: Record<string, number>;
}

export async function vmCountsOnNc(db: Db, ncId: number): Promise<VmCounts> {
  const rows = await db.query<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM vm WHERE nc_id = ? GROUP BY status', [ncId]);
  const by_status: Record<string, number> = {};
  let total = 0;
  for (const r of rows) {
    by_status[r.status] = Number(r.n);
    if (r.status !== 'deleted') total += Number(r.n);
  }
  return { total, by_status };
}
