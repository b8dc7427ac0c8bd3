import type { Presence } from '../core/presence.js';
import type { Db } from '../remote/mysql.js';
import { isIpv4, nearByPrefix } from '../core/near.js';

// go2which probes for the network side of a name: an endpoint ip:port, a connection string, a
// VIP, a NAT gateway, a VPC or vSwitch id, a chunkserver, and the host names of the SLB and RDS
// proxy layers (lvs-NN, proxy-NN). Each probe is one statement, an equality on an index
// (fixtures/schema/*/..-go2which.sql, xuanyuan/10-hostname.sql); column names are fixed text.

export interface Endpoint {
  ip: string;
  port: number;
}

/** `IP:PORT` with an IPv4 address and a port 1…65535; anything else is not an endpoint. */
export function parseEndpoint(name: string): Endpoint | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(name);
  if (!m || !isIpv4(m[1]!)) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { ip: m[1]!, port } : undefined;
}

/** A connection string with its port (`rm-x.mysql.rds.aliyuncs.com:3306`): the host part and port. */
export function splitHostPort(name: string): { host: string; port: number } | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9.-]{0,252}):(\d{1,5})$/.exec(name);
  if (!m || isIpv4(m[1]!)) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : undefined;
}

/** The custins a network record leads to, and what about it matched. */
export interface CustinsRef {
  custins_id: number;
  /** How the name matched, e.g. "conn_ip:conn_port", "instance ip:port", "slb vip:vport". */
  via: string;
  detail: Record<string, unknown>;
}

const CUSTINS_BY: Array<{ via: string; ipOnly: string; withPort: string; presence: { ipOnly: string; withPort: string } }> = [
  {
    via: 'conn_ip:conn_port',
    ipOnly: 'SELECT id AS custins_id, conn_ip, conn_port FROM custins WHERE conn_ip = ?',
    withPort: 'SELECT id AS custins_id, conn_ip, conn_port FROM custins WHERE conn_ip = ? AND conn_port = ?',
    presence: { ipOnly: 'custins WHERE conn_ip = ?', withPort: 'custins WHERE conn_ip = ? AND conn_port = ?' },
  },
  {
    via: 'data_route proxy_ip:proxy_port',
    ipOnly: 'SELECT custins_id, conn_string, proxy_host, proxy_ip, proxy_port, status FROM rds_data_route WHERE proxy_ip = ?',
    withPort: 'SELECT custins_id, conn_string, proxy_host, proxy_ip, proxy_port, status FROM rds_data_route WHERE proxy_ip = ? AND proxy_port = ?',
    presence: { ipOnly: 'rds_data_route WHERE proxy_ip = ?', withPort: 'rds_data_route WHERE proxy_ip = ? AND proxy_port = ?' },
  },
  {
    via: 'instance ip:port',
    ipOnly: '',
    withPort: "SELECT custins_id, role, host_name, ip, port, status FROM instance WHERE ip = ? AND port = ? AND status <> 'deleted'",
    presence: { ipOnly: '', withPort: "instance WHERE ip = ? AND port = ? AND status <> 'deleted'" },
  },
  {
    via: 'slb vip:vport',
    ipOnly: 'SELECT custins_id, slb_id, vip, vport, vpc_id, vswitch_id, status FROM custins_slb WHERE vip = ?',
    withPort: 'SELECT custins_id, slb_id, vip, vport, vpc_id, vswitch_id, status FROM custins_slb WHERE vip = ? AND vport = ?',
    presence: { ipOnly: 'custins_slb WHERE vip = ?', withPort: 'custins_slb WHERE vip = ? AND vport = ?' },
  },
  {
    via: 'vpc vip:vport',
    ipOnly: 'SELECT custins_id, vpc_id, vswitch_id, vip, vport, target_ip, target_port FROM vpc_custins_mapping WHERE vip = ? AND live_key = 1',
    withPort: 'SELECT custins_id, vpc_id, vswitch_id, vip, vport, target_ip, target_port FROM vpc_custins_mapping WHERE vip = ? AND vport = ? AND live_key = 1',
    presence: { ipOnly: 'vpc_custins_mapping WHERE vip = ? AND live_key = 1', withPort: 'vpc_custins_mapping WHERE vip = ? AND vport = ? AND live_key = 1' },
  },
];

/**
 * The custins an address leads to in dbaas: with a port, exact endpoints; without, the VIPs and
 * connection addresses on that IP (an instance's own IP is an NC's, which go2which finds as an NC).
 */
export async function custinsByAddress(db: Db, ip: string, port?: number): Promise<CustinsRef[]> {
  const out: CustinsRef[] = [];
  for (const q of CUSTINS_BY) {
    const sql = port === undefined ? q.ipOnly : q.withPort;
    if (!sql) continue;
    for (const r of await db.query<Record<string, unknown>>(sql, port === undefined ? [ip] : [ip, port])) {
      const { custins_id, ...detail } = r;
      out.push({ custins_id: Number(custins_id), via: q.via, detail });
    }
  }
  return out;
}

