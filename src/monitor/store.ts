import type { Db } from '../remote/mysql.js';
import { METRIC_NAMES, type MetricName, type Metrics } from './metrics.js';
import { SHARDS } from './targets.js';

// The perf tables (fixtures/schema/dbaas/50-perf.sql): writes of samples, the roll-up that keeps
// a day of raw samples and 5-minute buckets beyond, and the reads of `instance perf`.

export const RAW_RETENTION_MS = 24 * 3600 * 1000;
export const ROLLUP_BUCKET_SEC = 300;
export const ROLLUP_RETENTION_MS = 30 * 24 * 3600 * 1000;

export interface SampleRow {
  instanceId: number;
  custinsId: number;
  ts: Date;
  ok: boolean;
  error: string | null;
  intervalMs: number | null;
  metrics: Metrics;
}

export interface DbSizeRow {
  custinsId: number;
  dbName: string;
  ts: Date;
  sizeBytes: number;
  tables: number;
}

function dbValue(m: Metrics, n: MetricName): unknown {
  const v = m[n];
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

/** One multi-row INSERT per batch; a gap is a row with ok = 0 and NULL metrics. */
export async function insertSamples(db: Db, rows: SampleRow[]): Promise<void> {
  if (rows.length === 0) return;
  const cols = ['instance_id', 'ts', 'custins_id', 'ok', 'error', 'interval_ms', ...METRIC_NAMES];
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows.slice(i, i + 500).map((r) => [r.instanceId, r.ts, r.custinsId, r.ok ? 1 : 0, r.error ? r.error.slice(0, 255) : null, r.intervalMs, ...METRIC_NAMES.map((n) => dbValue(r.metrics, n))]);
    // The same (instance, ts) twice can only be a retried write of the same sample.
    await db.execute(`INSERT IGNORE INTO perf_sample (${cols.join(', ')}) VALUES ?`, [values]);
  }
}

export async function insertDbSizes(db: Db, rows: DbSizeRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.execute('INSERT IGNORE INTO db_perf_sample (custins_id, db_name, ts, size_bytes, tables) VALUES ?', [rows.map((r) => [r.custinsId, r.dbName, r.ts, r.sizeBytes, r.tables])]);
}

/** Bucket start of a DATETIME column, computed without the session time zone. */
const BUCKET = (col: string): string => `DATE_SUB(DATE_FORMAT(${col}, '%Y-%m-%d %H:%i:00'), INTERVAL MINUTE(${col}) % ${ROLLUP_BUCKET_SEC / 60} MINUTE)`;

const AVG_COLS = METRIC_NAMES.filter((n) => n !== 'repl_io' && n !== 'repl_sql' && n !== 'repl_lag_sec' && n !== 'slow_queries');

/** The roll-up cut: raw samples before it are folded. Aligned to a bucket, so every folded bucket is complete. */
export function rollupCutoff(now: Date): Date {
  const t = now.getTime() - RAW_RETENTION_MS;
  return new Date(t - (t % (ROLLUP_BUCKET_SEC * 1000)));
}

export interface RetentionResult {
  rolledUp: number;
  rawDeleted: number;
  rollupDeleted: number;
  dbRolledUp: number;
  dbRawDeleted: number;
}

/**
 * Fold raw samples older than a day into 5-minute buckets and delete them, then drop buckets
 * older than 30 days, for the given shards only (each monitor does its own). The fold and the
 * delete of one shard happen in one transaction, so a crash between them cannot count twice.
 */
