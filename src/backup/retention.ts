import type { InstallCtx } from '../flow/install/context.js';
import type { StepScope } from '../flow/types.js';
import type { Db } from '../remote/mysql.js';
import { sh } from '../remote/quote.js';
import { archivedBinlogs } from './binlogs.js';
import type { StoreScope } from './context.js';
import { removeSetScript } from './scripts.js';
import { lastGoodFull, listSets, restorableSets, type BackupSetRow } from './sets.js';
import { setDir } from './store.js';

// Retention: sets older than the plan's retention_days go, and so do archived binlogs that no
// kept set needs (they ended before the oldest kept set started). The newest good full set is
// never removed, whatever its age: without it nothing could be restored.

export interface BackupPlan {
  custins_id: number;
  window_start: string;
  window_end: string;
  full_interval_hours: number;
  retention_days: number;
  status: 'active' | 'paused' | 'deleted';
}

export const DEFAULT_PLAN: Omit<BackupPlan, 'custins_id'> = { window_start: '02:00:00', window_end: '06:00:00', full_interval_hours: 24, retention_days: 7, status: 'active' };

export async function planOf(db: Db, custinsId: number): Promise<BackupPlan> {
  const r = (await db.query<BackupPlan>('SELECT custins_id, window_start, window_end, full_interval_hours, retention_days, status FROM backup_plan WHERE custins_id = ?', [custinsId]))[0];
  return r ?? { custins_id: custinsId, ...DEFAULT_PLAN };
}

/** Which sets retention removes now (pure, for tests and --dry-run). */
export function expiredSets(sets: BackupSetRow[], keep: BackupSetRow | null, retentionDays: number, now: Date): BackupSetRow[] {
  const cutoff = now.getTime() - retentionDays * 86400_000;
  return sets.filter((s) => s.store_host !== null && s.id !== keep?.id && s.status !== 'running' && s.status !== 'pending' && (s.gmt_consistent ?? s.gmt_created).getTime() < cutoff);
}

export async function applyRetention(c: InstallCtx & StoreScope, s: StepScope, now: Date = new Date()): Promise<{ removedSets: number[]; removedBinlogs: string[]; summary: string }> {
  const plan = await planOf(c.db, c.custins.id);
  const keep = await lastGoodFull(c.db, c.custins.id);
  const all = await listSets(c.db, { custinsId: c.custins.id, limit: 10000 });
  const gone = expiredSets(all, keep, plan.retention_days, now);
  for (const set of gone) {
    await c.onStore(removeSetScript(setDir(c.store, c.custins.ins_name, set.backup_set)), s);
    await c.tx((tx) => tx.execute("UPDATE baklist SET status = 'deleted' WHERE id = ?", [set.id]));
  }
  const kept = await restorableSets(c.db, c.custins.id);
  const oldest = kept.length ? Math.min(...kept.map((k) => (k.gmt_started ?? k.gmt_consistent!).getTime())) : null;
  const removedBinlogs: string[] = [];
  if (oldest !== null) {
    for (const b of await archivedBinlogs(c.db, c.custins.id)) {
      if (!b.last_event_time || b.last_event_time.getTime() >= oldest) continue;
      await c.onStore(sh`rm -f -- ${b.store_path}`, s);
      await c.tx((tx) => tx.execute("UPDATE binlog_archive SET status = 'deleted' WHERE id = ?", [b.id]));
      removedBinlogs.push(b.file_name);
    }
  }
  const summary = `retention ${plan.retention_days} d: ${gone.length} sets removed${gone.length ? ` (${gone.map((g) => g.id).join(', ')})` : ''}, ${removedBinlogs.length} binlogs removed; kept newest good full set ${keep?.id ?? '-'}`;
  return { removedSets: gone.map((g) => g.id), removedBinlogs, summary };
}
