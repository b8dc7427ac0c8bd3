import type { Context } from '../core/context.js';
import type { LogicalDb } from '../core/config.js';
import { NotFoundError, UnavailableError, oneLine, RdsctlError } from '../core/errors.js';
import type { Section } from '../core/output.js';
import { presenceQuery, type Presence } from '../core/presence.js';
import type { Db } from '../remote/mysql.js';
import { custinsById, custinsPresence, findCustins, instancesOnHost, nearCustinsNames, type Custins } from '../rds/lookup.js';
import { isIpv4, rankNear } from '../core/near.js';
import { slbAddressPresence, slbByAddress } from '../slb/nodes.js';
import { machinePresence, machinesBy, nearMachineNames } from '../tianji/model.js';
import { ncPresence, nearNcNames, ncsBy, vmCountsOnNc, type Nc, type NcKey } from './nc.js';
import { vmRecord } from './records.js';
import { nearVmNames, vmPresence, vmsBy, type VmKey } from './vm.js';
import {
  chunkserverPresence,
  chunkserversBy,
  connStringPresence,
  custinsAddressPresence,
  custinsByAddress,
  custinsByConnString,
  lvsByVip,
  lvsVipPresence,
  natgwPresence,
  nearNetworkNames,
  natgwsBy,
  parseEndpoint,
  rdsProxyNodesBy,
  rdsProxyPresence,
  slbHostNamePresence,
  slbHostsByName,
  splitHostPort,
  vpcById,
  vpcPresence,
  vswitchById,
  vswitchPresence,
  type CustinsRef,
  type NearSource,
  type SlbHostRow,
} from './which-network.js';

// go2which: what a name is and where it lives, across every metadb the profile has. Each probe is
// an equality on a unique (or leading) index; IP-shaped names only probe IP columns, other names
// only name columns. A database the profile does not configure is skipped; one that fails is
// reported, because then "not found" could be wrong.

export type WhichKind =
  | 'vm'
  | 'nc'
  | 'custins'
  | 'lb_node'
  | 'proxy'
  | 'tianji_machine'
  | 'natgw'
  | 'vpc'
  | 'vswitch'
  | 'chunkserver'
  | 'rds_proxy_node';

/** What go2which answers for, in its help and in the not-found message. */
export const WHICH_KINDS_TEXT =
  'VM, NC, RDS instance (name, id, endpoint, connection string, VIP), SLB node or VIP, RDS proxy host, NAT gateway, VPC, vSwitch, chunkserver or Tianji machine';

