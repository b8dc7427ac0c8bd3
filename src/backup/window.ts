import { ConflictError, UsageError } from '../core/errors.js';
import type { ArchivedBinlog } from './binlogs.js';
import { binlogSeq } from './binlogs.js';
import type { BackupSetRow } from './sets.js';

// Which moments of an instance can be recovered, and how: a full set consistent at or before
// the moment plus an unbroken run of archived binlogs from that set to the moment. Pure: the
// inputs are the metadb rows, so the rules are unit-tested without a lab.
//
// Binlog events carry whole seconds, so recovery points are whole seconds (UTC): "to TIME" means
// every transaction whose binlog timestamp is at or before TIME, i.e. mariadb-binlog
// --stop-datetime=TIME+1s. A writer stamping rows with NOW() in the same statement sees exactly
// the rows it stamped at or before TIME.

export interface Window {
  from: Date;
  to: Date;
}

export interface Coverage {
  set: BackupSetRow;
  /** Archived binlogs after the set, in replay order (one host's unbroken run). */
  files: ArchivedBinlog[];
  /** The last recoverable second with this set. */
  to: Date;
}

function sec(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

export function coverageOf(set: BackupSetRow, binlogs: ArchivedBinlog[]): Coverage {
  const from = set.gmt_consistent!;
  const started = set.gmt_started ?? from;
  let best: Coverage = { set, files: [], to: from };
  const hosts = [...new Set(binlogs.map((b) => b.host_name))];
  for (const h of hosts) {
    const mine = binlogs.filter((b) => b.host_name === h && b.last_event_time && b.first_event_time).sort((a, b) => binlogSeq(a.file_name) - binlogSeq(b.file_name));
    const after = mine.filter((b) => b.last_event_time! >= started);
    if (!after.length) continue;
    const first = after[0]!;
    // The run must reach back to the set: its first file began before the set was consistent,
    // or the file before it (which ended before the backup started) is archived too.
    const joined = first.first_event_time! <= from || mine.some((b) => binlogSeq(b.file_name) === binlogSeq(first.file_name) - 1);
    if (!joined) continue;
    const run = [first];
    for (const b of after.slice(1)) {
      if (binlogSeq(b.file_name) !== binlogSeq(run[run.length - 1]!.file_name) + 1) break;
      run.push(b);
    }
    const to = run[run.length - 1]!.last_event_time!;
    if (to > best.to) best = { set, files: run, to };
  }
  return best;
}

/** The whole recoverable window (null without a restorable set): from the oldest set to the furthest its binlogs reach. */
export function recoverableWindow(sets: BackupSetRow[], binlogs: ArchivedBinlog[]): Window | null {
  const good = sets.filter((s) => s.gmt_consistent);
  if (!good.length) return null;
  const covs = good.map((s) => coverageOf(s, binlogs));
  return { from: new Date(Math.min(...good.map((s) => s.gmt_consistent!.getTime()))), to: new Date(Math.max(...covs.map((c) => c.to.getTime()))) };
}

export function windowText(w: Window | null): string {
  return w ? `${iso(w.from)} .. ${iso(w.to)}` : 'none (no full backup set in the store yet)';
}

export function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface RecoveryPlan {
  set: BackupSetRow;
  /** The recovery point (whole seconds) or null for "the set as it is". */
  time: Date | null;
  files: ArchivedBinlog[];
  /** mariadb-binlog --stop-datetime (UTC, exclusive): time + 1 s. */
  stopDatetime: string | null;
}

/** "YYYY-MM-DD HH:MM:SS" for mariadb-binlog run with TZ=UTC. */
export function sqlDatetime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * The newest set consistent at or before `time` whose binlogs reach `time`. A time outside the
 * window, or in a gap of it, is refused with the window in the message.
 */
export function planToTime(sets: BackupSetRow[], binlogs: ArchivedBinlog[], time: Date, now: Date): RecoveryPlan {
  const t = new Date(sec(time) * 1000);
  const w = recoverableWindow(sets, binlogs);
  if (t.getTime() > now.getTime()) throw new UsageError(`--to-time ${iso(t)} is in the future; recoverable window: ${windowText(w)}`);
  const newestFirst = sets.filter((s) => s.gmt_consistent && sec(s.gmt_consistent) <= sec(t)).sort((a, b) => b.gmt_consistent!.getTime() - a.gmt_consistent!.getTime() || b.id - a.id);
  for (const s of newestFirst) {
    const cov = coverageOf(s, binlogs);
    if (sec(cov.to) >= sec(t)) {
      const files = cov.files.filter((b) => sec(b.first_event_time!) <= sec(t));
      return { set: s, time: t, files, stopDatetime: sqlDatetime(new Date(t.getTime() + 1000)) };
    }
  }
  throw new UsageError(`--to-time ${iso(t)} is outside the recoverable window ${windowText(w)}`);
}

/** --latest: the furthest moment the archive reaches. */
export function planLatest(sets: BackupSetRow[], binlogs: ArchivedBinlog[]): RecoveryPlan {
  let best: Coverage | null = null;
  for (const s of sets.filter((x) => x.gmt_consistent)) {
    const c = coverageOf(s, binlogs);
    if (!best || c.to > best.to || (c.to.getTime() === best.to.getTime() && s.gmt_consistent! > best.set.gmt_consistent!)) best = c;
  }
  if (!best) throw new ConflictError('no full backup set in the store to clone from (take one with `rdsctl instance backup`)');
  return { set: best.set, time: best.to, files: best.files, stopDatetime: sqlDatetime(new Date(best.to.getTime() + 1000)) };
}

/** --backup ID: the set as it is, no binlogs. */
export function planFromSet(set: BackupSetRow): RecoveryPlan {
  return { set, time: null, files: [], stopDatetime: null };
}
