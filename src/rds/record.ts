import { findClass } from './catalog.js';
import type { Db } from '../remote/mysql.js';
import type { CustinsRow, InstanceRow } from './custins.js';
import { instanceRows } from './custins.js';

// The instance record: what `instance create -o json` prints and `instance show -o json` puts
// under "instance". Field names are a documented API (README): add, never rename.

export interface NodeRecord {
  instance_id: number;
  host: string;
  ip: string;
  port: number;
  status: string;
}

export interface TaskSummary {
  task_id: number;
  flow: string;
  status: string;
  current_step: string | null;
  steps_finished: number;
  steps_total: number;
  error: string | null;
}

export interface InstanceRecord {
  ins_name: string;
  custins_id: number;
  engine: string;
  version: string;
  minor_version: string | null;
  class_code: string;
  cpu: number | null;
  mem_mb: number | null;
  max_connections: number | null;
  storage_gb: number;
  storage_type: string;
  zone: string;
  network_type: string;
  vpc_id: string | null;
  is_guard: boolean;
  status: string;
  /** ip:port of the master once the install has finished ("notify Yaochi"), else null. */
  endpoint: string | null;
  conn_ip: string | null;
  conn_port: number | null;
  master: NodeRecord | null;
  slave: NodeRecord | null;
  task: TaskSummary | null;
  gmt_created: string;
  gmt_deleted: string | null;
}

function nodeRecord(r: InstanceRow | undefined): NodeRecord | null {
  return r ? { instance_id: r.id, host: r.host_name, ip: r.ip, port: r.port, status: r.status } : null;
}

export async function latestTaskSummary(db: Db, custinsId: number): Promise<TaskSummary | null> {
  const rows = await db.query<{ id: number; flow: string; status: string; current_step: string | null; error: string | null; total: number; finished: number }>(
    `SELECT q.id, q.flow, q.status, q.current_step, q.error,
            (SELECT COUNT(*) FROM task_step s WHERE s.task_id = q.id) AS total,
            (SELECT COUNT(*) FROM task_step s WHERE s.task_id = q.id AND s.status IN ('done', 'skipped')) AS finished
       FROM task_queue q WHERE q.custins_id = ? ORDER BY q.id DESC LIMIT 1`,
    [custinsId],
  );
  const t = rows[0];
  return t ? { task_id: t.id, flow: t.flow, status: t.status, current_step: t.current_step, steps_finished: Number(t.finished), steps_total: Number(t.total), error: t.error } : null;
}

export async function instanceRecord(db: Db, c: CustinsRow): Promise<InstanceRecord> {
  const [rows, cls, task] = await Promise.all([
    instanceRows(db, c.id, { includeDeleted: c.status === 'deleted' }),
    findClass(db, c.class_code),
    latestTaskSummary(db, c.id),
  ]);
  return {
    ins_name: c.ins_name,
    custins_id: c.id,
    engine: c.engine,
    version: c.version,
    minor_version: c.minor_version,
    class_code: c.class_code,
    cpu: cls?.cpu ?? null,
    mem_mb: cls?.mem_mb ?? null,
    max_connections: cls?.max_connections ?? null,
    storage_gb: c.storage_gb,
    storage_type: c.storage_type,
    zone: c.zone,
    network_type: c.network_type,
    vpc_id: c.vpc_id,
    is_guard: c.is_guard === 1,
    status: c.status,
    endpoint: c.conn_ip && c.conn_port ? `${c.conn_ip}:${c.conn_port}` : null,
    conn_ip: c.conn_ip,
    conn_port: c.conn_port,
    master: nodeRecord(rows.find((r) => r.role === 'master')),
    slave: nodeRecord(rows.find((r) => r.role === 'slave')),
    task,
    gmt_created: c.gmt_created.toISOString(),
    gmt_deleted: c.gmt_deleted ? c.gmt_deleted.toISOString() : null,
  };
}
