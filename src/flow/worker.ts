import type { Context } from '../core/context.js';
import { describeError } from '../core/errors.js';
import { audited } from '../core/mutation.js';
import { failureText, type RunResult } from './engine.js';
import { ownerIsProvablyDead } from './lease.js';
import { stderrProgress } from './progress.js';
import { CLAIMABLE, taskStore, tryClaimAndRun } from './runner.js';
import type { ClaimableView, TaskStore } from './store.js';

// `rdsctl worker`: takes tasks from task_queue and runs them. Several workers (on several jump
// hosts) may share one metadb: the claim is a conditional UPDATE, so MariaDB's row lock decides
// which one gets a task and the others move on. A task whose runner died is taken again (at once
// when that runner was provably dead on this host, else once its lease expired) and resumes at
// its first unfinished step.

export interface WorkerOptions {
  once: boolean;
  pollMs: number;
  ttlSec: number;
  /** Stop after this many tasks (0 = no limit). */
  maxTasks: number;
  /** Runs before each look at the queue (`--schedule`: enqueue due backups, ship binlogs). */
  beforePoll?: () => Promise<void>;
}

export interface WorkerReport {
  task_id: number;
  status: string;
  ran: number;
  error: string | null;
}

/** What a worker may take now: free or expired leases, and live ones whose holder is provably dead. */
export async function readyTasks(store: TaskStore, limit: number, isDead: (owner: string) => boolean = ownerIsProvablyDead): Promise<ClaimableView[]> {
  const all = await store.claimable(limit, { leased: true });
  return all.filter((t) => !t.lease_live || (t.lease_owner !== null && isDead(t.lease_owner)));
}

export async function runWorker(ctx: Context, o: WorkerOptions, onTask: (r: WorkerReport) => void): Promise<WorkerReport[]> {
  const store = taskStore(ctx);
  const done: WorkerReport[] = [];
  while (!ctx.signal.aborted) {
    await o.beforePoll?.();
    const candidates = await readyTasks(store, 20);
    let took = false;
    for (const cand of candidates) {
      if (ctx.signal.aborted) break;
      const report = await runOne(ctx, store, cand.id, o.ttlSec);
      if (!report) continue;
      took = true;
      done.push(report);
      onTask(report);
      if (o.once || (o.maxTasks > 0 && done.length >= o.maxTasks)) return done;
      break;
    }
    if (o.once && !took) return done;
    // Idle, or the task could not even start (metadb trouble): wait before asking again.
    if (!took || done[done.length - 1]!.status === 'error') await ctx.clock.sleep(o.pollMs, ctx.signal).catch(() => undefined);
  }
  return done;
}

/** null when another worker won the claim (a typed outcome of the claim, not an error). */
async function runOne(ctx: Context, store: TaskStore, taskId: number, ttlSec: number): Promise<WorkerReport | null> {
  try {
    return await audited(ctx, { command: 'worker run', targets: [`task ${taskId}`], detail: { task_id: taskId } }, async () => {
      const r = await tryClaimAndRun(ctx, taskId, { allow: CLAIMABLE.worker, mode: { kind: 'resume' }, ttlSec, store, progress: stderrProgress(ctx.io, `task ${taskId} `) });
      if ('busy' in r) return { value: null, ok: true, detail: { skipped: r.busy.message } };
      const result = r.result;
      return { value: report(taskId, result), ok: result.status === 'done', exitCode: result.failed?.exitCode ?? 0, detail: { status: result.status, failed_step: result.failed ? `${result.failed.seq} ${result.failed.name}` : null } };
    });
  } catch (e) {
    return { task_id: taskId, status: 'error', ran: 0, error: describeError(e).message };
  }
}

function report(taskId: number, r: RunResult): WorkerReport {
  return { task_id: taskId, status: r.status, ran: r.ran, error: r.failed ? failureText(r.failed) : r.cancelledBy ? `cancelled by ${r.cancelledBy}` : null };
}