/** Whether custinsByAddress(ip, port) can find anything: the same tables and conditions (core/presence.ts). */
export function custinsAddressPresence(ip: string, port?: number): Presence[] {
  return CUSTINS_BY.map((q) => (port === undefined ? q.presence.ipOnly : q.presence.withPort))
    .filter((from) => from !== '')
    .map((from) => ({ from, params: port === undefined ? [ip] : [ip, port] }));
}

export function connStringPresence(connString: string): Presence {
  return { from: 'rds_data_route WHERE conn_string = ?', params: [connString] };
}

/** The custins whose data route has this connection string (optionally checking its port). */
export async function custinsByConnString(db: Db, connString: string): Promise<CustinsRef[]> {
  const rows = await db.query<Record<string, unknown>>(
    'SELECT custins_id, conn_string, proxy_host, proxy_ip, proxy_port, target_ip, target_port, status FROM rds_data_route WHERE conn_string = ?',
    [connString],
  );
  return rows.map(({ custins_id, ...detail }) => ({ custins_id: Number(custins_id), via: 'conn_string', detail }));
}

export interface NatGw {
  natgw_id: string;
  vpc_id: string;
  zone_id: number;
  ip: string;
  status: string;
  acl_rules: number;
}

export function natgwPresence(key: 'natgw_id' | 'ip', value: string): Presence {
  return { from: key === 'ip' ? 'natgw g WHERE g.ip = ?' : 'natgw g WHERE g.natgw_id = ?', params: [value] };
}

export async function natgwsBy(db: Db, key: 'natgw_id' | 'ip', value: string): Promise<NatGw[]> {
  const where = key === 'ip' ? 'g.ip = ?' : 'g.natgw_id = ?';
  return db.query<NatGw>(
    `SELECT g.natgw_id, g.vpc_id, g.zone_id, g.ip, g.status,
            (SELECT COUNT(*) FROM natgw_acl a WHERE a.natgw_id = g.natgw_id) AS acl_rules
       FROM natgw g WHERE ${where}`,
    [value],
  );
}

export interface VpcRow {
  vpc_id: string;
  name: string;
  cidr: string;
  tunnel_id: number;
  region: string;
  status: string;
}

export interface VswitchRow {
  vswitch_id: string;
  vpc_id: string;
  zone: string;
  cidr: string;
}

export function vpcPresence(vpcId: string): Presence {
  return { from: 'vpc WHERE vpc_id = ?', params: [vpcId] };
}

export function vswitchPresence(id: string): Presence {
  return { from: 'vswitch WHERE vswitch_id = ?', params: [id] };
}

export async function vpcById(db: Db, vpcId: string): Promise<{ vpc: VpcRow; vswitches: VswitchRow[] } | undefined> {
  const [vpc] = await db.query<VpcRow>('SELECT vpc_id, name, cidr, tunnel_id, region, status FROM vpc WHERE vpc_id = ?', [vpcId]);
  if (!vpc) return undefined;
  const vswitches = await db.query<VswitchRow>('SELECT vswitch_id, vpc_id, zone, cidr FROM vswitch WHERE vpc_id = ? ORDER BY zone, vswitch_id', [vpcId]);
  return { vpc, vswitches };
}

export async function vswitchById(db: Db, id: string): Promise<{ vswitch: VswitchRow; vpc: VpcRow | undefined } | undefined> {
  const [vswitch] = await db.query<VswitchRow>('SELECT vswitch_id, vpc_id, zone, cidr FROM vswitch WHERE vswitch_id = ?', [id]);
  if (!vswitch) return undefined;
  const [vpc] = await db.query<VpcRow>('SELECT vpc_id, name, cidr, tunnel_id, region, status FROM vpc WHERE vpc_id = ?', [vswitch.vpc_id]);
  return { vswitch, vpc };
}

export interface ChunkserverRow {
  hostname: string;
  ip: string;
  status: string;
  cluster: string;
  last_heartbeat: Date | null;
  disks: number;
  disks_not_ok: number;
}

export function chunkserverPresence(key: 'hostname' | 'ip', value: string): Presence {
  return { from: key === 'ip' ? 'chunkserver cs WHERE cs.ip = ?' : 'chunkserver cs WHERE cs.hostname = ?', params: [value] };
}

export async function chunkserversBy(db: Db, key: 'hostname' | 'ip', value: string): Promise<ChunkserverRow[]> {
  const where = key === 'ip' ? 'cs.ip = ?' : 'cs.hostname = ?';
  return db.query<ChunkserverRow>(
    `SELECT cs.hostname, cs.ip, cs.status, pc.name AS cluster, cs.last_heartbeat,
            (SELECT COUNT(*) FROM disk d WHERE d.chunkserver_id = cs.id) AS disks,
            (SELECT COUNT(*) FROM disk d WHERE d.chunkserver_id = cs.id AND d.status <> 'ok') AS disks_not_ok
       FROM chunkserver cs JOIN pangu_cluster pc ON pc.id = cs.cluster_id WHERE ${where}`,
    [value],
  );
}

