import type { Presence } from '../core/presence.js';
import type { Db } from '../remote/mysql.js';
import { NotFoundError } from '../core/errors.js';
import { rankNear } from '../core/near.js';
import { mapLimit } from '../core/concurrency.js';
import { tcpProbe } from './probe.js';

// The SLB back-end checks on the Xuanyuan database. The seeds' queries are
//   select ip_addr, status from lb_node;   -- every LVS node should be online
//   select ip_adr, status from proxy;      -- every proxy node should be online
// and the proxy column really is spelled ip_adr: rows keep each table's own spelling, so the
// JSON a runbook reads has the same field names as the query it replaces.

export const NODE_STATUSES = ['online', 'offline', 'maintain'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];
export type SlbKind = 'lb_node' | 'proxy';

interface LiveFields {
  /** Only with --live. */
  live?: 'up' | 'down';
  live_ms?: number;
  live_error?: string | null;
  /** metadb and reality disagree: online but not answering, or offline but answering. */
  mismatch?: boolean;
}

export interface LbNodeRow extends LiveFields {
  id: number;
  ip_addr: string;
  status: NodeStatus;
  cluster: string;
  role: 'master' | 'backup';
  vip: string | null;
  service_port: number;
  gmt_modified: Date;
}

export interface ProxyRow extends LiveFields {
  id: number;
  ip_adr: string;
  status: NodeStatus;
  cluster: string;
  kind: 'tengine' | 'keyserver';
  service_port: number;
  gmt_modified: Date;
}

export type SlbRow = LbNodeRow | ProxyRow;

export interface NodeSummary {
  total: number;
  online: number;
  offline: number;
  maintain: number;
  /** Only with --live. */
  up?: number;
  down?: number;
  mismatch?: number;
}

export interface NodeFilter {
  cluster?: string;
  status?: readonly NodeStatus[];
}

export interface LiveOptions {
  timeoutMs: number;
  concurrency: number;
  signal?: AbortSignal;
}

// Both statements are fixed text; only the filter values travel as parameters.
const QUERIES: Record<SlbKind, string> = {
  lb_node: `SELECT id, ip_addr, status, cluster, role, vip, service_port, gmt_modified FROM lb_node
             WHERE (? IS NULL OR cluster = ?) AND (? IS NULL OR FIND_IN_SET(status, ?) > 0)
             ORDER BY cluster, INET_ATON(ip_addr), ip_addr`,
  proxy: `SELECT id, ip_adr, status, cluster, kind, service_port, gmt_modified FROM proxy
           WHERE (? IS NULL OR cluster = ?) AND (? IS NULL OR FIND_IN_SET(status, ?) > 0)
           ORDER BY cluster, INET_ATON(ip_adr), ip_adr`,
};
const CLUSTERS: Record<SlbKind, string> = {
  lb_node: 'SELECT DISTINCT cluster FROM lb_node ORDER BY cluster',
  proxy: 'SELECT DISTINCT cluster FROM proxy ORDER BY cluster',
};

export function addressOf(r: SlbRow): string {
  return 'ip_addr' in r ? r.ip_addr : r.ip_adr;
}

export async function readNodes(db: Db, kind: SlbKind, f: NodeFilter): Promise<SlbRow[]> {
  const cluster = f.cluster ?? null;
  const status = f.status?.length ? f.status.join(',') : null;
  const rows = await db.query<SlbRow>(QUERIES[kind], [cluster, cluster, status, status]);
  if (rows.length === 0 && cluster !== null) {
    const known = (await db.query<{ cluster: string }>(CLUSTERS[kind])).map((r) => r.cluster);
    if (!known.includes(cluster)) throw new NotFoundError(`no ${kind} in cluster ${cluster}`, rankNear(cluster, known));
  }
  return rows;
}

/** metadb says one thing, the port says another. A node in maintenance may be either. */
export function isMismatch(status: NodeStatus, live: 'up' | 'down'): boolean {
  return (status === 'online' && live === 'down') || (status === 'offline' && live === 'up');
}

export async function probeNodes<T extends SlbRow>(rows: T[], o: LiveOptions): Promise<T[]> {
  return mapLimit(rows, o.concurrency, async (r) => {
    const p = await tcpProbe(addressOf(r), r.service_port, o.timeoutMs, o.signal);
    return { ...r, live: p.live, live_ms: p.ms, live_error: p.error, mismatch: isMismatch(r.status, p.live) };
  });
}

export function summarize(rows: readonly SlbRow[], live: boolean): NodeSummary {
  const s: NodeSummary = { total: rows.length, online: 0, offline: 0, maintain: 0 };
  for (const r of rows) s[r.status]++;
  if (live) {
    s.up = rows.filter((r) => r.live === 'up').length;
    s.down = rows.filter((r) => r.live === 'down').length;
    s.mismatch = rows.filter((r) => r.mismatch).length;
  }
  return s;
}

/** Unhealthy: any node not online in the metadb, or (with --live) any node not answering. */
export function healthy(s: NodeSummary): boolean {
  return s.online === s.total && !s.down;
}

export function summaryLine(kind: SlbKind, s: NodeSummary): string {
  const parts = [`${s.online} online`, `${s.offline} offline`, `${s.maintain} maintain`];
  if (s.up !== undefined) parts.push(`live: ${s.up} up, ${s.down} down, ${s.mismatch} mismatch`);
  return `${s.total} ${kind === 'lb_node' ? 'lb_node' : 'proxy'}${s.total === 1 ? '' : kind === 'lb_node' ? 's' : ' nodes'}: ${parts.join(', ')}`;
}

/** The LVS nodes and proxies at one address, as go2which shows them. */
/** Whether slbByAddress(ip) can find a node or proxy: the same tables and keys (core/presence.ts). */
export function slbAddressPresence(ip: string): Presence[] {
  return [
    { from: 'lb_node WHERE ip_addr = ?', params: [ip] },
    { from: 'proxy WHERE ip_adr = ?', params: [ip] },
  ];
}

export async function slbByAddress(db: Db, ip: string): Promise<{ nodes: Array<Record<string, unknown>>; proxies: Array<Record<string, unknown>> }> {
  const nodes = await db.query<Record<string, unknown>>('SELECT ip_addr, status, cluster, role, vip, service_port FROM lb_node WHERE ip_addr = ?', [ip]);
  const proxies = await db.query<Record<string, unknown>>('SELECT ip_adr, status, cluster, kind, service_port FROM proxy WHERE ip_adr = ?', [ip]);
  return { nodes, proxies };
}
