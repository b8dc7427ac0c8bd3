import type { Context } from '../core/context.js';
import { describeError } from '../core/errors.js';
import { newOwner } from '../flow/lease.js';
import type { Plan } from '../core/mutation.js';
import { Collector } from './collector.js';
import { hostReadScript } from './host.js';
import { pruneMonitors, ShardLeases } from './shards.js';
import { applyRetention, insertDbSizes, insertSamples, type RetentionResult } from './store.js';
import { loadTargets, SHARDS, type MonitorTarget } from './targets.js';

// `rdsctl monitor`: sample every instance of the shards this monitor holds, every interval, into
// dbaas.perf_sample; database sizes at a slower interval; fold and expire old samples. The loop
// keeps its MySQL connections and SSH connections across rounds; a round that overruns the
// interval starts the next one at once instead of piling up.

export interface MonitorOptions {
  once: boolean;
  intervalMs: number;
  dbIntervalMs: number;
  /** du of datadirs and binlogs: slower than the rest (a big datadir is thousands of files). */
  diskIntervalMs: number;
  ttlSec: number;
  /** Stop after this many rounds (0: until SIGTERM/Ctrl-C). */
  rounds: number;
  concurrency: number;
}

export interface RoundReport {
  round: number;
  at: Date;
  shards: number[];
  live_monitors: number;
  instances: number;
  ok: number;
  gaps: number;
  db_sizes: number;
  took_ms: number;
  /** MySQL connections held now, and opened since the monitor started (equal to instances when every one is reused). */
  connections: number;
  connections_opened: number;
  retention: RetentionResult | null;
  invalid: string[];
}

export interface MonitorEvents {
  onRound(r: RoundReport): void;
  onError(message: string): void;
  onShards?(claimed: number[], released: number[]): void;
}

export const RETENTION_EVERY_MS = 5 * 60 * 1000;

export async function runMonitor(ctx: Context, o: MonitorOptions, ev: MonitorEvents): Promise<RoundReport[]> {
  const db = ctx.db('dbaas');
  const profile = ctx.profile();
  const leases = new ShardLeases(db, newOwner(), o.ttlSec);
  const collector = new Collector({ dbaas: db, clock: ctx.clock, ssh: await ctx.ssh(), concurrency: o.concurrency, signal: ctx.signal });
  const reports: RoundReport[] = [];
  let instances = 0;
  // Lease upkeep runs on its own timer too, so a slow round (timeouts) cannot let the leases lapse.
  let upkeep: Promise<unknown> = Promise.resolve();
  const rebalance = (all = false): Promise<Awaited<ReturnType<ShardLeases['rebalance']>> | null> => {
    const p = upkeep.then(() => leases.rebalance({ all, instances })).then(
      (st) => {
        if (st.claimed.length || st.released.length) ev.onShards?.(st.claimed, st.released);
        return st;
      },
      (e) => {
        ev.onError(`shard leases: ${describeError(e).message}`);
        return null;
      },
    );
    upkeep = p;
    return p;
  };
  const timer = o.once ? undefined : setInterval(() => void rebalance(), Math.max(200, (o.ttlSec * 1000) / 3));
  timer?.unref();
  let lastDb = -Infinity;
  let lastDisk = -Infinity;
  let lastRetention = -Infinity;
  try {
    if (o.once) {
      const st = await rebalance(true);
      if (!st) return reports;
      const { targets } = await loadTargets(db, profile, { shards: st.held });
      // One sample needs two readings for its rates: the first primes, the second is recorded.
      await collector.prime(targets);
      await ctx.clock.sleep(o.intervalMs, ctx.signal).catch(() => undefined);
      if (ctx.signal.aborted) return reports;
      reports.push(await round(1, st.held, st.live, { db: true, disk: true, retention: true }));
      return reports;
    }
    let next = ctx.clock.now().getTime();
    for (let n = 1; !ctx.signal.aborted && (o.rounds === 0 || n <= o.rounds); n++) {
      const st = await rebalance();
      if (st) {
        const now = ctx.clock.now().getTime();
        // A little slack: a round that starts a few ms early still counts as on time.
        const due = (last: number, every: number): boolean => now - last >= every - Math.min(1000, o.intervalMs / 2);
        const doing = { db: due(lastDb, o.dbIntervalMs), disk: due(lastDisk, o.diskIntervalMs), retention: due(lastRetention, RETENTION_EVERY_MS) };
        try {
          const r = await round(n, st.held, st.live, doing);
          if (doing.db) lastDb = now;
          if (doing.disk) lastDisk = now;
          if (doing.retention) lastRetention = now;
          reports.push(r);
          if (reports.length > 100) reports.shift();
        } catch (e) {
          ev.onError(`round ${n}: ${describeError(e).message}`);
        }
      }
      next += o.intervalMs;
      const now = ctx.clock.now().getTime();
      if (next < now) next = now;
      await ctx.clock.sleep(next - now, ctx.signal).catch(() => undefined);
    }
    return reports;
  } finally {
    if (timer) clearInterval(timer);
    await upkeep.catch(() => undefined);
    await collector.close();
    await leases.releaseAll();
  }

  async function round(n: number, shards: number[], live: number, doing: { db: boolean; disk: boolean; retention: boolean }): Promise<RoundReport> {
    const started = ctx.clock.now();
    const { targets, invalid } = await loadTargets(db, profile, { shards });
    for (const bad of invalid) ev.onError(`skipped: ${bad}`);
    instances = targets.length;
    collector.retain(new Set(targets.map((t) => t.instanceId)));
    const rows = await collector.sample(targets, { sizes: doing.disk });
    if (ctx.signal.aborted && rows.every((r) => !r.ok)) throw new Error('interrupted during the round; nothing recorded');
    await insertSamples(db, rows);
    let dbSizes = 0;
    if (doing.db) {
      const sizes = await collector.dbSizes(targets.filter((t) => t.role === 'master'));
      await insertDbSizes(db, sizes);
      dbSizes = sizes.length;
    }
    let retention: RetentionResult | null = null;
    if (doing.retention) {
      retention = await applyRetention(db, shards, ctx.clock.now());
      await pruneMonitors(db);
    }
    const r: RoundReport = {
      round: n,
      at: started,
      shards,
      live_monitors: live,
      instances: targets.length,
      ok: rows.filter((x) => x.ok).length,
      gaps: rows.filter((x) => !x.ok).length,
      db_sizes: dbSizes,
      took_ms: ctx.clock.now().getTime() - started.getTime(),
      connections: collector.connections(),
      connections_opened: collector.opened,
      retention,
      invalid,
    };
    ev.onRound(r);
    return r;
  }
}

