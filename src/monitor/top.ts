import type { Context } from '../core/context.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { Collector } from './collector.js';
import type { MetricName, Metrics } from './metrics.js';
import { loadTargets, type MonitorTarget } from './targets.js';

// `instance top`: innotop/mytop across the fleet. Every selected physical instance is read
// directly (one kept connection each, plus one SSH command per NC for mysqld's CPU and memory),
// every refresh; rates are over the time between two refreshes.

export interface TopRow {
  ins_name: string;
  role: 'master' | 'slave';
  host: string;
  port: number;
  instance_id: number;
  ok: boolean;
  error: string | null;
  metrics: Metrics;
}

export const SORT_KEYS = ['name', 'qps', 'tps', 'connections', 'threads_running', 'repl_lag_sec', 'bp_hit_pct', 'rows_read_ps', 'rows_written_ps', 'slow_queries', 'cpu_pct', 'mem_bytes'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface TopSelection {
  nc?: string;
  zone?: string;
  names: string[];
}

export class TopSession {
  private targets: MonitorTarget[] = [];

  private constructor(
    private readonly ctx: Context,
    private readonly sel: TopSelection,
    private readonly collector: Collector,
  ) {}

  /** With `host`, mysqld's CPU and memory are read on the NCs too (one SSH command per NC per refresh, no du). */
  static async open(ctx: Context, sel: TopSelection, o: { host: boolean }): Promise<TopSession> {
    const ssh = o.host ? await ctx.ssh() : null;
    return new TopSession(ctx, sel, new Collector({ dbaas: ctx.db('dbaas'), clock: ctx.clock, ssh, signal: ctx.signal }));
  }

  /** Load the selection (again on each call: instances come and go). */
  async load(): Promise<number> {
    const { targets } = await loadTargets(this.ctx.db('dbaas'), this.ctx.profile(), { ...(this.sel.nc ? { nc: this.sel.nc } : {}), ...(this.sel.zone ? { zone: this.sel.zone } : {}), ...(this.sel.names.length ? { names: this.sel.names } : {}) });
    if (this.sel.names.length) {
      const missing = this.sel.names.filter((n) => !targets.some((t) => t.insName === n));
      if (missing.length) throw new NotFoundError(`no running monitored instance named ${missing.join(', ')}`);
    }
    this.targets = targets;
    this.collector.retain(new Set(targets.map((t) => t.instanceId)));
    return targets.length;
  }

  async refresh(): Promise<TopRow[]> {
    const rows = await this.collector.sample(this.targets, { sizes: false });
    const byId = new Map(this.targets.map((t) => [t.instanceId, t]));
    return rows.map((r) => {
      const t = byId.get(r.instanceId)!;
      return { ins_name: t.insName, role: t.role, host: t.host, port: t.port, instance_id: t.instanceId, ok: r.ok, error: r.error, metrics: r.metrics };
    });
  }

  async close(): Promise<void> {
    await this.collector.close();
  }
}

export function parseSort(v: string): SortKey {
  if (!(SORT_KEYS as readonly string[]).includes(v)) throw new UsageError(`--sort ${v}: valid: ${SORT_KEYS.join(', ')}`);
  return v as SortKey;
}

/** Highest first for metrics (name: A→Z); failed reads last; `reverse` flips the order of the values. */
export function sortRows(rows: TopRow[], key: SortKey, reverse = false): TopRow[] {
  const dir = reverse ? -1 : 1;
  return [...rows].sort((a, b) => {
    if (a.ok !== b.ok) return a.ok ? -1 : 1;
    if (key === 'name') return dir * (a.ins_name.localeCompare(b.ins_name) || a.role.localeCompare(b.role));
    const x = a.metrics[key as MetricName] as number | null;
    const y = b.metrics[key as MetricName] as number | null;
    if (x === y) return a.ins_name.localeCompare(b.ins_name) || a.role.localeCompare(b.role);
    if (x === null) return 1;
    if (y === null) return -1;
    return dir * (y - x);
  });
}