export interface SlbHostRow {
  kind: 'lb_node' | 'proxy';
  hostname: string | null;
  address: string;
  status: string;
  cluster: string;
  service_port: number;
  role?: string;
  vip?: string | null;
  proxy_kind?: string;
}

/** Whether slbHostsByName(hostname) can find a host: the same tables and keys (core/presence.ts). */
export function slbHostNamePresence(hostname: string): Presence[] {
  return [
    { from: 'lb_node WHERE hostname = ?', params: [hostname] },
    { from: 'proxy WHERE hostname = ?', params: [hostname] },
  ];
}

export function lvsVipPresence(vip: string): Presence {
  return { from: 'lb_node WHERE vip = ?', params: [vip] };
}

/** An LVS node or SLB proxy by its host name (lvs-01, proxy-01). */
export async function slbHostsByName(db: Db, hostname: string): Promise<SlbHostRow[]> {
  const lvs = await db.query<SlbHostRow>(
    "SELECT 'lb_node' AS kind, hostname, ip_addr AS address, status, cluster, service_port, role, vip FROM lb_node WHERE hostname = ?",
    [hostname],
  );
  const proxies = await db.query<SlbHostRow>(
    "SELECT 'proxy' AS kind, hostname, ip_adr AS address, status, cluster, service_port, kind AS proxy_kind FROM proxy WHERE hostname = ?",
    [hostname],
  );
  return [...lvs, ...proxies];
}

/** The LVS nodes (master and backup) that serve a VIP. */
export async function lvsByVip(db: Db, vip: string): Promise<SlbHostRow[]> {
  return db.query<SlbHostRow>(
    "SELECT 'lb_node' AS kind, hostname, ip_addr AS address, status, cluster, service_port, role, vip FROM lb_node WHERE vip = ? ORDER BY role, ip_addr",
    [vip],
  );
}

export interface RdsProxyNodeRow {
  hostname: string;
  ip: string;
  ssh_port: number;
  status: string;
  routes: number;
}

export function rdsProxyPresence(key: 'hostname' | 'ip', value: string): Presence {
  return { from: key === 'ip' ? 'rds_proxy_node p WHERE p.ip = ?' : 'rds_proxy_node p WHERE p.hostname = ?', params: [value] };
}

/** A host of the RDS proxy layer (dbaas.rds_proxy_node) by host name or address, with its route count. */
export async function rdsProxyNodesBy(db: Db, key: 'hostname' | 'ip', value: string): Promise<RdsProxyNodeRow[]> {
  const where = key === 'ip' ? 'p.ip = ?' : 'p.hostname = ?';
  return db.query<RdsProxyNodeRow>(
    `SELECT p.hostname, p.ip, p.ssh_port, p.status,
            (SELECT COUNT(*) FROM rds_data_route r WHERE r.proxy_ip = p.ip AND r.status <> 'deleted') AS routes
       FROM rds_proxy_node p WHERE ${where}`,
    [value],
  );
}

// The indexed name columns near matches are drawn from, a closed list (never built from input).
const NEAR_COLUMNS = {
  natgw: 'SELECT natgw_id AS v FROM natgw WHERE natgw_id LIKE ? ORDER BY natgw_id LIMIT 20',
  vpc: 'SELECT vpc_id AS v FROM vpc WHERE vpc_id LIKE ? ORDER BY vpc_id LIMIT 20',
  vswitch: 'SELECT vswitch_id AS v FROM vswitch WHERE vswitch_id LIKE ? ORDER BY vswitch_id LIMIT 20',
  chunkserver: 'SELECT hostname AS v FROM chunkserver WHERE hostname LIKE ? ORDER BY hostname LIMIT 20',
  lb_node: 'SELECT hostname AS v FROM lb_node WHERE hostname LIKE ? ORDER BY hostname LIMIT 20',
  proxy: 'SELECT hostname AS v FROM proxy WHERE hostname LIKE ? ORDER BY hostname LIMIT 20',
  rds_proxy_node: 'SELECT hostname AS v FROM rds_proxy_node WHERE hostname LIKE ? ORDER BY hostname LIMIT 20',
} as const;

export type NearSource = keyof typeof NEAR_COLUMNS;

/** Near names among one kind of network record, by bounded prefix probes (core/near.ts). */
export async function nearNetworkNames(db: Db, source: NearSource, name: string): Promise<string[]> {
  return nearByPrefix(name, async (pattern) => (await db.query<{ v: string }>(NEAR_COLUMNS[source], [pattern])).map((r) => r.v));
}
