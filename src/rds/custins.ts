import type { Db } from '../remote/mysql.js';
import { NotFoundError } from '../core/errors.js';
import type { InstanceRowLike } from './layout.js';
import { hostName, insName, ipAddress, matches, oneOf, optional, positiveInt, tcpPort, word, VPC_ID_RE, type RowRef } from './domain.js';
import type { InstanceTable } from './instance-tables.js';

// The custins and its physical instances in dbaas: the lookups every instance command and the
// install flow share.

export type CustinsStatus = 'creating' | 'running' | 'failed' | 'deleting' | 'deleted' | 'locked';

export interface CustinsRow {
  id: number;
  ins_name: string;
  engine: string;
  version: string;
  minor_version: string | null;
  class_code: string;
  storage_gb: number;
  storage_type: string;
  zone: string;
  network_type: 'classic' | 'vpc';
  vpc_id: string | null;
  is_guard: number;
  status: CustinsStatus;
  conn_ip: string | null;
  conn_port: number | null;
  gmt_created: Date;
  gmt_modified: Date;
  gmt_deleted: Date | null;
}

export interface InstanceRow extends InstanceRowLike {
  custins_id: number;
  cpu: number;
  mem_mb: number;
  disk_gb: number;
  status: 'creating' | 'running' | 'stopped' | 'failed' | 'deleted';
}

const CUSTINS_STATUS: readonly CustinsStatus[] = ['creating', 'running', 'failed', 'deleting', 'deleted', 'locked'];
const INSTANCE_STATUS: readonly InstanceRow['status'][] = ['creating', 'running', 'stopped', 'failed', 'deleted'];

/** A custins row as loaded: every name, address and port checked (domain.ts); a bad row throws BadRowError. */
export function checkCustinsRow<T extends CustinsRow>(r: T): T {
  const ref: RowRef = { table: 'dbaas.custins', key: `id=${r.id}` };
  insName(ref, 'ins_name', r.ins_name);
  word(ref, 'engine', r.engine);
  word(ref, 'version', r.version);
  optional(ref, 'minor_version', r.minor_version, word);
  word(ref, 'class_code', r.class_code);
  word(ref, 'storage_type', r.storage_type);
  word(ref, 'zone', r.zone);
  oneOf(ref, 'network_type', r.network_type, ['classic', 'vpc']);
  optional(ref, 'vpc_id', r.vpc_id, (rf, c, v) => matches(rf, c, v, VPC_ID_RE, 'a VPC id'));
  oneOf(ref, 'status', r.status, CUSTINS_STATUS);
  optional(ref, 'conn_ip', r.conn_ip, ipAddress);
  optional(ref, 'conn_port', r.conn_port, tcpPort);
  positiveInt(ref, 'storage_gb', r.storage_gb);
  return r;
}

/** An instance row (joined with its hostinfo's ssh_port) as loaded: host, address and ports checked. */
export function checkInstanceRow<T extends InstanceRow>(r: T): T {
  const ref: RowRef = { table: 'dbaas.instance', key: `id=${r.id}` };
  oneOf(ref, 'role', r.role, ['master', 'slave']);
  hostName(ref, 'host_name', r.host_name);
  ipAddress(ref, 'ip', r.ip);
  tcpPort(ref, 'port', r.port);
  oneOf(ref, 'status', r.status, INSTANCE_STATUS);
  tcpPort({ table: 'dbaas.hostinfo', key: `id=${r.hostinfo_id}` }, 'ssh_port', r.ssh_port);
  return r;
}

const CUSTINS_COLS = 'id, ins_name, engine, version, minor_version, class_code, storage_gb, storage_type, zone, network_type, vpc_id, is_guard, status, conn_ip, conn_port, gmt_created, gmt_modified, gmt_deleted';

/**
 * An instance named by its name (rm-…) or its numeric custins id. Deleted instances are found
 * only when asked for, so that `delete` of a deleted instance says so instead of "not found".
 */
export async function findCustins(db: Db, ref: string, o: { includeDeleted?: boolean } = {}): Promise<CustinsRow> {
  const byId = /^\d{1,10}$/.test(ref);
  const rows = await db.query<CustinsRow>(`SELECT ${CUSTINS_COLS} FROM custins WHERE ${byId ? 'id = ?' : 'ins_name = ?'}`, [byId ? Number(ref) : ref]);
  const row = rows[0] ? checkCustinsRow(rows[0]) : undefined;
  if (row && (o.includeDeleted || row.status !== 'deleted')) return row;
  if (row) throw new NotFoundError(`instance ${ref} was deleted at ${row.gmt_deleted?.toISOString() ?? 'an unknown time'}`);
  const near = byId || ref.length > 64 ? [] : await nearNames(db, ref);
  throw new NotFoundError(`instance "${ref.length > 80 ? ref.slice(0, 80) + '…' : ref}" does not exist in dbaas`, near);
}

async function nearNames(db: Db, ref: string): Promise<string[]> {
  const stem = ref.slice(0, Math.max(3, Math.min(ref.length, 6)));
  const rows = await db.query<{ ins_name: string }>("SELECT ins_name FROM custins WHERE ins_name LIKE CONCAT(?, '%') AND status <> 'deleted' ORDER BY ins_name LIMIT 3", [stem.replace(/[%_\\]/g, '\\$&')]);
  return rows.map((r) => r.ins_name);
}

