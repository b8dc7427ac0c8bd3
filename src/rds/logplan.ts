import type { Db } from '../remote/mysql.js';
import type { InstanceTable } from './instance-tables.js';

// The instance's binlog plan (logplan): where its binlogs are, how long they are kept, how often shipped.

export const LOGPLAN_TABLE: InstanceTable = { table: 'logplan', release: "UPDATE logplan SET status = 'deleted' WHERE custins_id = ?" };

export async function ensureBinlogPlan(tx: Db, custinsId: number, binlogDir: string): Promise<void> {
  await tx.execute(
    `INSERT INTO logplan (custins_id, log_type, retention_hours, upload_interval_sec, binlog_dir, status) VALUES (?, 'binlog', 168, 300, ?, 'active')
         ON DUPLICATE KEY UPDATE binlog_dir = VALUES(binlog_dir), status = 'active'`,
    [custinsId, binlogDir],
  );
}
