import type { Db } from '../remote/mysql.js';
import type { InstanceTable } from '../rds/instance-tables.js';

// The metadb side of a role change and the HA event log. Each statement lives here, next to the
// function that owns it; every write runs in the caller's (fenced) transaction.

/** Park offset for custins_id while two rows trade roles: uk_instance_role is checked row by row. */
const PARK = 2_000_000_000;

/**
 * Make `masterId` the master and `slaveId` the slave of the custins (idempotent): instance rows,
 * aurora_ha, maxscale_link and a VPC mapping follow.
 */
export async function swapRoles(tx: Db, custinsId: number, masterId: number, slaveId: number): Promise<boolean> {
  const rows = await tx.query<{ id: number; role: string }>('SELECT id, role FROM instance WHERE custins_id = ? AND id IN (?, ?) FOR UPDATE', [custinsId, masterId, slaveId]);
  const now = rows.find((r) => r.id === masterId)?.role;
  let changed = false;
  if (now !== 'master') {
    await tx.execute('UPDATE instance SET custins_id = custins_id + ? WHERE id = ? AND custins_id = ?', [PARK, slaveId, custinsId]);
    await tx.execute("UPDATE instance SET role = 'master' WHERE id = ?", [masterId]);
    await tx.execute("UPDATE instance SET custins_id = custins_id - ?, role = 'slave' WHERE id = ? AND custins_id = ?", [PARK, slaveId, custinsId + PARK]);
    changed = true;
  }
  await tx.execute('UPDATE aurora_ha SET master_instance_id = ?, slave_instance_id = ? WHERE custins_id = ?', [masterId, slaveId, custinsId]);
  await tx.execute("UPDATE maxscale_link SET role = IF(instance_id = ?, 'master', 'slave') WHERE custins_id = ? AND instance_id IN (?, ?)", [masterId, custinsId, masterId, slaveId]);
  await tx.execute('UPDATE vpc_custins_mapping m JOIN instance i ON i.id = ? SET m.target_ip = i.ip, m.target_port = i.port WHERE m.custins_id = ?', [masterId, custinsId]);
  return changed;
}

export type HaEventKind = 'switchover' | 'failover' | 'rebuild' | 'enable' | 'master_dead' | 'alert' | 'fence' | 'watch';

export async function recordEvent(
  db: Db,
  e: { custinsId: number; kind: HaEventKind; oldMaster?: number | null; newMaster?: number | null; taskId?: number | null; actor?: string | null; detail?: string | null },
): Promise<void> {
  await db.execute('INSERT INTO ha_event (custins_id, kind, old_master_instance_id, new_master_instance_id, task_id, actor, detail) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    e.custinsId,
    e.kind,
    e.oldMaster ?? null,
    e.newMaster ?? null,
    e.taskId ?? null,
    e.actor ?? null,
    e.detail ? e.detail.slice(0, 4000) : null,
  ]);
}

export interface HaSummary {
  semisync: boolean;
  rebuild_instance_id: number | null;
  last_failover_at: string | null;
  quiet_until: string | null;
  last_semisync_on: boolean | null;
  last_sample_at: string | null;
}

export async function haSummary(db: Db, custinsId: number): Promise<HaSummary | null> {
  const r = (
    await db.query<{ semisync: number; rebuild_instance_id: number | null; last_failover_at: string | null; quiet_until: string | null; last_semisync_on: number | null; last_sample_at: string | null }>(
      `SELECT semisync, rebuild_instance_id, DATE_FORMAT(last_failover_at, '%Y-%m-%dT%H:%i:%sZ') AS last_failover_at, DATE_FORMAT(quiet_until, '%Y-%m-%dT%H:%i:%sZ') AS quiet_until,
              last_semisync_on, DATE_FORMAT(last_sample_at, '%Y-%m-%dT%H:%i:%sZ') AS last_sample_at FROM aurora_ha WHERE custins_id = ?`,
      [custinsId],
    )
  )[0];
  if (!r) return null;
  return {
    semisync: r.semisync === 1,
    rebuild_instance_id: r.rebuild_instance_id,
    last_failover_at: r.last_failover_at,
    quiet_until: r.quiet_until,
    last_semisync_on: r.last_semisync_on === null ? null : r.last_semisync_on === 1,
    last_sample_at: r.last_sample_at,
  };
}

/** Watchers whose heartbeat is newer than `withinSec`: "watcher alive". */
export async function liveWatchers(db: Db, withinSec: number): Promise<Array<{ owner: string; host: string; pid: number; heartbeat_at: string; instances: number }>> {
  return db.query(
    "SELECT owner, host, pid, DATE_FORMAT(heartbeat_at, '%Y-%m-%dT%H:%i:%s.%fZ') AS heartbeat_at, instances FROM ha_watcher WHERE heartbeat_at > NOW(3) - INTERVAL ? SECOND ORDER BY owner",
    [withinSec],
  );
}

/** Who watches this instance now (an unexpired lease), or null. */
export async function watchHolder(db: Db, custinsId: number): Promise<string | null> {
  return (await db.query<{ owner: string }>('SELECT owner FROM ha_watch_lease WHERE custins_id = ? AND expires_at > NOW(3)', [custinsId]))[0]?.owner ?? null;
}

// --- The install flow's aurora_ha registration (do_add_aurora, do_enable_aurora, guard read-only) ---

export const AURORA_TABLE: InstanceTable = { table: 'aurora_ha', release: "UPDATE aurora_ha SET status = 'deleted' WHERE custins_id = ?" };

export async function addAurora(tx: Db, custinsId: number, masterId: number, slaveId: number): Promise<void> {
  await tx.execute(
    `INSERT INTO aurora_ha (custins_id, master_instance_id, slave_instance_id, ha_mode, status, read_only) VALUES (?, ?, ?, 'dual_master', 'added', 0)
         ON DUPLICATE KEY UPDATE master_instance_id = VALUES(master_instance_id), slave_instance_id = VALUES(slave_instance_id), status = IF(status = 'deleted', 'added', status)`,
    [custinsId, masterId, slaveId],
  );
}

/** HA on; false when the instance is not registered (do_add_aurora not run). */
export async function enableAurora(tx: Db, custinsId: number): Promise<boolean> {
  return (await tx.execute("UPDATE aurora_ha SET status = 'enabled' WHERE custins_id = ? AND status <> 'deleted'", [custinsId])).affectedRows > 0;
}

export async function auroraReadOnly(tx: Db, custinsId: number): Promise<void> {
  await tx.execute('UPDATE aurora_ha SET read_only = 1 WHERE custins_id = ?', [custinsId]);
}
