import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Db } from '../remote/mysql.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { TaskStatus } from './types.js';

// The lease that keeps two runners off one task. Claiming is one conditional UPDATE (MariaDB's
// row lock picks one winner); the winner's fencing token is the old token + 1. The runner renews
// on a timer. Every write it makes afterwards carries the token and the owner and requires an
// unexpired lease, so a runner whose lease expired or was taken over matches 0 rows on its next
// write and stops there (LeaseLostError) instead of overwriting the new runner's state.

/**
 * The claim: one UPDATE that only a free or expired lease lets through, so of two runners exactly
 * one sees affectedRows = 1. Params: owner, ttl (microseconds), task id, then `statuses` statuses.
 * `worker --dry-run` prints this same statement.
 */
export function claimStatement(statuses: number): string {
  return `UPDATE task_queue SET lease_owner = ?, lease_expires_at = NOW(3) + INTERVAL ? MICROSECOND, fencing_token = fencing_token + 1
        WHERE id = ? AND status IN (${Array.from({ length: statuses }, () => '?').join(',')}) AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < NOW(3))`;
}

export class LeaseLostError extends ConflictError {
  constructor(taskId: number, why: string) {
    super(`lost the lease on task ${taskId} (${why}); stopped before the next write`, { hint: `see \`rdsctl task show ${taskId}\`` });
  }
}

export function newOwner(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** The holder is a process on this host that no longer exists: its lease can be broken at once. */
export function ownerIsDeadHere(owner: string): boolean {
  const m = /^(.*):(\d+):[0-9a-f]+$/.exec(owner);
  if (!m || m[1] !== os.hostname()) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface ClaimOptions {
  owner: string;
  ttlSec: number;
  /** Task statuses this claim accepts (a worker takes pending/running; `step goto` also done/failed). */
  allow: TaskStatus[];
}

export class Lease {
  private lost: string | null = null;
  private lastRenewAt: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(why: string) => void> = [];

  private constructor(
    readonly db: Db,
    readonly taskId: number,
    readonly owner: string,
    readonly token: number,
    readonly ttlSec: number,
  ) {
    this.lastRenewAt = Date.now();
  }

  /** One winner; the loser gets ConflictError naming the holder. A dead holder on this host is taken over. */
  static async claim(db: Db, taskId: number, o: ClaimOptions): Promise<Lease> {
    const started = Date.now();
    const r = await db.execute(claimStatement(o.allow.length), [o.owner, o.ttlSec * 1e6, taskId, ...o.allow]);
    if (r.affectedRows === 1) return Lease.held(db, taskId, o, started);

    const rows = await db.query<{ status: TaskStatus; lease_owner: string | null; lease_expires_at: Date | null; fencing_token: number }>(
      'SELECT status, lease_owner, lease_expires_at, fencing_token FROM task_queue WHERE id = ?',
      [taskId],
    );
    const t = rows[0];
    if (!t) throw new NotFoundError(`task ${taskId} does not exist in dbaas.task_queue`);
    if (!o.allow.includes(t.status)) throw new ConflictError(`task ${taskId} is ${t.status}; this needs it ${o.allow.join(' or ')}`);
    if (t.lease_owner && ownerIsDeadHere(t.lease_owner)) {
      const started2 = Date.now();
      const s = await db.execute(
        `UPDATE task_queue SET lease_owner = ?, lease_expires_at = NOW(3) + INTERVAL ? MICROSECOND, fencing_token = fencing_token + 1
          WHERE id = ? AND lease_owner = ? AND fencing_token = ?`,
        [o.owner, o.ttlSec * 1e6, taskId, t.lease_owner, t.fencing_token],
      );
      if (s.affectedRows === 1) return Lease.held(db, taskId, o, started2);
    }
    const until = t.lease_expires_at ? ` until ${t.lease_expires_at.toISOString()}` : '';
    throw new ConflictError(`task ${taskId} is being run by ${t.lease_owner ?? 'another runner'} (lease${until})`, { hint: 'wait for it, or for the lease to expire if that runner died' });
  }

  private static async held(db: Db, taskId: number, o: ClaimOptions, started: number): Promise<Lease> {
    const rows = await db.query<{ fencing_token: number }>('SELECT fencing_token FROM task_queue WHERE id = ? AND lease_owner = ?', [taskId, o.owner]);
    if (!rows[0]) throw new LeaseLostError(taskId, 'taken over right after the claim');
    const lease = new Lease(db, taskId, o.owner, Number(rows[0].fencing_token), o.ttlSec);
    lease.lastRenewAt = started;
    return lease;
  }

  /** Renew every third of the TTL. Timer is unref'd: it never keeps the process alive. */
  startRenewal(): void {
    const every = Math.max(200, (this.ttlSec * 1000) / 3);
    this.timer = setInterval(() => void this.renew(), every);
    this.timer.unref();
  }

  async renew(): Promise<void> {
    if (this.lost) return;
    const started = Date.now();
    try {
      const r = await this.db.execute(
        'UPDATE task_queue SET lease_expires_at = NOW(3) + INTERVAL ? MICROSECOND WHERE id = ? AND lease_owner = ? AND fencing_token = ? AND lease_expires_at > NOW(3)',
        [this.ttlSec * 1e6, this.taskId, this.owner, this.token],
      );
      if (r.affectedRows === 1) this.lastRenewAt = started;
      else this.markLost('taken over or expired');
    } catch {
      // metadb unreachable: keep trying; assertHeld() gives up once the TTL has run out locally.
    }
  }

  onLost(fn: (why: string) => void): void {
    this.listeners.push(fn);
  }

  private markLost(why: string): void {
    if (this.lost) return;
    this.lost = why;
    for (const fn of this.listeners) fn(why);
  }

  /** Before a remote effect: the lease must still be ours by the local clock (with a margin). */
  assertHeld(): void {
    if (!this.lost && Date.now() - this.lastRenewAt > this.ttlSec * 1000 * 0.9) this.markLost('not renewed within its TTL');
    if (this.lost) throw new LeaseLostError(this.taskId, this.lost);
  }

  /** SQL condition on task_queue alias q that holds only while this lease is current. */
  fence(): { sql: string; params: unknown[] } {
    return { sql: 'q.id = ? AND q.lease_owner = ? AND q.fencing_token = ? AND q.lease_expires_at > NOW(3)', params: [this.taskId, this.owner, this.token] };
  }

  /** A write whose statement includes fence(); 0 rows matched means the lease is gone. */
  async write(sql: string, params: unknown[], db: Db = this.db): Promise<void> {
    this.assertHeld();
    const r = await db.execute(sql, params);
    if (r.affectedRows === 0) {
      this.markLost('fencing token no longer current');
      throw new LeaseLostError(this.taskId, this.lost!);
    }
  }

  /** A transaction that first locks the task row and checks the fence: metadb writes of a step. */
  async tx<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    this.assertHeld();
    return this.db.transaction(async (tx) => {
      const ok = await tx.query(`SELECT q.id FROM task_queue q WHERE ${this.fence().sql} FOR UPDATE`, this.fence().params);
      if (!ok.length) {
        this.markLost('fencing token no longer current');
        throw new LeaseLostError(this.taskId, this.lost!);
      }
      return fn(tx);
    });
  }

  /** Give the task back: owner cleared, token kept (it only ever grows). */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.lost) return;
    // From here on a straggling step (one that ignored its abort) must not write anything.
    this.lost = 'released';
    await this.db.execute('UPDATE task_queue SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND fencing_token = ?', [this.taskId, this.owner, this.token]).catch(() => undefined);
  }

  isLost(): boolean {
    return this.lost !== null;
  }
}
