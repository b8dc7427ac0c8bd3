import type { Column } from '../core/output.js';
import type { BackupSetRow } from './sets.js';

// The backup set record: JSON fields (stable, documented in the README) and table columns.

export interface BackupRecord {
  id: number;
  instance: string;
  custins_id: number;
  set: string;
  kind: 'full' | 'incremental';
  status: string;
  /** The store host, or null for the install's first copy kept on the standby. */
  store_host: string | null;
  dir: string;
  source_host: string;
  source_role: 'master' | 'slave' | null;
  start_gtid: string | null;
  end_gtid: string | null;
  binlog_file: string | null;
  binlog_pos: number | null;
  started: string | null;
  consistent: string | null;
  finished: string | null;
  size_bytes: number | null;
  encrypted: boolean;
  verify_status: string;
  verified: string | null;
  verify_error: string | null;
  task_id: number | null;
  error: string | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function backupRecord(r: BackupSetRow): BackupRecord {
  return {
    id: r.id,
    instance: r.ins_name,
    custins_id: r.custins_id,
    set: r.backup_set,
    kind: r.backup_type,
    status: r.status,
    store_host: r.store_host,
    dir: r.backup_dir,
    source_host: r.host_name,
    source_role: r.source_role,
    start_gtid: r.start_gtid,
    end_gtid: r.gtid,
    binlog_file: r.binlog_file,
    binlog_pos: r.binlog_pos === null ? null : Number(r.binlog_pos),
    started: iso(r.gmt_started),
    consistent: iso(r.gmt_consistent),
    finished: iso(r.gmt_finished),
    size_bytes: r.size_bytes === null ? null : Number(r.size_bytes),
    encrypted: Boolean(r.encrypted),
    verify_status: r.verify_status,
    verified: iso(r.gmt_verified),
    verify_error: r.verify_error,
    task_id: r.task_id === null ? null : Number(r.task_id),
    error: r.error,
  };
}

export const BACKUP_COLUMNS: Column<BackupRecord>[] = [
  { header: 'ID', value: (r) => r.id, align: 'right' },
  { header: 'INSTANCE', value: (r) => r.instance },
  { header: 'SET', value: (r) => r.set },
  { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'success' ? 'ok' : r.status === 'failed' ? 'bad' : undefined) },
  { header: 'VERIFY', value: (r) => r.verify_status, tone: (r) => (r.verify_status === 'ok' ? 'ok' : r.verify_status === 'failed' ? 'bad' : undefined) },
  { header: 'STORE', value: (r) => r.store_host ?? '(on standby)' },
  { header: 'SOURCE', value: (r) => (r.source_role ? `${r.source_role} ${r.source_host}` : r.source_host) },
  { header: 'CONSISTENT', value: (r) => r.consistent },
  { header: 'SIZE_MB', value: (r) => (r.size_bytes === null ? null : (r.size_bytes / 1048576).toFixed(1)), align: 'right' },
  { header: 'ENCRYPTED', value: (r) => (r.encrypted ? 'yes' : 'no') },
  { header: 'END_GTID', value: (r) => r.end_gtid, wide: true },
  { header: 'TASK', value: (r) => r.task_id, wide: true },
  { header: 'DIR', value: (r) => r.dir, wide: true },
];
