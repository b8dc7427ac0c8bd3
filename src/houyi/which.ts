import type { Context } from '../core/context.js';
import type { LogicalDb } from '../core/config.js';
import { NotFoundError, UnavailableError, oneLine, RdsctlError } from '../core/errors.js';
import type { Section } from '../core/output.js';
import type { Db } from '../remote/mysql.js';
import { findCustins, instancesOnHost, nearCustinsNames } from '../rds/lookup.js';
import { isIpv4, rankNear } from '../core/near.js';
import { slbByAddress } from '../slb/nodes.js';
import { machinesBy, nearMachineNames } from '../tianji/model.js';
import { nearNcNames, ncsBy, vmCountsOnNc, type Nc, type NcKey } from './nc.js';
import { nearVmNames, vmsBy, type VmKey } from './vm.js';

// go2which: what a name is and where it lives, across every metadb the profile has. Each probe is
// an equality on a unique (or leading) index; IP-shaped names only probe IP columns, other names
// only name columns. A database the profile does not configure is skipped; one that fails is
// reported, because then "not found" could be wrong.

export type WhichKind = 'vm' | 'nc' | 'custins' | 'lb_node' | 'proxy' | 'tianji_machine';

export interface WhichMatch {
  kind: WhichKind;
  /** The column the name matched: name, instance_id, ip, hostname, sn, ins_name, id, ip_addr, ip_adr. */
  matched_on: string;
  /** The record's own name (vm name, NC hostname, ins_name, IP of an SLB node, machine hostname). */
  name: string;
  record: Record<string, unknown>;
  related: Record<string, unknown>;
}

export interface WhichResult {
  query: string;
  matches: WhichMatch[];
  /** Sources that could not be read: "xuanyuan: …". */
  errors: string[];
}

/** A probe of one metadb; what it could not read goes to `errors` (the match list stays usable). */
type Probe = (db: Db, errors: string[]) => Promise<WhichMatch[]>;

export async function which(ctx: Context, name: string): Promise<WhichResult> {
  const ip = isIpv4(name);
  const probes: Array<[LogicalDb, Probe]> = [
    ['houyi', (db) => vmMatches(db, name, ip ? ['ip'] : ['name', 'instance_id'])],
    ['houyi', (db, errors) => ncMatches(ctx, db, name, ip ? ['ip'] : ['hostname', 'sn'], errors)],
    ...(ip ? [] : ([['dbaas', (db: Db) => custinsMatches(db, name)]] as Array<[LogicalDb, Probe]>)),
    ...(ip ? ([['xuanyuan', (db: Db) => slbMatches(db, name)]] as Array<[LogicalDb, Probe]>) : []),
    ['tianji', (db) => machineMatches(db, name, ip ? 'ip' : 'hostname')],
  ];
  const configured = ctx.profile().databases;
  // Each metadb's probes run in turn on its one connection; the metadbs are asked at the same time,
  // so their connections and queries overlap. Matches and errors still come in probe order.
  const byDb = new Map<LogicalDb, Probe[]>();
  for (const [dbName, probe] of probes) if (configured[dbName]) byDb.set(dbName, [...(byDb.get(dbName) ?? []), probe]);
  const perDb = await Promise.all(
    [...byDb].map(async ([dbName, list]) => {
      const out: Array<{ matches: WhichMatch[]; errors: string[] }> = [];
      for (const probe of list) {
        const errors: string[] = [];
        try {
          out.push({ matches: await probe(ctx.db(dbName), errors), errors });
        } catch (e) {
          noteError(errors, dbName, e);
          out.push({ matches: [], errors });
        }
      }
      return out;
    }),
  );
  const results = perDb.flat();
  const matches = results.flatMap((r) => r.matches);
  const errors: string[] = [];
  for (const e of results.flatMap((r) => r.errors)) if (!errors.includes(e)) errors.push(e);
  if (matches.length === 0) {
    if (errors.length) throw new UnavailableError(`"${name}" not found in what could be read; ${errors.join('; ')}`);
    throw new NotFoundError(`"${name}" is not a known VM, NC, RDS instance, SLB node or Tianji machine`, await nearNames(ctx, name));
  }
  return { query: name, matches, errors };
}

async function vmMatches(db: Db, name: string, keys: VmKey[]): Promise<WhichMatch[]> {
  const out: WhichMatch[] = [];
  for (const key of keys) {
    for (const vm of await vmsBy(db, key, name)) {
      out.push({
        kind: 'vm',
        matched_on: key,
        name: vm.name,
        record: { name: vm.name, instance_id: vm.instance_id, status: vm.status, ip: vm.ip, vcpu: vm.vcpu, mem_mb: vm.mem_mb, image: vm.image, vpc_id: vm.vpc_id },
        related: { nc: vm.nc_hostname, nc_ip: vm.nc_ip, cluster: vm.cluster, zone: vm.zone },
      });
    }
  }
  return out;
}

function noteError(errors: string[], source: string, e: unknown): void {
  const line = `${source}: ${oneLine(e instanceof RdsctlError || e instanceof Error ? e.message : String(e))}`;
  if (!errors.includes(line)) errors.push(line);
}

