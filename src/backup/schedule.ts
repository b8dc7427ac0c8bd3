import type { Context } from '../core/context.js';
import { ConflictError, describeError } from '../core/errors.js';
import { findCustins, type CustinsRow } from '../rds/custins.js';
import { archivePass } from './binlogs.js';
import { enqueueBackup } from './enqueue.js';
import { archiveDeps } from './ops.js';
import { DEFAULT_PLAN } from './retention.js';

// What `rdsctl worker --schedule` does before each poll: enqueue the backup tasks that are due
// by each instance's backup plan, and run the log plan (archive closed binlogs, rotating the
// binlog once it is older than the upload interval) for instances whose last pass is older
// than that interval.

export interface Due {
  custins_id: number;
  ins_name: string;
  window_start: string;
  window_end: string;
  full_interval_hours: number;
  newest: Date | null;
}

/** Is `now` (UTC) inside the daily window [start, end)? A window may wrap midnight. */
export function inWindow(now: Date, start: string, end: string): boolean {
  const sec = (t: string): number => {
    const [h = 0, m = 0, s = 0] = t.split(':').map(Number);
    return h * 3600 + m * 60 + s;
  };
  const n = now.getUTCHours() * 3600 + now.getUTCMinutes() * 60 + now.getUTCSeconds();
  const a = sec(start);
  const b = sec(end);
  return a <= b ? n >= a && n < b : n >= a || n < b;
}

export function isDue(d: Due, now: Date): boolean {
  if (!inWindow(now, d.window_start, d.window_end)) return false;
  return d.newest === null || now.getTime() - d.newest.getTime() >= d.full_interval_hours * 3600_000;
}

export async function dueBackups(ctx: Context, now: Date): Promise<Due[]> {
  const rows = await ctx.db('dbaas').query<Due>(
    `SELECT c.id AS custins_id, c.ins_name, COALESCE(p.window_start, ?) AS window_start, COALESCE(p.window_end, ?) AS window_end,
            COALESCE(p.full_interval_hours, ?) AS full_interval_hours,
            (SELECT MAX(b.gmt_consistent) FROM baklist b WHERE b.custins_id = c.id AND b.store_host IS NOT NULL AND b.status = 'success' AND b.verify_status <> 'failed') AS newest
       FROM custins c LEFT JOIN backup_plan p ON p.custins_id = c.id
      WHERE c.status = 'running' AND COALESCE(p.status, 'active') = 'active'
        AND NOT EXISTS (SELECT 1 FROM task_queue q WHERE q.custins_id = c.id AND q.status IN ('pending','running','paused'))
      ORDER BY c.id`,
    [DEFAULT_PLAN.window_start, DEFAULT_PLAN.window_end, DEFAULT_PLAN.full_interval_hours],
  );
  return rows.filter((r) => isDue({ ...r, window_start: String(r.window_start), window_end: String(r.window_end) }, now));
}

export interface ScheduleReport {
  enqueued: Array<{ ins_name: string; task_id: number }>;
  archived: Array<{ ins_name: string; files: string[] }>;
  errors: string[];
}

export async function schedulePass(ctx: Context, now: Date): Promise<ScheduleReport> {
  const db = ctx.db('dbaas');
  const out: ScheduleReport = { enqueued: [], archived: [], errors: [] };
  for (const d of await dueBackups(ctx, now)) {
    try {
      const custins = await findCustins(db, String(d.custins_id));
      const q = await db.transaction((tx) => enqueueBackup(tx, custins, { createdBy: ctx.osUser, reason: 'scheduled by the backup plan', scheduled: true }));
      out.enqueued.push({ ins_name: d.ins_name, task_id: q.taskId });
    } catch (e) {
      if (!(e instanceof ConflictError)) out.errors.push(`${d.ins_name}: ${describeError(e).message}`);
    }
  }
  const logs = await db.query<CustinsRow & { upload_interval_sec: number }>(
    `SELECT c.*, l.upload_interval_sec FROM custins c JOIN logplan l ON l.custins_id = c.id AND l.status = 'active'
      WHERE c.status = 'running' AND NOT EXISTS (SELECT 1 FROM binlog_archive a WHERE a.custins_id = c.id AND a.gmt_created > UTC_TIMESTAMP() - INTERVAL l.upload_interval_sec SECOND)
        AND NOT EXISTS (SELECT 1 FROM task_queue q WHERE q.custins_id = c.id AND q.status IN ('pending','running','paused'))`,
  );
  for (const c of logs) {
    try {
      const r = await archivePass(await archiveDeps(ctx, c), { signal: ctx.signal, attempt: 0 }, { rotate: true });
      if (r.archived.length) out.archived.push({ ins_name: c.ins_name, files: r.archived });
    } catch (e) {
      out.errors.push(`${c.ins_name}: binlog archive: ${describeError(e).message}`);
    }
  }
  return out;
}
