import type { Db } from '../remote/mysql.js';
import { ownerIsProvablyDead } from '../flow/lease.js';
import { SHARDS } from './targets.js';

// How several monitors share the fleet. Instances fall into SHARDS shards (instance_id % SHARDS);
// each shard is leased to one monitor in dbaas.perf_shard, like task leases: a claim is one
// conditional UPDATE that only a free or expired lease lets through, the lease is renewed while
// the monitor runs, and a dead monitor's shards are claimable once their lease expires (at once
// when the dead monitor was a process on this host). Every monitor heartbeats in perf_monitor,
// so each knows how many are alive and takes its fair share, ceil(SHARDS / live): a new monitor
// gets shards because the others release what they hold above their share.

export interface ShardState {
  held: number[];
  live: number;
  target: number;
  claimed: number[];
  released: number[];
}

export class ShardLeases {
  private heldSet = new Set<number>();

  constructor(
    private readonly db: Db,
    readonly owner: string,
    readonly ttlSec: number,
  ) {}

  held(): number[] {
    return [...this.heldSet].sort((a, b) => a - b);
  }

  /**
   * Heartbeat, renew, then balance: release above the fair share, claim up to it.
   * `all` (for --once): claim every shard that is free, whatever the share.
   */
  async rebalance(o: { all?: boolean; instances?: number } = {}): Promise<ShardState> {
    const ttlUs = this.ttlSec * 1e6;
    await this.db.execute(
      `INSERT INTO perf_monitor (owner, expires_at, started_at, shards, instances) VALUES (?, NOW(3) + INTERVAL ? MICROSECOND, NOW(3), ?, ?)
       ON DUPLICATE KEY UPDATE expires_at = VALUES(expires_at), shards = VALUES(shards), instances = VALUES(instances)`,
      [this.owner, ttlUs, this.heldSet.size, o.instances ?? 0],
    );
    // Renew what is still ours; anything not renewed was taken over after it expired.
    await this.db.execute('UPDATE perf_shard SET expires_at = NOW(3) + INTERVAL ? MICROSECOND WHERE owner = ? AND expires_at > NOW(3)', [ttlUs, this.owner]);
    const mine = await this.db.query<{ shard: number }>('SELECT shard FROM perf_shard WHERE owner = ? AND expires_at > NOW(3)', [this.owner]);
    this.heldSet = new Set(mine.map((r) => Number(r.shard)));

    const monitors = await this.db.query<{ owner: string }>('SELECT owner FROM perf_monitor WHERE expires_at > NOW(3)');
    const live = Math.max(1, monitors.filter((m) => m.owner === this.owner || !ownerIsProvablyDead(m.owner)).length);
    const target = o.all ? SHARDS : Math.ceil(SHARDS / live);
    const released: number[] = [];
    const claimed: number[] = [];

    if (this.heldSet.size > target) {
      const extra = this.held().slice(target);
      await this.db.execute('UPDATE perf_shard SET owner = NULL, expires_at = NULL WHERE owner = ? AND shard IN (?)', [this.owner, extra]);
      for (const s of extra) this.heldSet.delete(s);
      released.push(...extra);
    } else if (this.heldSet.size < target) {
      // Shards of monitors that died on this host are free now, not after their TTL.
      const stale = await this.db.query<{ shard: number; owner: string; fencing_token: number }>(
        'SELECT shard, owner, fencing_token FROM perf_shard WHERE owner IS NOT NULL AND owner <> ? AND expires_at > NOW(3)',
        [this.owner],
      );
      for (const s of stale.filter((x) => ownerIsProvablyDead(x.owner))) {
        await this.db.execute('UPDATE perf_shard SET owner = NULL, expires_at = NULL WHERE shard = ? AND owner = ? AND fencing_token = ?', [s.shard, s.owner, s.fencing_token]);
      }
      const want = target - this.heldSet.size;
      await this.db.execute(
        `UPDATE perf_shard SET owner = ?, expires_at = NOW(3) + INTERVAL ? MICROSECOND, fencing_token = fencing_token + 1
          WHERE owner IS NULL OR expires_at IS NULL OR expires_at < NOW(3) ORDER BY shard LIMIT ?`,
        [this.owner, ttlUs, want],
      );
      const now = await this.db.query<{ shard: number }>('SELECT shard FROM perf_shard WHERE owner = ? AND expires_at > NOW(3)', [this.owner]);
      for (const r of now) {
        const s = Number(r.shard);
        if (!this.heldSet.has(s)) claimed.push(s);
        this.heldSet.add(s);
      }
    }
    return { held: this.held(), live, target, claimed, released };
  }

  /** Give every shard back and leave the monitor list: a graceful stop hands over at once. */
  async releaseAll(): Promise<void> {
    await this.db.execute('UPDATE perf_shard SET owner = NULL, expires_at = NULL WHERE owner = ?', [this.owner]).catch(() => undefined);
    await this.db.execute('DELETE FROM perf_monitor WHERE owner = ?', [this.owner]).catch(() => undefined);
    this.heldSet.clear();
  }
}

/** perf_monitor rows of monitors long gone are removed by whoever sees them. */
export async function pruneMonitors(db: Db): Promise<void> {
  await db.execute('DELETE FROM perf_monitor WHERE expires_at < NOW(3) - INTERVAL 1 HOUR');
}
