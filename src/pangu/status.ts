import type { Db } from '../remote/mysql.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { nearByPrefix, rankNear } from '../core/near.js';

// Reads of Pangu, OSS's storage: chunkservers with their disk counts, disks with unhealthy ones
// first, and replica health. A replica counts as healthy when its disk is `ok` and its
// chunkserver `normal`; every chunk must keep its cluster's replica_count of them.

export const DISK_STATUSES = ['ok', 'error', 'offline', 'replacing'] as const;
export type DiskStatus = (typeof DISK_STATUSES)[number];

export interface ChunkserverRow {
  hostname: string;
  ip: string;
  cluster: string;
  status: 'normal' | 'abnormal' | 'offline';
  last_heartbeat: Date | null;
  disks: number;
  disks_ok: number;
  disks_error: number;
  /** offline or replacing */
  disks_out: number;
  capacity_gb: number;
  used_gb: number;
}

export interface DiskRow {
  /** "<chunkserver>:<device>", the name operators use */
  disk: string;
  chunkserver: string;
  device: string;
  cluster: string;
  status: DiskStatus;
  capacity_gb: number;
  used_gb: number;
  error_count: number;
  offline_reason: string | null;
  gmt_modified: Date;
}

/** Healthy means: normal chunkserver, and no disk in error. */
export function chunkserverHealthy(r: ChunkserverRow): boolean {
  return r.status === 'normal' && r.disks_error === 0;
}

async function clusterId(db: Db, name: string): Promise<number> {
  const [c] = await db.query<{ id: number }>('SELECT id FROM pangu_cluster WHERE name = ?', [name]);
  if (c) return c.id;
  const all = await db.query<{ name: string }>('SELECT name FROM pangu_cluster ORDER BY name');
  throw new NotFoundError(`Pangu cluster ${name} not found`, rankNear(name, all.map((r) => r.name)));
}

export async function chunkserverStatus(db: Db, cluster?: string): Promise<ChunkserverRow[]> {
  const c = cluster === undefined ? null : await clusterId(db, cluster);
  return db.query<ChunkserverRow>(
    `SELECT cs.hostname, cs.ip, pc.name AS cluster, cs.status, cs.last_heartbeat,
            COUNT(d.id) AS disks,
            COALESCE(SUM(d.status = 'ok'), 0) AS disks_ok,
            COALESCE(SUM(d.status = 'error'), 0) AS disks_error,
            COALESCE(SUM(d.status IN ('offline', 'replacing')), 0) AS disks_out,
            COALESCE(SUM(d.capacity_gb), 0) AS capacity_gb,
            COALESCE(SUM(d.used_gb), 0) AS used_gb
       FROM chunkserver cs
       JOIN pangu_cluster pc ON pc.id = cs.cluster_id
       LEFT JOIN disk d ON d.chunkserver_id = cs.id
      WHERE (? IS NULL OR cs.cluster_id = ?)
      GROUP BY cs.id, cs.hostname, cs.ip, pc.name, cs.status, cs.last_heartbeat
      ORDER BY (cs.status = 'normal' AND COALESCE(SUM(d.status = 'error'), 0) = 0), pc.name, cs.hostname`,
    [c, c],
  );
}

export async function chunkserverId(db: Db, hostname: string): Promise<number> {
  const [cs] = await db.query<{ id: number }>('SELECT id FROM chunkserver WHERE hostname = ?', [hostname]);
  if (cs) return cs.id;
  const near = await nearByPrefix(hostname, async (like) =>
    (await db.query<{ hostname: string }>('SELECT hostname FROM chunkserver WHERE hostname LIKE ? ORDER BY hostname LIMIT 20', [like])).map((r) => r.hostname),
  );
  throw new NotFoundError(`chunkserver ${hostname} not found`, near);
}

export async function diskStatus(db: Db, f: { chunkserver?: string; status?: readonly DiskStatus[] }): Promise<DiskRow[]> {
  const cs = f.chunkserver === undefined ? null : await chunkserverId(db, f.chunkserver);
  const st = f.status?.length ? f.status.join(',') : null;
  return db.query<DiskRow>(
    `SELECT CONCAT(cs.hostname, ':', d.device) AS disk, cs.hostname AS chunkserver, d.device, pc.name AS cluster,
            d.status, d.capacity_gb, d.used_gb, d.error_count, d.offline_reason, d.gmt_modified
       FROM disk d
       JOIN chunkserver cs ON cs.id = d.chunkserver_id
       JOIN pangu_cluster pc ON pc.id = cs.cluster_id
      WHERE (? IS NULL OR d.chunkserver_id = ?) AND (? IS NULL OR FIND_IN_SET(d.status, ?) > 0)
      ORDER BY FIELD(d.status, 'error', 'offline', 'replacing', 'ok'), d.error_count DESC, cs.hostname, d.device`,
    [cs, cs, st, st],
  );
}

export interface ReplicaHealth {
  cluster: string;
  replica_count: number;
  chunks: number;
  /** Chunks with fewer healthy replicas than replica_count. */
  under_replicated: number;
  /** Chunks with no healthy replica at all. */
  unavailable: number;
}

/** Per cluster: how many chunks keep fewer healthy replicas than required (one aggregate query). */
export async function replicaHealth(db: Db): Promise<ReplicaHealth[]> {
  return db.query<ReplicaHealth>(
    `SELECT pc.name AS cluster, pc.replica_count,
            COUNT(t.id) AS chunks,
            COALESCE(SUM(t.healthy < pc.replica_count), 0) AS under_replicated,
            COALESCE(SUM(t.healthy = 0), 0) AS unavailable
       FROM pangu_cluster pc
       LEFT JOIN (
         SELECT c.id, c.cluster_id, COALESCE(SUM(d.status = 'ok' AND cs.status = 'normal'), 0) AS healthy
           FROM chunk c
           LEFT JOIN chunk_replica r ON r.chunk_id = c.id
           LEFT JOIN disk d ON d.id = r.disk_id
           LEFT JOIN chunkserver cs ON cs.id = d.chunkserver_id
          GROUP BY c.id, c.cluster_id
       ) t ON t.cluster_id = pc.id
      GROUP BY pc.id, pc.name, pc.replica_count
      ORDER BY pc.name`,
  );
}

/** Cluster and chunkserver names as Pangu writes them; anything else is a usage error. */
export function panguName(value: string, what: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(value)) throw new UsageError(`${what} "${value}": not a Pangu name (letters, digits, _ . -)`);
  return value;
}
