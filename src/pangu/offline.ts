import type { Context } from '../core/context.js';
import type { Db } from '../remote/mysql.js';
import { ConflictError, NotFoundError, UsageError } from '../core/errors.js';
import type { Plan, PlannedChange } from '../core/mutation.js';
import { chunkserverId } from './status.js';

// `pangu disk offline CS:DEVICE`: mark a disk for replacement, but only when it is safe:
//  - replica rule: no chunk with a replica on the disk may be left with fewer healthy replicas
//    than its cluster's replica_count. A replica is healthy on an `ok` disk of a `normal`
//    chunkserver; a disk that is not `ok` holds no healthy replica, so taking it offline lowers
//    no chunk's count and the rule does not hold it back.
//  - per-chunkserver rule: the chunkserver must have fewer than max_offline_disks_per_cs disks
//    already offline or replacing.
// The check and the update run in ONE transaction. It first locks (SELECT … FOR UPDATE) the
// cluster's row, so that every offline decision in a cluster queues behind the previous one in
// one fixed order (no deadlock between two operators), then the disk, every disk of its
// chunkserver and every disk holding another replica of its chunks, so that other writers of
// those rows wait too. Every read after that is a locking read, which sees the latest commits
// rather than the transaction's snapshot. A refusal is a conflict (exit 9): the cluster's state
// forbids the change; nothing was written.

export interface DiskRef {
  chunkserver: string;
  device: string;
}

export function parseDiskRef(s: string): DiskRef {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,127}):([A-Za-z0-9][A-Za-z0-9_-]{0,31})$/.exec(s);
  if (!m) throw new UsageError(`DISK "${s}": expected <chunkserver>:<device>, e.g. cs-a01:sdc`);
  return { chunkserver: m[1]!, device: m[2]! };
}

interface TargetDisk {
  id: number;
  cluster_id: number;
  chunkserver_id: number;
  hostname: string;
  cs_status: string;
  device: string;
  status: string;
  cluster: string;
  replica_count: number;
  max_offline_disks_per_cs: number;
}

export interface AtRiskChunk {
  chunk_id: number;
  file_name: string;
  /** Healthy replicas the chunk would keep without this disk. */
  healthy_after: number;
}

/** What the checks found; the JSON of `disk offline` (with the outcome). */
export interface OfflineAssessment {
  disk: string;
  cluster: string;
  previous_status: string;
  replica_count: number;
  max_offline_disks_per_cs: number;
  /** Other disks of the chunkserver already offline or replacing. */
  chunkserver_disks_out: string[];
  chunks_on_disk: number;
  /** Chunks that would fall below replica_count (all of them counted, the first 20 listed). */
  chunks_at_risk: number;
  at_risk_sample: AtRiskChunk[];
  refusal: string | null;
}

const LOCK_CLUSTER = 'SELECT id FROM pangu_cluster WHERE id = ? FOR UPDATE';
const LOCK_TARGET = `SELECT d.id, pc.id AS cluster_id, d.chunkserver_id, cs.hostname, cs.status AS cs_status, d.device, d.status, pc.name AS cluster,
       pc.replica_count, pc.max_offline_disks_per_cs
  FROM disk d JOIN chunkserver cs ON cs.id = d.chunkserver_id JOIN pangu_cluster pc ON pc.id = cs.cluster_id
 WHERE d.chunkserver_id = ? AND d.device = ?`;
const LOCK_CS_DISKS = 'SELECT id, device, status FROM disk WHERE chunkserver_id = ? ORDER BY id';
const LOCK_PEER_DISKS = `SELECT id, status FROM disk WHERE id IN (
  SELECT r2.disk_id FROM chunk_replica r1 JOIN chunk_replica r2 ON r2.chunk_id = r1.chunk_id AND r2.disk_id <> r1.disk_id
   WHERE r1.disk_id = ?) ORDER BY id`;
const AT_RISK = `SELECT r1.chunk_id, c.file_name,
       COALESCE(SUM(d2.status = 'ok' AND cs2.status = 'normal'), 0) AS healthy_after
  FROM chunk_replica r1
  JOIN chunk c ON c.id = r1.chunk_id
  LEFT JOIN chunk_replica r2 ON r2.chunk_id = r1.chunk_id AND r2.disk_id <> r1.disk_id
  LEFT JOIN disk d2 ON d2.id = r2.disk_id
  LEFT JOIN chunkserver cs2 ON cs2.id = d2.chunkserver_id
 WHERE r1.disk_id = ?
 GROUP BY r1.chunk_id, c.file_name
HAVING healthy_after < ?`;
const COUNT_REPLICAS = 'SELECT COUNT(*) AS n FROM chunk_replica WHERE disk_id = ?';
const UPDATE_DISK = "UPDATE disk SET status = 'offline', offline_reason = ? WHERE id = ? AND status = ?";

/**
 * Read the disk and evaluate both rules. With `lock`, every row the decision depends on is
 * locked first (inside the caller's transaction), so the reads below see the latest commits.
 */
