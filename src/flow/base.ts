import type { Clock } from '../core/clock.js';
import type { Context } from '../core/context.js';
import { RemoteError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import type { HostTarget } from '../remote/ssh-types.js';
import type { Lease } from './lease.js';
import type { StepRow, TaskRow, TaskStore } from './store.js';
import type { JsonValue, StepScope } from './types.js';

// What the engine gives every flow (as env.base): the only doors to the outside a step needs
// that are not the flow's own. remote() checks the lease before each command, tx() is a metadb
// transaction fenced by the lease, poll() waits on the context's clock and stops with the step,
// result() reads what an earlier step of this task recorded.

export interface FlowBase {
  ctx: Context;
  db: Db;
  store: TaskStore;
  task: TaskRow;
  lease: Lease;
  clock: Clock;
  /** Aborted on Ctrl-C and on a lost lease. */
  signal: AbortSignal;
  now(): Date;
  /** A command on a host; the lease is checked first; RemoteError naming the host unless it exits 0. Returns stdout. */
  remote(target: HostTarget, host: string, command: string, s: StepScope, o?: { stdin?: string; timeoutSec?: number }): Promise<string>;
  /** A command whose exit code is the answer (probes); never throws for a non-zero exit, only when the host cannot be reached. */
  test(target: HostTarget, host: string, command: string, s: StepScope, o?: { timeoutSec?: number }): Promise<boolean>;
  /** A metadb transaction that holds only while the lease does (LeaseLostError otherwise). */
  tx<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /** Call check every everyMs (on the clock) until it returns a value, or the step's signal aborts. */
  poll<T>(s: StepScope, everyMs: number, check: () => Promise<T | undefined>): Promise<T>;
  /** The JSON result an earlier step of this task recorded (by name, and role when the name is listed twice). */
  result<T = JsonValue>(step: string, role?: string): T | undefined;
}

export interface BaseDeps {
  ctx: Context;
  db: Db;
  store: TaskStore;
  task: TaskRow;
  lease: Lease;
  signal: AbortSignal;
  /** The engine's live view of the task's steps (results recorded during this run included). */
  steps: () => ReadonlyArray<StepRow>;
}

export function flowBase(d: BaseDeps): FlowBase {
  const clock = d.ctx.clock;
  return {
    ctx: d.ctx,
    db: d.db,
    store: d.store,
    task: d.task,
    lease: d.lease,
    clock,
    signal: d.signal,
    now: () => clock.now(),
    async remote(target, _host, command, s, o = {}) {
      d.lease.assertHeld();
      const ssh = await d.ctx.ssh();
      return ssh.run(target, command, { signal: s.signal, timeoutSec: o.timeoutSec ?? 120, ...(o.stdin === undefined ? {} : { stdin: o.stdin }) });
    },
    async test(target, host, command, s, o = {}) {
      const ssh = await d.ctx.ssh();
      const r = await ssh.exec(target, command, { signal: s.signal, timeoutSec: o.timeoutSec ?? 60 });
      if (r.category && r.category !== 'exit') throw new RemoteError(`${host}: ${r.error ?? r.category}`, { host });
      return r.exitCode === 0;
    },
    tx: (fn) => d.lease.tx(fn),
    poll: (s, everyMs, check) => pollUntil(clock, s, everyMs, check),
    result<T>(step: string, role?: string): T | undefined {
      const hits = d.steps().filter((r) => r.step_name === step && (role === undefined || r.role === role) && r.result !== null);
      const last = hits[hits.length - 1];
      return last ? (last.result as T) : undefined;
    },
  };
}

/** Poll `check` every `everyMs` on the clock until it returns a value (not undefined) or the step's signal aborts. */
export async function pollUntil<T>(clock: Clock, s: StepScope, everyMs: number, check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    if (s.signal.aborted) throw s.signal.reason;
    const v = await check();
    if (v !== undefined) return v;
    await clock.sleep(everyMs, s.signal);
  }
}