/** What `monitor --dry-run` shows: the instances, who holds which shards now, and what a round runs and writes. */
export async function monitorPlan(ctx: Context, o: MonitorOptions): Promise<Plan> {
  const db = ctx.db('dbaas');
  const { targets, invalid } = await loadTargets(db, ctx.profile());
  const shards = await db.query<{ shard: number; owner: string | null; live: number }>('SELECT shard, owner, (expires_at > NOW(3)) AS live FROM perf_shard ORDER BY shard');
  const held = shards.filter((s) => s.owner && Number(s.live) === 1);
  const byNc = new Map<string, MonitorTarget[]>();
  for (const t of targets) byNc.set(t.host, [...(byNc.get(t.host) ?? []), t]);
  return {
    action: `monitor: sample ${targets.length} instance${targets.length === 1 ? '' : 's'} every ${o.intervalMs / 1000}s${o.once ? ' (once)' : ''}, disk use every ${o.diskIntervalMs / 1000}s, database sizes every ${o.dbIntervalMs / 1000}s`,
    targets: targets.map((t) => `${t.insName} ${t.role} ${t.host}:${t.port}`),
    sql: [
      { db: 'dbaas', statement: 'UPDATE perf_shard SET owner = ?, expires_at = NOW(3) + INTERVAL ? MICROSECOND, fencing_token = fencing_token + 1 WHERE owner IS NULL OR expires_at IS NULL OR expires_at < NOW(3) ORDER BY shard LIMIT ?', params: ['<this monitor>', o.ttlSec * 1e6, '<fair share>'] },
      { db: 'dbaas', statement: 'INSERT IGNORE INTO perf_sample (instance_id, ts, custins_id, ok, error, interval_ms, <metrics>) VALUES ?', params: [`<${targets.length} rows per round>`] },
    ],
    remote: [...byNc].map(([nc, list]) => ({ host: nc, command: hostReadScript(list.map((t) => ({ instanceId: t.instanceId, layout: t.layout })), { sizes: true }) })),
    notes: [
      `${held.length} of ${SHARDS} shards are leased now${held.length ? ` (${[...new Set(held.map((h) => h.owner))].join(', ')})` : ''}; this monitor would take ${o.once ? 'every free shard' : 'its fair share'}`,
      ...targets.map((t) => `${t.insName} ${t.role}: MySQL ${t.ip}:${t.port} as the maintenance account, shard ${t.instanceId % SHARDS}`),
      ...invalid.map((x) => `skipped: ${x}`),
    ],
    extra: { instances: targets.map((t) => ({ ins_name: t.insName, role: t.role, instance_id: t.instanceId, host: t.host, ip: t.ip, port: t.port, shard: t.instanceId % SHARDS })) },
  };
}