async function assess(db: Db, csId: number, ref: DiskRef, lock: { clusterId: number } | null): Promise<{ target: TargetDisk; a: OfflineAssessment }> {
  if (lock) await db.query(LOCK_CLUSTER, [lock.clusterId]);
  const forUpdate = lock ? ' FOR UPDATE' : '';
  const shared = lock ? ' LOCK IN SHARE MODE' : '';
  const [target] = await db.query<TargetDisk>(LOCK_TARGET + forUpdate, [csId, ref.device]);
  const name = `${ref.chunkserver}:${ref.device}`;
  if (!target) {
    const devices = (await db.query<{ device: string }>('SELECT device FROM disk WHERE chunkserver_id = ? ORDER BY device', [csId])).map((r) => `${ref.chunkserver}:${r.device}`);
    throw new NotFoundError(`disk ${name} not found`, devices.slice(0, 3));
  }
  const csDisks = await db.query<{ id: number; device: string; status: string }>(LOCK_CS_DISKS + forUpdate, [csId]);
  if (lock) await db.query(LOCK_PEER_DISKS + forUpdate, [target.id]);
  const [count] = await db.query<{ n: number }>(COUNT_REPLICAS + shared, [target.id]);
  // Only a healthy replica's removal can lower a chunk's healthy count.
  const holdsHealthy = target.status === 'ok' && target.cs_status === 'normal';
  const atRisk = holdsHealthy ? await db.query<AtRiskChunk>(`${AT_RISK} ORDER BY healthy_after, r1.chunk_id${shared}`, [target.id, target.replica_count]) : [];
  const out = csDisks.filter((d) => d.id !== target.id && (d.status === 'offline' || d.status === 'replacing')).map((d) => d.device);

  let refusal: string | null = null;
  if (target.status === 'offline' || target.status === 'replacing') {
    refusal = `disk ${name} is already ${target.status}`;
  } else if (out.length >= target.max_offline_disks_per_cs) {
    refusal = `chunkserver ${target.hostname} already has ${out.length} disk${out.length === 1 ? '' : 's'} offline or replacing (${out.join(', ')}); cluster ${target.cluster} allows ${target.max_offline_disks_per_cs}`;
  } else if (atRisk.length > 0) {
    const first = atRisk[0]!;
    refusal = `${atRisk.length} chunk${atRisk.length === 1 ? '' : 's'} would keep fewer than ${target.replica_count} healthy replicas (chunk ${first.chunk_id} ${first.file_name} would keep ${first.healthy_after})`;
  }
  return {
    target,
    a: {
      disk: name,
      cluster: target.cluster,
      previous_status: target.status,
      replica_count: target.replica_count,
      max_offline_disks_per_cs: target.max_offline_disks_per_cs,
      chunkserver_disks_out: out,
      chunks_on_disk: Number(count?.n ?? 0),
      chunks_at_risk: atRisk.length,
      at_risk_sample: atRisk.slice(0, 20).map((r) => ({ chunk_id: Number(r.chunk_id), file_name: r.file_name, healthy_after: Number(r.healthy_after) })),
      refusal,
    },
  };
}

/** A checked offline, ready for the command layer to print, confirm, audit and apply. */
export interface PlannedOffline extends PlannedChange<OfflineAssessment> {
  name: string;
  reason: string;
  /** Why the checks refuse it now (they run again under lock in apply). */
  refusal: string | null;
}

export async function planOffline(ctx: Context, ref: DiskRef, reasonGiven: string | null): Promise<PlannedOffline> {
  const db = ctx.db('pangu');
  const csId = await chunkserverId(db, ref.chunkserver);
  const name = `${ref.chunkserver}:${ref.device}`;
  const pre = await assess(db, csId, ref, null);
  const reason = reasonGiven ?? `taken offline by ${ctx.osUser} with rdsctl`;
  const plan: Plan = {
    action: `take disk ${name} offline for replacement (${pre.a.previous_status} -> offline)`,
    targets: [name],
    sql: [
      { db: 'pangu', statement: LOCK_CLUSTER, params: [pre.target.cluster_id] },
      { db: 'pangu', statement: `${LOCK_TARGET} FOR UPDATE`, params: [csId, ref.device] },
      { db: 'pangu', statement: `${LOCK_CS_DISKS} FOR UPDATE`, params: [csId] },
      { db: 'pangu', statement: `${LOCK_PEER_DISKS} FOR UPDATE`, params: [pre.target.id] },
      { db: 'pangu', statement: `${COUNT_REPLICAS} LOCK IN SHARE MODE`, params: [pre.target.id] },
      { db: 'pangu', statement: `${AT_RISK} LOCK IN SHARE MODE`, params: [pre.target.id, pre.target.replica_count] },
      { db: 'pangu', statement: UPDATE_DISK, params: [reason, pre.target.id, pre.a.previous_status] },
    ],
    notes: [
      `${pre.a.chunks_on_disk} chunk replicas on the disk; ${pre.a.chunks_at_risk} chunks would fall below ${pre.a.replica_count} healthy replicas`,
      `chunkserver ${ref.chunkserver}: ${pre.a.chunkserver_disks_out.length} other disks offline/replacing (limit ${pre.a.max_offline_disks_per_cs})`,
      pre.a.refusal ? `would be REFUSED: ${pre.a.refusal}` : 'checks pass; they run again under lock when applied',
    ],
  };
  return {
    name,
    plan,
    reason,
    refusal: pre.a.refusal,
    audit: { command: 'pangu disk offline', targets: [name], detail: { previous_status: pre.a.previous_status } },
    apply: () =>
      db.transaction(async (tx) => {
        const { target, a } = await assess(tx, csId, ref, { clusterId: pre.target.cluster_id });
        if (a.refusal) throw new ConflictError(`refusing to take ${name} offline: ${a.refusal}`);
        const r = await tx.execute(UPDATE_DISK, [reason, target.id, target.status]);
        if (r.affectedRows !== 1) throw new ConflictError(`disk ${name} changed while it was being taken offline; nothing written`);
        return a;
      }),
    resultDetail: (a) => ({ chunks_on_disk: a.chunks_on_disk, chunkserver_disks_out: a.chunkserver_disks_out }),
  };
}