export interface WhichMatch {
  kind: WhichKind;
  /** What the name matched: name, instance_id, ip, hostname, sn, ins_name, id, ip_addr, ip_adr, vip, conn_string, "instance ip:port", … */
  matched_on: string;
  /** The record's own name (vm name, NC hostname, ins_name, IP of an SLB node, machine hostname, gateway/VPC/vSwitch id). */
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

/** A probe, and the presence checks that find a row whenever it can (the same tables and conditions, core/presence.ts). */
interface Lookup {
  db: LogicalDb;
  probe: Probe;
  presence: Presence[];
}

const lookup = (db: LogicalDb, presence: Presence | Presence[], probe: Probe): Lookup => ({ db, probe, presence: Array.isArray(presence) ? presence : [presence] });

/** The probes for one name, by its shape: an endpoint, a host:port, an IP, or a name. */
function probesFor(ctx: Context, name: string): Lookup[] {
  const ep = parseEndpoint(name);
  const hp = ep ? undefined : splitHostPort(name);
  const ip = ep?.ip ?? (isIpv4(name) ? name : undefined);
  if (ip !== undefined) {
    return [
      lookup('houyi', vmPresence('ip', ip), (db) => vmMatches(db, ip, ['ip'])),
      lookup('houyi', ncPresence('ip', ip), (db, errors) => ncMatches(ctx, db, ip, ['ip'], errors)),
      lookup('houyi', natgwPresence('ip', ip), (db) => natgwMatches(db, 'ip', ip)),
      lookup('dbaas', custinsAddressPresence(ip, ep?.port), async (db) => custinsRefMatches(db, await custinsByAddress(db, ip, ep?.port))),
      lookup('dbaas', rdsProxyPresence('ip', ip), (db) => rdsProxyMatches(db, 'ip', ip)),
      lookup('xuanyuan', [...slbAddressPresence(ip), lvsVipPresence(ip)], (db) => slbMatches(db, ip, ep?.port)),
      lookup('tianji', machinePresence('ip', ip), (db) => machineMatches(db, ip, 'ip')),
      lookup('pangu', chunkserverPresence('ip', ip), (db) => chunkserverMatches(db, 'ip', ip)),
    ];
  }
  if (hp) {
    return [lookup('dbaas', connStringPresence(hp.host), async (db) => custinsRefMatches(db, (await custinsByConnString(db, hp.host)).filter((r) => r.detail.proxy_port == null || Number(r.detail.proxy_port) === hp.port)))];
  }
  return [
    lookup('houyi', vmPresence('name', name), (db) => vmMatches(db, name, ['name'])),
    lookup('houyi', vmPresence('instance_id', name), (db) => vmMatches(db, name, ['instance_id'])),
    lookup('houyi', ncPresence('hostname', name), (db, errors) => ncMatches(ctx, db, name, ['hostname'], errors)),
    lookup('houyi', ncPresence('sn', name), (db, errors) => ncMatches(ctx, db, name, ['sn'], errors)),
    lookup('houyi', natgwPresence('natgw_id', name), (db) => natgwMatches(db, 'natgw_id', name)),
    lookup('dbaas', custinsPresence(name), (db) => custinsMatches(db, name)),
    lookup('dbaas', connStringPresence(name), async (db) => custinsRefMatches(db, await custinsByConnString(db, name))),
    lookup('dbaas', rdsProxyPresence('hostname', name), (db) => rdsProxyMatches(db, 'hostname', name)),
    lookup('xuanyuan', slbHostNamePresence(name), (db) => slbNameMatches(db, name)),
    lookup('tianji', machinePresence('hostname', name), (db) => machineMatches(db, name, 'hostname')),
    lookup('pangu', chunkserverPresence('hostname', name), (db) => chunkserverMatches(db, 'hostname', name)),
    lookup('vpc', [vpcPresence(name), vswitchPresence(name)], (db) => vpcMatches(db, name)),
  ];
}

/**
 * The lookups of one metadb that can find something. With more than one presence check, one
 * statement asks them all (one round trip instead of one per lookup and key); a lookup runs only
 * when one of its checks found a row. If that statement fails (a table this metadb lacks), every
 * lookup runs and reports its own error, as without it.
 */
async function worthRunning(db: Db, list: Lookup[]): Promise<Lookup[]> {
  const checks = list.flatMap((l) => l.presence);
  if (checks.length < 2) return list;
  let found: Set<number>;
  try {
    const q = presenceQuery(checks);
    found = new Set((await db.query<{ g: number }>(q.sql, q.params)).map((r) => Number(r.g)));
  } catch {
    return list;
  }
  const out: Lookup[] = [];
  let i = 0;
  for (const l of list) {
    if (l.presence.some((_, k) => found.has(i + k))) out.push(l);
    i += l.presence.length;
  }
  return out;
}

export async function which(ctx: Context, name: string): Promise<WhichResult> {
  const lookups = probesFor(ctx, name);
  const configured = ctx.profile().databases;
  // Each metadb's lookups run in turn on its one connection, after one presence statement for all
  // of them; the metadbs are asked at the same time, so their connections and queries overlap.
  // Matches and errors still come in probe order.
  const byDb = new Map<LogicalDb, Lookup[]>();
  for (const l of lookups) if (configured[l.db]) byDb.set(l.db, [...(byDb.get(l.db) ?? []), l]);
  const perDb = await Promise.all(
    [...byDb].map(async ([dbName, list]) => {
      const out: Array<{ matches: WhichMatch[]; errors: string[] }> = [];
      const db = ctx.db(dbName);
      for (const { probe } of await worthRunning(db, list)) {
        const errors: string[] = [];
        try {
          out.push({ matches: await probe(db, errors), errors });
        } catch (e) {
          noteError(errors, dbName, e);
          out.push({ matches: [], errors });
        }
      }
      return out;
    }),
  );
  const results = perDb.flat();
  const matches = dedupe(results.flatMap((r) => r.matches));
  const errors: string[] = [];
  for (const e of results.flatMap((r) => r.errors)) if (!errors.includes(e)) errors.push(e);
  if (matches.length === 0) {
    if (errors.length) throw new UnavailableError(`"${name}" not found in what could be read; ${errors.join('; ')}`);
    throw new NotFoundError(`"${name}" is not a known ${WHICH_KINDS_TEXT}`, await nearNames(ctx, name));
  }
  return { query: name, matches, errors };
}

/** One instance reached two ways (its endpoint is both conn_ip and the route's address) is one match. */
function dedupe(matches: WhichMatch[]): WhichMatch[] {
  const out: WhichMatch[] = [];
  for (const m of matches) {
    const prev = out.find((o) => o.kind === m.kind && o.name === m.name && o.kind === 'custins');
    if (prev && prev.matched_on !== m.matched_on) {
      prev.matched_on = `${prev.matched_on}, ${m.matched_on}`;
      prev.related.via = [...((prev.related.via as unknown[]) ?? []), ...((m.related.via as unknown[]) ?? [])];
    } else if (!prev) out.push(m);
  }
  return out;
}

async function vmMatches(db: Db, name: string, keys: VmKey[]): Promise<WhichMatch[]> {
  const out: WhichMatch[] = [];
  for (const key of keys) {
    for (const vm of await vmsBy(db, key, name)) {
      out.push({
        kind: 'vm',
        matched_on: key,
        name: vm.name,
        record: { ...vmRecord(vm) },
        // The record now holds these too; related keeps them for one release (README).
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

function custinsMatch(c: Custins, matched_on: string, via?: Array<Record<string, unknown>>): WhichMatch {
  return {
    kind: 'custins',
    matched_on,
    name: c.ins_name,
    record: { id: c.id, ins_name: c.ins_name, engine: c.engine, version: c.version, class_code: c.class_code, status: c.status, zone: c.zone, network_type: c.network_type, conn_ip: c.conn_ip, conn_port: c.conn_port },
    related: {
      master: c.hosts.find((h) => h.role === 'master')?.host_name ?? null,
      slave: c.hosts.find((h) => h.role === 'slave')?.host_name ?? null,
      ...(via ? { via } : {}),
      instances: c.hosts,
    },
  };
}

async function custinsMatches(db: Db, name: string): Promise<WhichMatch[]> {
  return (await findCustins(db, name)).map(({ custins, matched_on }) => custinsMatch(custins, matched_on));
}

/** The instances that network records lead to, with the record that matched under related.via. */
async function custinsRefMatches(db: Db, refs: CustinsRef[]): Promise<WhichMatch[]> {
  const out: WhichMatch[] = [];
  for (const ref of refs) {
    const c = await custinsById(db, ref.custins_id);
    if (c) out.push(custinsMatch(c, ref.via, [{ matched_on: ref.via, ...ref.detail }]));
  }
  return out;
}

async function slbMatches(db: Db, ip: string, port?: number): Promise<WhichMatch[]> {
  const out: WhichMatch[] = [];
  const { nodes, proxies } = await slbByAddress(db, ip);
  // With a port, a node answers only for the port its service listens on.
  const onPort = (p: unknown): boolean => port === undefined || Number(p) === port;
  for (const n of nodes) if (onPort(n.service_port)) out.push({ kind: 'lb_node', matched_on: port === undefined ? 'ip_addr' : 'ip_addr:service_port', name: String(n.ip_addr), record: n, related: { cluster: n.cluster } });
  for (const p of proxies) if (onPort(p.service_port)) out.push({ kind: 'proxy', matched_on: port === undefined ? 'ip_adr' : 'ip_adr:service_port', name: String(p.ip_adr), record: p, related: { cluster: p.cluster } });
  // A VIP is served by an LVS pair on any port.
  for (const n of await lvsByVip(db, ip)) out.push(slbHostMatch(n, 'vip'));
  return out;
}

async function slbNameMatches(db: Db, name: string): Promise<WhichMatch[]> {
  return (await slbHostsByName(db, name)).map((n) => slbHostMatch(n, 'hostname'));
}

function slbHostMatch(n: SlbHostRow, matched_on: string): WhichMatch {
  const { kind, cluster, ...record } = n;
  return { kind, matched_on, name: n.address, record, related: { cluster } };
}

async function rdsProxyMatches(db: Db, key: 'hostname' | 'ip', value: string): Promise<WhichMatch[]> {
  return (await rdsProxyNodesBy(db, key, value)).map((p) => ({
    kind: 'rds_proxy_node' as const,
    matched_on: key,
    name: p.hostname,
    record: { hostname: p.hostname, ip: p.ip, ssh_port: p.ssh_port, status: p.status },
    related: { data_routes: Number(p.routes) },
  }));
}

async function natgwMatches(db: Db, key: 'natgw_id' | 'ip', value: string): Promise<WhichMatch[]> {
  return (await natgwsBy(db, key, value)).map((g) => ({
    kind: 'natgw' as const,
    matched_on: key,
    name: g.natgw_id,
    record: { natgw_id: g.natgw_id, ip: g.ip, status: g.status, zone_id: g.zone_id },
    related: { vpc_id: g.vpc_id, acl_rules: Number(g.acl_rules) },
  }));
}

async function vpcMatches(db: Db, name: string): Promise<WhichMatch[]> {
  const out: WhichMatch[] = [];
  const v = await vpcById(db, name);
  if (v) {
    out.push({ kind: 'vpc', matched_on: 'vpc_id', name: v.vpc.vpc_id, record: { ...v.vpc }, related: { vswitches: v.vswitches.map((s) => ({ vswitch_id: s.vswitch_id, zone: s.zone, cidr: s.cidr })) } });
  }
  const s = await vswitchById(db, name);
  if (s) {
    out.push({ kind: 'vswitch', matched_on: 'vswitch_id', name: s.vswitch.vswitch_id, record: { ...s.vswitch }, related: { vpc_name: s.vpc?.name ?? null, vpc_cidr: s.vpc?.cidr ?? null } });
  }
  return out;
}

async function chunkserverMatches(db: Db, key: 'hostname' | 'ip', value: string): Promise<WhichMatch[]> {
  return (await chunkserversBy(db, key, value)).map((c) => ({
    kind: 'chunkserver' as const,
    matched_on: key,
    name: c.hostname,
    record: { hostname: c.hostname, ip: c.ip, status: c.status, last_heartbeat: c.last_heartbeat },
    related: { cluster: c.cluster, disks: Number(c.disks), disks_not_ok: Number(c.disks_not_ok) },
  }));
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
  if (!isIpv4(name)) {
    const net = (db: LogicalDb, list: NearSource[]): void => {
      if (configured[db]) for (const s of list) sources.push(soft(nearNetworkNames(ctx.db(db), s, name)));
    };
    net('houyi', ['natgw']);
    net('vpc', ['vpc', 'vswitch']);
    net('pangu', ['chunkserver']);
    net('xuanyuan', ['lb_node', 'proxy']);
    net('dbaas', ['rds_proxy_node']);
  }
  return rankNear(name, (await Promise.all(sources)).flat());
}

function flat(v: unknown): unknown {
  return v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v;
}

export function whichSections(r: WhichResult, prefix = ''): Section[] {
  const sections: Section[] = [];
  for (const m of r.matches) {
    const tables = Object.entries(m.related).filter(([, v]) => Array.isArray(v)) as Array<[string, Array<Record<string, unknown>>]>;
    sections.push({
      title: `${prefix}${m.kind} ${m.name} (matched on ${m.matched_on})`,
      // A related field the record already shows (a VM's nc, cluster, zone) is shown once.
      fields: [...Object.entries(m.record), ...Object.entries(m.related).filter(([k, v]) => !Array.isArray(v) && !(k in m.record))].map(([k, v]): [string, unknown] => [k, flat(v)]),
    });
    for (const [k, rows] of tables) {
      const headers = rows[0] ? Object.keys(rows[0]) : [];
      sections.push({ title: `${prefix}${m.kind} ${m.name} ${k}`, table: { headers: headers.map((h) => h.toUpperCase()), rows: rows.map((row) => headers.map((h) => flat(row[h]))) }, empty: '(none)' });
    }
  }
  if (r.errors.length) sections.push({ title: `${prefix}Errors`, fields: r.errors.map((e, n): [string, unknown] => [String(n + 1), e]) });
  return sections;
}
