import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { isDeadlock, type Db } from '../remote/mysql.js';
import { FENCE_LOST, type Fence, type Mutation, type TaskStore } from './store.js';
import type { TaskStatus } from './types.js';

// The lease that keeps two runners off one task. Claiming is one conditional change in the store
// (one winner); the winner's fencing token is the old token + 1. The runner renews on the clock.
// Every change it makes afterwards carries the token and the owner and requires an unexpired
// lease, so a runner whose lease expired or was taken over changes nothing on its next write and
// stops there (LeaseLostError) instead of overwriting the new runner's state.

export class LeaseLostError extends ConflictError {
  constructor(taskId: number, why: string) {
    super(`lost the lease on task ${taskId} (${why}); stopped before the next write`, { hint: `see \`rdsctl task show ${taskId}\`` });
  }
}

/** Another runner holds the task's lease (a typed result for workers; exit 9 for commands). */
export class TaskBusyError extends ConflictError {
  constructor(
    readonly taskId: number,
    readonly holder: string | null,
    readonly expiresAt: Date | null,
  ) {
    super(`task ${taskId} is being run by ${holder ?? 'another runner'} (lease${expiresAt ? ` until ${expiresAt.toISOString()}` : ''})`, {
      hint: `wait for it, stop it with \`rdsctl task cancel ${taskId} --reason …\`, or wait for the lease to expire if that runner died`,
    });
  }
}

/** The task is in a state this action does not accept. */
export class TaskStateError extends ConflictError {
  constructor(
    readonly taskId: number,
    readonly status: TaskStatus,
    allow: readonly TaskStatus[],
  ) {
    super(`task ${taskId} is ${status}; this needs it ${allow.join(' or ')}`);
  }
}

// ---- who holds a lease -------------------------------------------------------------------------

/**
 * A runner's identity: host, pid, a nonce, and what makes "this pid is gone" a proof of death:
 * the boot id (same kernel run), the PID namespace (the pid means the same process) and the
 * process start time (the pid was not reused). Format: host:pid:nonce:bootid:pidns:start.
 */
export interface OwnerId {
  host: string;
  pid: number;
  nonce: string;
  bootId: string;
  pidNs: string;
  start: string;
}

function readTrim(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
export function processStart(pid: number | 'self'): string {
  const stat = readTrim(`/proc/${pid}/stat`);
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? '';
}

function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
  } catch {
    return '';
  }
}

export function localIdentity(): Omit<OwnerId, 'nonce'> {
  return { host: os.hostname(), pid: process.pid, bootId: readTrim('/proc/sys/kernel/random/boot_id'), pidNs: pidNamespace(), start: processStart('self') };
}

export function newOwner(self: Omit<OwnerId, 'nonce'> = localIdentity()): string {
  return `${self.host}:${self.pid}:${randomBytes(3).toString('hex')}:${self.bootId || '-'}:${self.pidNs || '-'}:${self.start || '-'}`;
}

export function parseOwner(owner: string): OwnerId | null {
  const m = /^([^:\s]+):(\d{1,10}):([0-9a-f]+):([0-9a-f-]{1,64}):(\d+|-):(\d+|-)$/.exec(owner);
  if (!m) return null;
  return { host: m[1]!, pid: Number(m[2]), nonce: m[3]!, bootId: m[4]!, pidNs: m[5]!, start: m[6]! };
}

/**
 * The holder is provably dead: it ran under this kernel boot and in this PID namespace, and its
 * pid is gone (or now belongs to a process started at another time). Anything else (another
 * host, another namespace, an owner written by an older rdsctl, a pid we may not signal but that
 * started when the holder did) is presumed alive: its lease is only taken once it expires.
 */
export function ownerIsProvablyDead(owner: string, self: Omit<OwnerId, 'nonce'> = localIdentity()): boolean {
  const o = parseOwner(owner);
  if (!o || o.bootId === '-' || o.pidNs === '-' || !self.bootId || !self.pidNs) return false;
  if (o.bootId !== self.bootId || o.pidNs !== self.pidNs) return false;
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  const start = processStart(o.pid);
  return o.start !== '-' && start !== '' && start !== o.start;
}

/** Tries of a step's metadb transaction that keeps being chosen as a deadlock victim. */
const DEADLOCK_ATTEMPTS = 4;

// ---- the lease ---------------------------------------------------------------------------------

export interface ClaimOptions {
  owner: string;
  ttlSec: number;
  /** Task statuses this claim accepts (a worker takes pending/running; `task goto` also done/failed). */
  allow: readonly TaskStatus[];
  clock: Clock;
  /** Is this holder provably dead (default: ownerIsProvablyDead on this host)? */
  isDead?: (owner: string) => boolean;
}

export type ClaimOutcome = { lease: Lease } | { busy: TaskBusyError } | { state: TaskStateError };