async function ncMatches(ctx: Context, db: Db, name: string, keys: NcKey[], errors: string[]): Promise<WhichMatch[]> {
  const out: WhichMatch[] = [];
  for (const key of keys) {
    for (const nc of await ncsBy(db, key, [name])) out.push({ kind: 'nc', matched_on: key, name: nc.hostname, record: ncRecord(nc), related: await ncRelated(ctx, db, nc, errors) });
  }
  return out;
}

function ncRecord(nc: Nc): Record<string, unknown> {
  return { hostname: nc.hostname, ip: nc.ip, sn: nc.sn, status: nc.status, locked: nc.locked };
}

async function ncRelated(ctx: Context, db: Db, nc: Nc, errors: string[]): Promise<Record<string, unknown>> {
  const related: Record<string, unknown> = { cluster: nc.cluster, zone: nc.zone, vm_count: (await vmCountsOnNc(db, nc.id)).total };
  if (ctx.profile().databases.dbaas) {
    try {
      related.rds_instances = (await instancesOnHost(ctx.db('dbaas'), nc.hostname)).map((r) => ({ ins_name: r.ins_name, role: r.role, port: r.port, status: r.status }));
    } catch (e) {
      related.rds_instances = null;
      noteError(errors, 'dbaas', e);
    }
  }
  return related;
}

async function custinsMatches(db: Db, name: string): Promise<WhichMatch[]> {
  return (await findCustins(db, name)).map(({ custins: c, matched_on }) => ({
    kind: 'custins' as const,
    matched_on,
    name: c.ins_name,
    record: { id: c.id, ins_name: c.ins_name, engine: c.engine, version: c.version, class_code: c.class_code, status: c.status, zone: c.zone, network_type: c.network_type, conn_ip: c.conn_ip, conn_port: c.conn_port },
    related: {
      master: c.hosts.find((h) => h.role === 'master')?.host_name ?? null,
      slave: c.hosts.find((h) => h.role === 'slave')?.host_name ?? null,
      instances: c.hosts,
    },
  }));
}

async function slbMatches(db: Db, ip: string): Promise<WhichMatch[]> {
  const out: WhichMatch[] = [];
  const { nodes, proxies } = await slbByAddress(db, ip);
  for (const n of nodes) out.push({ kind: 'lb_node', matched_on: 'ip_addr', name: String(n.ip_addr), record: n, related: { cluster: n.cluster } });
  for (const p of proxies) out.push({ kind: 'proxy', matched_on: 'ip_adr', name: String(p.ip_adr), record: p, related: { cluster: p.cluster } });
  return out;
}

async function machineMatches(db: Db, name: string, key: 'hostname' | 'ip'): Promise<WhichMatch[]> {
  return (await machinesBy(db, key, name)).map((m) => ({
    kind: 'tianji_machine',
    matched_on: key,
    name: m.hostname,
    record: { hostname: m.hostname, ip: m.ip, status: m.status },
    related: { cluster: m.cluster, product: m.product, server_roles: m.server_roles },
  }));
}

/** Near names over every configured source, closest three overall. */
async function nearNames(ctx: Context, name: string): Promise<string[]> {
  const configured = ctx.profile().databases;
  const sources: Array<Promise<string[]>> = [];
  const soft = (p: Promise<string[]>): Promise<string[]> => p.catch(() => []);
  if (configured.houyi) sources.push(soft(nearVmNames(ctx.db('houyi'), name)), soft(nearNcNames(ctx.db('houyi'), name)));
  if (configured.dbaas && !isIpv4(name)) sources.push(soft(nearCustinsNames(ctx.db('dbaas'), name)));
  if (configured.tianji) sources.push(soft(nearMachineNames(ctx.db('tianji'), name)));
  return rankNear(name, (await Promise.all(sources)).flat());
}

function flat(v: unknown): unknown {
  return v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v;
}

export function whichSections(r: WhichResult): Section[] {
  const sections: Section[] = [];
  for (const m of r.matches) {
    const tables = Object.entries(m.related).filter(([, v]) => Array.isArray(v)) as Array<[string, Array<Record<string, unknown>>]>;
    sections.push({
      title: `${m.kind} ${m.name} (matched on ${m.matched_on})`,
      fields: [...Object.entries(m.record), ...Object.entries(m.related).filter(([, v]) => !Array.isArray(v))].map(([k, v]): [string, unknown] => [k, flat(v)]),
    });
    for (const [k, rows] of tables) {
      const headers = rows[0] ? Object.keys(rows[0]) : [];
      sections.push({ title: `${m.kind} ${m.name} ${k}`, table: { headers: headers.map((h) => h.toUpperCase()), rows: rows.map((row) => headers.map((h) => flat(row[h]))) }, empty: '(none)' });
    }
  }
  if (r.errors.length) sections.push({ title: 'Errors', fields: r.errors.map((e, n): [string, unknown] => [String(n + 1), e]) });
  return sections;
}
