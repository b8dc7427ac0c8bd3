import type { Context } from '../core/context.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { expandNodeSet, type GroupResolver } from '../remote/nodeset.js';
import type { HostTarget } from '../remote/ssh-types.js';
import { isIpv4 } from '../core/near.js';
import { nearNcNames, ncsInGroup, ncTarget, resolveNcNames, type Nc } from './nc.js';
import { nearVmNames, vmsIn, type Vm } from './vm.js';

// go2nc's targets: a ClusterShell node set of NC hostnames, IPs or SNs, with @cluster:NAME and
// @zone:NAME groups from houyi (@NAME: the profile's group_source, cluster by default; NAME * for
// every NC of the source). An IP that houyi does not know is still a host (the jump host
// reaches any address); any other unknown name is an error with near matches.

export function houyiGroups(ctx: Context): GroupResolver {
  return async (kind, name) => {
    const source = kind || ctx.profile().group_source || 'cluster';
    if (source !== 'cluster' && source !== 'zone') {
      throw new UsageError(`group "@${kind}:${name}": group sources are cluster and zone (@cluster:NAME, @zone:NAME, @NAME)`);
    }
    return ncsInGroup(ctx.db('houyi'), source, name);
  };
}

export interface NcFilter {
  /** Keep NCs whose houyi status is one of these (--status online,maintain). */
  status?: string[];
  /** Drop NCs that houyi marks locked (--skip-locked). */
  skipLocked?: boolean;
}

export interface FilteredTargets {
  targets: HostTarget[];
  /** Hosts left out by a filter, with why: "offline", "locked", "not in houyi". */
  skipped: Array<{ host: string; why: string }>;
}

export const NC_STATUSES = ['online', 'offline', 'maintain', 'locked'] as const;

/** go2nc's targets after the metadb-state filters; the skipped hosts are returned to be named. */
export async function resolveFilteredNcTargets(ctx: Context, expr: string, filter: NcFilter): Promise<FilteredTargets> {
  const all = await resolveNcEntries(ctx, expr);
  if (!filter.status && !filter.skipLocked) return { targets: all.map((e) => e.target), skipped: [] };
  const targets: HostTarget[] = [];
  const skipped: FilteredTargets['skipped'] = [];
  for (const { target, nc } of all) {
    if (!nc) skipped.push({ host: target.name, why: 'not in houyi' });
    else if (filter.status && !filter.status.includes(nc.status)) skipped.push({ host: target.name, why: nc.status });
    else if (filter.skipLocked && nc.locked) skipped.push({ host: target.name, why: 'locked' });
    else targets.push(target);
  }
  if (targets.length === 0) {
    throw new UsageError(`node set "${expr}": no host left after ${filter.status ? `--status ${filter.status.join(',')}` : ''}${filter.status && filter.skipLocked ? ' and ' : ''}${filter.skipLocked ? '--skip-locked' : ''} (${skipped.length} skipped)`);
  }
  return { targets, skipped };
}

export async function resolveNcTargets(ctx: Context, expr: string): Promise<HostTarget[]> {
  return (await resolveNcEntries(ctx, expr)).map((e) => e.target);
}