export class Lease {
  private lost: string | null = null;
  private lastRenewAt: number;
  private renewal: AbortController | undefined;
  private readonly listeners: Array<(why: string) => void> = [];

  private constructor(
    readonly store: TaskStore,
    readonly taskId: number,
    readonly owner: string,
    readonly token: number,
    readonly ttlSec: number,
    private readonly clock: Clock,
    startedAt: number,
  ) {
    this.lastRenewAt = startedAt;
  }

  /** One winner; a loser learns who holds it. A provably dead holder's lease is taken over at once. */
  static async tryClaim(store: TaskStore, taskId: number, o: ClaimOptions): Promise<ClaimOutcome> {
    const ttlMs = o.ttlSec * 1000;
    const started = o.clock.now().getTime();
    const r = await store.claim(taskId, o.owner, ttlMs, o.allow);
    if (r.ok) return { lease: new Lease(store, taskId, o.owner, r.token, o.ttlSec, o.clock, started) };
    if (r.why === 'missing') throw new NotFoundError(`task ${taskId} does not exist`);
    if (r.why === 'status') return { state: new TaskStateError(taskId, r.status, o.allow) };
    if (r.owner && (o.isDead ?? ownerIsProvablyDead)(r.owner)) {
      const started2 = o.clock.now().getTime();
      const token = await store.takeOver(taskId, o.owner, ttlMs, { owner: r.owner, token: r.token });
      if (token !== null) return { lease: new Lease(store, taskId, o.owner, token, o.ttlSec, o.clock, started2) };
    }
    return { busy: new TaskBusyError(taskId, r.owner, r.expiresAt) };
  }

  /** tryClaim for commands: a busy task or a wrong state is a ConflictError (exit 9). */
  static async claim(store: TaskStore, taskId: number, o: ClaimOptions): Promise<Lease> {
    const r = await Lease.tryClaim(store, taskId, o);
    if ('lease' in r) return r.lease;
    throw 'busy' in r ? r.busy : r.state;
  }

  fence(): Fence {
    return { taskId: this.taskId, owner: this.owner, token: this.token };
  }

  /** Renew every third of the TTL on the clock, until released or lost. */
  startRenewal(): void {
    if (this.renewal) return;
    const ac = new AbortController();
    this.renewal = ac;
    const every = Math.max(200, (this.ttlSec * 1000) / 3);
    void (async () => {
      while (!ac.signal.aborted && !this.lost) {
        try {
          await this.clock.sleep(every, ac.signal);
        } catch {
          return;
        }
        await this.renew();
      }
    })();
  }

  async renew(): Promise<void> {
    if (this.lost) return;
    const started = this.clock.now().getTime();
    try {
      if (await this.store.renew(this.fence(), this.ttlSec * 1000)) this.lastRenewAt = started;
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
    this.renewal?.abort();
    for (const fn of this.listeners) fn(why);
  }

  /** Before a remote effect: the lease must still be ours by the local clock (with a margin). */
  assertHeld(): void {
    if (!this.lost && this.clock.now().getTime() - this.lastRenewAt > this.ttlSec * 1000 * 0.9) this.markLost('not renewed within its TTL');
    if (this.lost) throw new LeaseLostError(this.taskId, this.lost);
  }

  /** A fenced change of the task's own rows (and the hook's writes, in the same transaction). */
  async apply(m: Mutation, hook?: (tx: Db) => Promise<void>): Promise<void> {
    this.assertHeld();
    if (!(await this.store.fenced(this.fence(), m, hook))) {
      this.markLost('fencing token no longer current');
      throw new LeaseLostError(this.taskId, this.lost!);
    }
  }

  /**
   * A metadb transaction that first checks the fence: the metadb writes of a step. A transaction
   * InnoDB chose as a deadlock victim has been rolled back whole, and running it again is the
   * server's own advice: two migrates of one evacuation giving capacity back to the same NC
   * deadlocked and failed the task. fn only runs SQL on tx, so a re-run repeats nothing else.
   */
  async tx<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.assertHeld();
      let r: T | typeof FENCE_LOST;
      try {
        r = await this.store.fencedTx(this.fence(), fn);
      } catch (e) {
        if (!isDeadlock(e) || attempt >= DEADLOCK_ATTEMPTS) throw e;
        // Apart, so that the two victims do not meet again at once.
        await new Promise((res) => setTimeout(res, 25 + Math.random() * 100 * attempt));
        continue;
      }
      if (r === FENCE_LOST) {
        this.markLost('fencing token no longer current');
        throw new LeaseLostError(this.taskId, this.lost!);
      }
      return r;
    }
  }

  /** Give the task back: owner cleared, token kept (it only ever grows). */
  async release(): Promise<void> {
    this.renewal?.abort();
    if (this.lost) return;
    // From here on a straggling step (one that ignored its abort) must not write anything.
    this.lost = 'released';
    await this.store.release(this.fence()).catch(() => undefined);
  }

  isLost(): boolean {
    return this.lost !== null;
  }
}
