import type { AuditRecord } from './audit.js';
import type { Db } from '../remote/mysql.js';
import { UsageError } from './errors.js';

// `audit list`: intents and results joined by record id into one row per command run.
// A row whose result is missing is a command that was killed or crashed mid-way.

export interface AuditEntry {
  id: string;
  ts: string;
  user: string;
  profile: string;
  command: string;
  targets: string[];
  reason: string | null;
  dry_run: boolean;
  /** ok | failed | no-result (intent written, no result: killed mid-way or still running) */
  outcome: 'ok' | 'failed' | 'no-result';
  exit_code: number | null;
  finished_at: string | null;
  detail: Record<string, unknown>;
}

export interface AuditFilter {
  since?: Date;
  user?: string;
  target?: string;
  command?: string;
}

/** "30m", "2h", "7d" or an ISO time → a Date; anything else is a usage error. */
export function parseSince(v: string, now: Date): Date {
  return sinceResolver(v)(now);
}

/** --since checked once, when the flag is parsed; the result turns a clock's now into the time. */
export function sinceResolver(v: string): (now: Date) => Date {
  const m = /^(\d{1,6})([smhd])$/.exec(v.trim());
  if (m) {
    const ms = Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
    return (now) => new Date(now.getTime() - ms);
  }
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime())) throw new UsageError(`--since ${JSON.stringify(v)}: expected a duration like 30m, 2h, 7d or an ISO time`);
  return () => d;
}

export function joinRecords(records: AuditRecord[], f: AuditFilter): AuditEntry[] {
  const byId = new Map<string, AuditEntry>();
  for (const r of records) {
    if (r.phase === 'intent') {
      byId.set(r.id, {
        id: r.id, ts: r.ts, user: r.user, profile: r.profile, command: r.command, targets: r.targets, reason: r.reason,
        dry_run: r.dry_run, outcome: 'no-result', exit_code: null, finished_at: null, detail: r.detail,
      });
    } else {
      const e = byId.get(r.id);
      if (!e) continue;
      e.outcome = r.ok ? 'ok' : 'failed';
      e.exit_code = r.exit_code ?? null;
      e.finished_at = r.ts;
      e.detail = { ...e.detail, result: r.detail };
    }
  }
  return [...byId.values()].filter(
    (e) =>
      (!f.since || new Date(e.ts) >= f.since) &&
      (!f.user || e.user === f.user) &&
      (!f.command || e.command === f.command || e.command.startsWith(f.command + ' ')) &&
      (!f.target || e.targets.some((t) => t === f.target)),
  );
}

interface AuditRow {
  record_id: string; phase: 'intent' | 'result'; ts: Date; os_user: string; profile: string; command: string;
  targets: string; reason: string | null; dry_run: number; ok: number | null; exit_code: number | null; detail: string | null;
}

/** The metadb copy, narrowed in SQL by time and user (indexed), the rest in joinRecords. */
export async function readMetadbRecords(db: Db, f: AuditFilter, limit: number): Promise<AuditRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.since) {
    where.push('ts >= ?');
    params.push(f.since);
  }
  if (f.user) {
    where.push('os_user = ?');
    params.push(f.user);
  }
  params.push(limit);
  const rows = await db.query<AuditRow>(
    `SELECT record_id, phase, ts, os_user, profile, command, targets, reason, dry_run, ok, exit_code, detail
       FROM ops_audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ts DESC, id DESC LIMIT ?`,
    params,
  );
  // Newest first in SQL so that --limit keeps the newest records (as the local source does), then
  // back to time order for joinRecords.
  rows.reverse();
  return rows.map((r) => ({
    id: r.record_id, phase: r.phase, ts: r.ts.toISOString(), user: r.os_user, profile: r.profile, command: r.command,
    targets: safeJson<string[]>(r.targets, []), reason: r.reason, dry_run: Boolean(r.dry_run),
    detail: safeJson<Record<string, unknown>>(r.detail, {}), ...(r.ok === null ? {} : { ok: Boolean(r.ok) }), ...(r.exit_code === null ? {} : { exit_code: r.exit_code }),
  }));
}

function safeJson<T>(s: string | null, dflt: T): T {
  try {
    return s ? (JSON.parse(s) as T) : dflt;
  } catch {
    return dflt;
  }
}
