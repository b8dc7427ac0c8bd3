import type { Context } from '../core/context.js';
import { NotFoundError } from '../core/errors.js';
import { findCustins } from '../rds/custins.js';
import { METRICS, round2, type MetricName } from './metrics.js';
import { readSeries, type SeriesRow } from './store.js';
import { targetOf } from './targets.js';

// `instance perf`: the recorded series of one physical instance over a window, with a summary
// per metric. Gaps (failed samples) stay gaps: value null, never averaged in as zero.

export interface MetricSeries {
  metric: MetricName;
  unit: string;
  /** The newest value since the last gap; null when the newest sample is a gap. */
  current: number | string | null;
  min: number | null;
  max: number | null;
  avg: number | null;
  points: Array<{ ts: Date; value: number | string | null }>;
}

export interface PerfView {
  ins_name: string;
  custins_id: number;
  instance_id: number;
  role: 'master' | 'slave';
  host: string;
  port: number;
  since: Date;
  until: Date;
  samples: number;
  gaps: Array<{ ts: Date; error: string | null }>;
  /** Whether the newest sample succeeded (null: no sample in the window). */
  last_ok: boolean | null;
  last_ts: Date | null;
  metrics: MetricSeries[];
}

/** The newest value of a metric since the last gap: disk use is read every few rounds, not every one. */
function latest(rows: SeriesRow[], m: MetricName): number | string | null {
  for (let i = rows.length - 1; i >= 0 && rows[i]!.ok; i--) {
    const v = rows[i]!.values[m];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

export function summarise(rows: SeriesRow[], metrics: MetricName[]): MetricSeries[] {
  const last = rows[rows.length - 1];
  return metrics.map((m) => {
    const def = METRICS.find((d) => d.name === m)!;
    const points = rows.map((r) => ({ ts: r.ts, value: r.ok ? (r.values[m] ?? null) : null }));
    const nums = def.numeric ? points.map((p) => p.value).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)) : [];
    return {
      metric: m,
      unit: def.unit,
      current: last && last.ok ? latest(rows, m) : null,
      min: nums.length ? Math.min(...nums) : null,
      max: nums.length ? Math.max(...nums) : null,
      avg: nums.length ? round2(nums.reduce((a, b) => a + b, 0) / nums.length) : null,
      points,
    };
  });
}

export async function perfView(ctx: Context, ref: string, o: { since: Date; until: Date; metrics: MetricName[]; standby: boolean }): Promise<PerfView> {
  const db = ctx.db('dbaas');
  const c = await findCustins(db, ref);
  const role = o.standby ? 'slave' : 'master';
  const t = await targetOf(db, ctx.profile(), c.id, role);
  if (!t) throw new NotFoundError(`instance ${c.ins_name} has no ${o.standby ? 'standby' : 'master'} in dbaas`);
  const rows = await readSeries(db, t.instanceId, o.since, o.until, o.metrics);
  const last = rows[rows.length - 1];
  return {
    ins_name: c.ins_name,
    custins_id: c.id,
    instance_id: t.instanceId,
    role,
    host: t.host,
    port: t.port,
    since: o.since,
    until: o.until,
    samples: rows.length,
    gaps: rows.filter((r) => !r.ok).map((r) => ({ ts: r.ts, error: r.error })),
    last_ok: last ? last.ok : null,
    last_ts: last ? last.ts : null,
    metrics: summarise(rows, o.metrics),
  };
}
