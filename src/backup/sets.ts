import { NotFoundError, UsageError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import type { InstanceTable } from '../rds/instance-tables.js';

// baklist rows: the metadb's index of the backup sets in the store (and of the install's first
// local copy on the standby, which has no store_host and is never restored from).

export type SetStatus = 'pending' | 'running' | 'success' | 'failed' | 'deleted';

export interface BackupSetRow {
  id: number;
  custins_id: number;
  ins_name: string;
  instance_id: number;
  host_name: string;
  backup_set: string;
  backup_type: 'full' | 'incremental';
  backup_dir: string;
  store_host: string | null;
  task_id: number | null;
  source_role: 'master' | 'slave' | null;
  status: SetStatus;
  size_bytes: number | null;
  gtid: string | null;
  start_gtid: string | null;
  binlog_file: string | null;
  binlog_pos: number | null;
  gmt_consistent: Date | null;
  encrypted: number;
  manifest_sha256: string | null;
  verify_status: 'unverified' | 'ok' | 'failed';
  verify_error: string | null;
  gmt_verified: Date | null;
  error: string | null;
  gmt_created: Date;
  gmt_started: Date | null;
  gmt_finished: Date | null;
}

const COLS = `b.id, b.custins_id, c.ins_name, b.instance_id, b.host_name, b.backup_set, b.backup_type, b.backup_dir, b.store_host, b.task_id, b.source_role,
  b.status, b.size_bytes, b.gtid, b.start_gtid, b.binlog_file, b.binlog_pos, b.gmt_consistent, b.encrypted, b.manifest_sha256, b.verify_status,
  b.verify_error, b.gmt_verified, b.error, b.gmt_created, b.gmt_started, b.gmt_finished`;
const FROM = 'FROM baklist b JOIN custins c ON c.id = b.custins_id';

export function parseBackupId(v: string): number {
  if (!/^[1-9][0-9]{0,11}$/.test(v)) throw new UsageError(`backup id "${v}": a positive whole number (see \`rdsctl backup list\`)`);
  return Number(v);
}

export async function getSet(db: Db, id: number): Promise<BackupSetRow> {
  const rows = await db.query<BackupSetRow>(`SELECT ${COLS} ${FROM} WHERE b.id = ?`, [id]);
  if (!rows[0]) throw new NotFoundError(`backup set ${id} does not exist in dbaas.baklist`);
  return rows[0];
}

export async function listSets(db: Db, f: { custinsId?: number; includeDeleted?: boolean; limit: number }): Promise<BackupSetRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.custinsId !== undefined) {
    where.push('b.custins_id = ?');
    params.push(f.custinsId);
  }
  if (!f.includeDeleted) where.push("b.status <> 'deleted'");
  params.push(f.limit);
  return db.query<BackupSetRow>(`SELECT ${COLS} ${FROM} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY b.id DESC LIMIT ?`, params);
}

/** Sets a restore may use: in the store, finished, not found bad by a verify. Newest first. */
export async function restorableSets(db: Db, custinsId: number): Promise<BackupSetRow[]> {
  return db.query<BackupSetRow>(
    `SELECT ${COLS} ${FROM} WHERE b.custins_id = ? AND b.store_host IS NOT NULL AND b.status = 'success' AND b.verify_status <> 'failed'
      AND b.backup_type = 'full' AND b.gmt_consistent IS NOT NULL ORDER BY b.gmt_consistent DESC, b.id DESC`,
    [custinsId],
  );
}

/** The newest good full set of an instance: what retention and delete never remove. */
export async function lastGoodFull(db: Db, custinsId: number): Promise<BackupSetRow | null> {
  return (await restorableSets(db, custinsId))[0] ?? null;
}

/** A new set row for a backup task, status running. */
export async function insertSetRow(tx: Db, r: { custinsId: number; instanceId: number; host: string; storeHost: string; taskId: number; role: 'master' | 'slave'; encrypted: boolean }): Promise<number> {
  const res = await tx.execute(
    `INSERT INTO baklist (custins_id, instance_id, host_name, backup_set, backup_type, backup_method, backup_dir, store_host, task_id, source_role, status, encrypted, gmt_started)
     VALUES (?, ?, ?, CONCAT('task-', ?), 'full', 'physical', '', ?, ?, ?, 'running', ?, UTC_TIMESTAMP())`,
    [r.custinsId, r.instanceId, r.host, r.taskId, r.storeHost, r.taskId, r.role, r.encrypted ? 1 : 0],
  );
  return res.insertId;
}

export async function setByTask(db: Db, taskId: number): Promise<BackupSetRow | null> {
  return (await db.query<BackupSetRow>(`SELECT ${COLS} ${FROM} WHERE b.task_id = ? ORDER BY b.id DESC LIMIT 1`, [taskId]))[0] ?? null;
}

// --- The install flow's first backup set (do_insert_baklist, do_start_create_new_backup) ---

export const BAKLIST_TABLE: InstanceTable = { table: 'baklist', release: "UPDATE baklist SET status = 'deleted' WHERE custins_id = ?" };

export async function ensureInstallSet(tx: Db, custinsId: number, s: { instanceId: number; host: string; backupSet: string; dir: string }): Promise<void> {
  await tx.execute(
    `INSERT INTO baklist (custins_id, instance_id, host_name, backup_set, backup_type, backup_method, backup_dir, status)
         VALUES (?, ?, ?, ?, 'full', 'physical', ?, 'pending')
         ON DUPLICATE KEY UPDATE instance_id = VALUES(instance_id), host_name = VALUES(host_name), backup_dir = VALUES(backup_dir)`,
    [custinsId, s.instanceId, s.host, s.backupSet, s.dir],
  );
}

export async function namedSetStatus(db: Db, custinsId: number, backupSet: string): Promise<string | undefined> {
  return (await db.query<{ status: string }>('SELECT status FROM baklist WHERE custins_id = ? AND backup_set = ?', [custinsId, backupSet]))[0]?.status;
}

/** The named set is being taken; false when it has no row. */
export async function namedSetRunning(tx: Db, custinsId: number, backupSet: string): Promise<boolean> {
  return (await tx.execute("UPDATE baklist SET status = 'running', gmt_started = NOW(), gmt_finished = NULL, error = NULL WHERE custins_id = ? AND backup_set = ?", [custinsId, backupSet])).affectedRows > 0;
}

export async function namedSetFailed(tx: Db, custinsId: number, backupSet: string, error: string): Promise<void> {
  await tx.execute("UPDATE baklist SET status = 'failed', error = ?, gmt_finished = NOW() WHERE custins_id = ? AND backup_set = ?", [error, custinsId, backupSet]);
}

export async function namedSetDone(tx: Db, custinsId: number, backupSet: string, r: { sizeBytes: number | null; gtid: string | null }): Promise<void> {
  await tx.execute("UPDATE baklist SET status = 'success', size_bytes = ?, gtid = ?, gmt_finished = NOW() WHERE custins_id = ? AND backup_set = ?", [r.sizeBytes, r.gtid, custinsId, backupSet]);
}