/** The master and the slave of a custins, with their NC's SSH port. */
export async function instanceRows(db: Db, custinsId: number, o: { includeDeleted?: boolean } = {}): Promise<InstanceRow[]> {
  const rows = await db.query<InstanceRow>(
    `SELECT i.id, i.custins_id, i.role, i.hostinfo_id, i.host_name, i.ip, i.port, i.cpu, i.mem_mb, i.disk_gb, i.status, h.ssh_port
       FROM instance i JOIN hostinfo h ON h.id = i.hostinfo_id
      WHERE i.custins_id = ? ${o.includeDeleted ? '' : "AND i.status <> 'deleted'"}
      ORDER BY FIELD(i.role, 'master', 'slave')`,
    [custinsId],
  );
  return rows.map(checkInstanceRow);
}

export interface ListFilter {
  status?: string;
  nc?: string;
  zone?: string;
  limit: number;
}

export interface CustinsListRow extends CustinsRow {
  master_host: string | null;
  slave_host: string | null;
  port: number | null;
}

export async function listCustins(db: Db, f: ListFilter): Promise<CustinsListRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.status) {
    where.push('c.status = ?');
    params.push(f.status);
  } else {
    where.push("c.status <> 'deleted'");
  }
  if (f.zone) {
    where.push('c.zone = ?');
    params.push(f.zone);
  }
  if (f.nc) {
    where.push('EXISTS (SELECT 1 FROM instance x WHERE x.custins_id = c.id AND x.host_name = ?)');
    params.push(f.nc);
  }
  params.push(f.limit);
  const rows = await db.query<CustinsListRow>(
    `SELECT ${CUSTINS_COLS.split(', ').map((c) => 'c.' + c).join(', ')},
            m.host_name AS master_host, s.host_name AS slave_host, m.port AS port
       FROM custins c
       LEFT JOIN instance m ON m.custins_id = c.id AND m.role = 'master'
       LEFT JOIN instance s ON s.custins_id = c.id AND s.role = 'slave'
      WHERE ${where.join(' AND ')}
      ORDER BY c.id DESC
      LIMIT ?`,
    params,
  );
  return rows.map((r) => {
    checkCustinsRow(r);
    const ref: RowRef = { table: 'dbaas.instance', key: `custins_id=${r.id}` };
    optional(ref, 'host_name', r.master_host, hostName);
    optional(ref, 'host_name', r.slave_host, hostName);
    optional(ref, 'port', r.port, tcpPort);
    return r;
  });
}

// --- Writers of custins, instance and custins_param (the install flow's) ---

export const CUSTINS_TABLE: InstanceTable = { table: 'custins', release: "UPDATE custins SET status = 'deleted', gmt_deleted = NOW() WHERE id = ?" };

/** A failed install run again: creating once more. */
export async function markCreatingAgain(tx: Db, custinsId: number): Promise<void> {
  await tx.execute("UPDATE custins SET status = 'creating' WHERE id = ? AND status = 'failed'", [custinsId]);
}

/** The install finished: running, reached at its data route; its instance rows run. */
export async function markRunning(tx: Db, custinsId: number, conn: { ip: string; port: number }): Promise<void> {
  await tx.execute("UPDATE custins SET status = 'running', conn_ip = ?, conn_port = ? WHERE id = ? AND status IN ('creating', 'failed', 'running')", [conn.ip, conn.port, custinsId]);
  await tx.execute("UPDATE instance SET status = 'running' WHERE custins_id = ? AND status <> 'deleted'", [custinsId]);
}

/** A delete has begun (its first step). */
export async function markDeleting(tx: Db, custinsId: number): Promise<void> {
  await tx.execute("UPDATE custins SET status = 'deleting' WHERE id = ? AND status <> 'deleted'", [custinsId]);
}

export async function markFailed(tx: Db, custinsId: number): Promise<void> {
  await tx.execute("UPDATE custins SET status = 'failed' WHERE id = ? AND status = 'creating'", [custinsId]);
}

export async function setMinorVersion(tx: Db, custinsId: number, minor: string): Promise<void> {
  await tx.execute('UPDATE custins SET minor_version = ? WHERE id = ?', [minor, custinsId]);
}

/** Instance rows (by id) running, unless deleted meanwhile. */
export async function markInstancesRunning(tx: Db, instanceIds: number[]): Promise<void> {
  await tx.execute(`UPDATE instance SET status = 'running' WHERE id IN (${instanceIds.map(() => '?').join(', ')}) AND status <> 'deleted'`, instanceIds);
}

/** The create parameters kept with the instance (custins_param), name by name. */
export async function persistCustinsParams(tx: Db, custinsId: number, rows: Array<[string, string]>): Promise<void> {
  await tx.execute('INSERT INTO custins_param (custins_id, name, value) VALUES ? ON DUPLICATE KEY UPDATE value = VALUES(value)', [rows.map(([k, v]) => [custinsId, k, v])]);
}
