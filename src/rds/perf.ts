import type { Db } from '../remote/mysql.js';
import type { InstanceTable } from './instance-tables.js';

// What the monitoring collects for an instance: per server (instance_perf) and per database (db_perf).

export const INSTANCE_PERF_TABLE: InstanceTable = { table: 'instance_perf', release: "UPDATE instance_perf SET status = 'deleted' WHERE custins_id = ?" };
export const DB_PERF_TABLE: InstanceTable = { table: 'db_perf', release: "UPDATE db_perf SET status = 'deleted' WHERE custins_id = ?" };

export async function collectInstancePerf(tx: Db, custinsId: number, instanceIds: [number, number], metrics: string): Promise<void> {
  await tx.execute(
    `INSERT INTO instance_perf (instance_id, custins_id, collect_interval_sec, metrics, status) VALUES (?, ?, 60, ?, 'active'), (?, ?, 60, ?, 'active')
         ON DUPLICATE KEY UPDATE metrics = VALUES(metrics), status = 'active'`,
    [instanceIds[0], custinsId, metrics, instanceIds[1], custinsId, metrics],
  );
}

export async function collectDbPerf(tx: Db, custinsId: number, dbs: string[], intervalSec: number): Promise<void> {
  await tx.execute("INSERT INTO db_perf (custins_id, db_name, collect_interval_sec, status) VALUES ? ON DUPLICATE KEY UPDATE status = 'active'", [dbs.map((d) => [custinsId, d, intervalSec, 'active'])]);
}