async function resolveNcEntries(ctx: Context, expr: string): Promise<Array<{ target: HostTarget; nc?: Nc }>> {
  const names = await expandNodeSet(expr, houyiGroups(ctx));
  // Addresses alone need no metadb: `go2nc 10.0.0.5 -- uptime` works without a houyi connection.
  const needDb = names.some((n) => !isIpv4(n)) || ctx.profile().databases.houyi !== undefined;
  const { found, missing } = needDb ? await resolveNcNames(ctx.db('houyi'), names) : { found: new Map<string, Nc>(), missing: names };
  const unknown = missing.filter((n) => !isIpv4(n));
  if (unknown.length > 0) {
    const near = await nearNcNames(ctx.db('houyi'), unknown[0]!);
    const what = unknown.length === 1 ? `NC "${unknown[0]}"` : `${unknown.length} NCs (${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''})`;
    throw new NotFoundError(`${what} not found in houyi (by hostname, IP or SN)`, near);
  }
  const port = ctx.profile().ssh.port;
  const targets: Array<{ target: HostTarget; nc?: Nc }> = [];
  const seen = new Set<string>();
  for (const n of names) {
    const nc = found.get(n);
    const t = nc ? ncTarget(nc) : { name: n, address: n, port };
    const key = `${t.address}:${t.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push(nc ? { target: t, nc } : { target: t });
  }
  if (targets.length === 0) throw new UsageError(`node set "${expr}" resolves to no hosts`);
  return targets;
}

// go2vm's targets: a node set of VM names, instance IDs or IPs (same syntax as go2nc), with
// @cluster:NAME, @zone:NAME and @nc:NAME groups meaning the VMs (not deleted) on those NCs.

export function vmGroups(ctx: Context): GroupResolver {
  return async (kind, name) => {
    const source = kind || ctx.profile().group_source || 'cluster';
    const db = ctx.db('houyi');
    if (source === 'nc') {
      if (name === '*') return (await db.query<{ name: string }>("SELECT name FROM vm WHERE status <> 'deleted' ORDER BY name")).map((r) => r.name);
      const rows = await db.query<{ name: string }>("SELECT v.name FROM vm v JOIN nc n ON n.id = v.nc_id WHERE n.hostname = ? AND v.status <> 'deleted' ORDER BY v.name", [name]);
      if (rows.length === 0 && (await db.query('SELECT id FROM nc WHERE hostname = ?', [name])).length === 0) {
        throw new NotFoundError(`NC "${name}" not found in houyi`, (await nearNcNames(db, name)).map((n) => `@nc:${n}`));
      }
      return rows.map((r) => r.name);
    }
    if (source !== 'cluster' && source !== 'zone') throw new UsageError(`group "@${kind}:${name}": VM group sources are nc, cluster and zone`);
    const ncs = await ncsInGroup(db, source, name);
    if (ncs.length === 0) return [];
    const rows = await db.query<{ name: string }>("SELECT v.name FROM vm v JOIN nc n ON n.id = v.nc_id WHERE n.hostname IN (?) AND v.status <> 'deleted' ORDER BY v.name", [ncs]);
    return rows.map((r) => r.name);
  };
}

/** VMs named by a node set, each found by name, instance ID or IP (batched: three queries at most). */
export async function resolveVms(ctx: Context, expr: string): Promise<Vm[]> {
  // A single name that is no node set (no brackets, operators or @) is looked up as written, so a
  // mistyped or hostile name is "not found" with near matches, as it always was.
  const names = /[[\],!&^@]/.test(expr) ? await expandNodeSet(expr, vmGroups(ctx)) : [expr];
  const db = ctx.db('houyi');
  const found = new Map<string, Vm>();
  for (const key of ['name', 'instance_id', 'ip'] as const) {
    const missing = names.filter((n) => !found.has(n));
    if (missing.length === 0) break;
    for (const vm of await vmsIn(db, key, missing)) found.set(vm[key], vm);
  }
  const unknown = names.filter((n) => !found.has(n));
  if (unknown.length > 0) {
    const near = await nearVmNames(db, unknown[0]!);
    const what = unknown.length === 1 ? `VM "${unknown[0]}"` : `${unknown.length} VMs (${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''})`;
    throw new NotFoundError(`${what} not found in houyi (by name, instance ID or IP)`, near);
  }
  const seen = new Set<number>();
  const out: Vm[] = [];
  for (const n of names) {
    const vm = found.get(n)!;
    if (seen.has(vm.id)) continue;
    seen.add(vm.id);
    out.push(vm);
  }
  if (out.length === 0) throw new UsageError(`node set "${expr}" resolves to no VMs`);
  return out;
}