export async function applyRetention(db: Db, shards: number[], now: Date): Promise<RetentionResult> {
  const out: RetentionResult = { rolledUp: 0, rawDeleted: 0, rollupDeleted: 0, dbRolledUp: 0, dbRawDeleted: 0 };
  if (shards.length === 0) return out;
  const cutoff = rollupCutoff(now);
  const oldest = new Date(now.getTime() - ROLLUP_RETENTION_MS);
  for (const shard of shards) {
    await db.transaction(async (tx) => {
      const r = await tx.execute(
        `INSERT INTO perf_rollup (instance_id, bucket, custins_id, bucket_sec, samples, gaps, ${AVG_COLS.join(', ')}, repl_lag_sec, slow_queries)
         SELECT instance_id, ${BUCKET('ts')} AS b, MAX(custins_id), ${ROLLUP_BUCKET_SEC}, COUNT(*), SUM(ok = 0),
                ${AVG_COLS.map((c) => `AVG(${c})`).join(', ')}, MAX(repl_lag_sec), SUM(slow_queries)
           FROM perf_sample WHERE MOD(instance_id, ${SHARDS}) = ? AND ts < ?
          GROUP BY instance_id, b
         ON DUPLICATE KEY UPDATE samples = VALUES(samples), gaps = VALUES(gaps), ${[...AVG_COLS, 'repl_lag_sec', 'slow_queries'].map((c) => `${c} = VALUES(${c})`).join(', ')}`,
        [shard, cutoff],
      );
      out.rolledUp += r.affectedRows;
      out.rawDeleted += (await tx.execute(`DELETE FROM perf_sample WHERE MOD(instance_id, ${SHARDS}) = ? AND ts < ?`, [shard, cutoff])).affectedRows;
    });
    out.rollupDeleted += (await db.execute(`DELETE FROM perf_rollup WHERE MOD(instance_id, ${SHARDS}) = ? AND bucket < ?`, [shard, oldest])).affectedRows;
  }
  // Database sizes belong to a custins; its shard is the custins id's.
  await db.transaction(async (tx) => {
    out.dbRolledUp += (
      await tx.execute(
        `INSERT INTO db_perf_rollup (custins_id, db_name, bucket, bucket_sec, size_bytes, tables)
         SELECT custins_id, db_name, ${BUCKET('ts')} AS b, ${ROLLUP_BUCKET_SEC}, MAX(size_bytes), MAX(tables)
           FROM db_perf_sample WHERE MOD(custins_id, ${SHARDS}) IN (?) AND ts < ?
          GROUP BY custins_id, db_name, b
         ON DUPLICATE KEY UPDATE size_bytes = VALUES(size_bytes), tables = VALUES(tables)`,
        [shards, cutoff],
      )
    ).affectedRows;
    out.dbRawDeleted += (await tx.execute(`DELETE FROM db_perf_sample WHERE MOD(custins_id, ${SHARDS}) IN (?) AND ts < ?`, [shards, cutoff])).affectedRows;
  });
  await db.execute(`DELETE FROM db_perf_rollup WHERE MOD(custins_id, ${SHARDS}) IN (?) AND bucket < ?`, [shards, oldest]);
  return out;
}

/** One point of a series: a raw sample, or a 5-minute bucket for times older than a day. */
export interface SeriesRow {
  ts: Date;
  ok: boolean;
  error: string | null;
  /** 'raw' or 'rollup' */
  source: 'raw' | 'rollup';
  values: Partial<Record<MetricName, number | string | null>>;
}

/** The series of one physical instance from `since` to `until`: rollups where raw samples are gone, then raw. */
export async function readSeries(db: Db, instanceId: number, since: Date, until: Date, metrics: MetricName[]): Promise<SeriesRow[]> {
  const cols = metrics.map((m) => `${m}`);
  const raw = await db.query<Record<string, unknown> & { ts: Date; ok: number; error: string | null }>(
    `SELECT ts, ok, error, ${cols.join(', ')} FROM perf_sample WHERE instance_id = ? AND ts >= ? AND ts <= ? ORDER BY ts`,
    [instanceId, since, until],
  );
  const firstRaw = raw[0]?.ts ?? until;
  const rollCols = metrics.map((m) => (m === 'repl_io' || m === 'repl_sql' ? `NULL AS ${m}` : m));
  const rolled =
    since < firstRaw
      ? await db.query<Record<string, unknown> & { bucket: Date; samples: number; gaps: number }>(
          `SELECT bucket, samples, gaps, ${rollCols.join(', ')} FROM perf_rollup WHERE instance_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
          [instanceId, new Date(since.getTime() - ROLLUP_BUCKET_SEC * 1000), firstRaw],
        )
      : [];
  const pick = (r: Record<string, unknown>): SeriesRow['values'] =>
    Object.fromEntries(metrics.map((m) => [m, r[m] === null || r[m] === undefined ? null : typeof r[m] === 'string' && m !== 'repl_io' && m !== 'repl_sql' ? Number(r[m]) : (r[m] as number | string)]));
  return [
    ...rolled.map((r) => {
      const gap = Number(r.gaps) >= Number(r.samples);
      return { ts: r.bucket, ok: !gap, error: gap ? 'every sample in this bucket failed' : null, source: 'rollup' as const, values: gap ? {} : pick(r) };
    }),
    ...raw.map((r) => ({ ts: r.ts, ok: r.ok === 1, error: r.error, source: 'raw' as const, values: r.ok === 1 ? pick(r) : {} })),
  ];
}
