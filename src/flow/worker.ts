import type { Context } from '../core/context.js';
import { ConflictError, describeError } from '../core/errors.js';
import { audited } from '../core/mutation.js';
import type { RunResult } from './engine.js';
import { stderrProgress } from './progress.js';
import { CLAIMABLE, claimAndRun } from './runner.js';
import { claimableTasks } from './store.js';

// `rdsctl worker`: takes tasks from task_queue and runs them. Several workers (on several jump
// hosts) may share one metadb: the claim is a conditional UPDATE, so MariaDB's row lock decides
// which one gets a task and the others move on. A task whose runner died (lease expired) is
// taken again and resumes at its first unfinished step.

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

export async function runWorker(ctx: Context, o: WorkerOptions, onTask: (r: WorkerReport) => void): Promise<WorkerReport[]> {
  const db = ctx.db('dbaas');
  const done: WorkerReport[] = [];
  while (!ctx.signal.aborted) {
    await o.beforePoll?.();
    const candidates = await claimableTasks(db, 20);
    let took = false;
    for (const cand of candidates) {
      if (ctx.signal.aborted) break;
      const report = await runOne(ctx, cand.id, o.ttlSec);
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

/** null when another worker won the claim. */
async function runOne(ctx: Context, taskId: number, ttlSec: number): Promise<WorkerReport | null> {
  try {
    return await audited(ctx, { command: 'worker run', targets: [`task ${taskId}`], detail: { task_id: taskId } }, async () => {
      const { result } = await claimAndRun(ctx, taskId, { allow: CLAIMABLE.worker, mode: { kind: 'resume' }, ttlSec, progress: stderrProgress(ctx.io, `task ${taskId} `) });
      return { value: report(taskId, result), ok: result.status === 'done', exitCode: result.failed?.exitCode ?? 0, detail: { status: result.status, failed_step: result.failed?.name ?? null } };
    });
  } catch (e) {
    // Another worker claimed it between the SELECT and our UPDATE: not an error for a worker.
    if (e instanceof ConflictError && /is being run by|this needs it/.test(e.message)) return null;
    return { task_id: taskId, status: 'error', ran: 0, error: describeError(e).message };
  }
}

function report(taskId: number, r: RunResult): WorkerReport {
  return { task_id: taskId, status: r.status, ran: r.ran, error: r.failed ? `step ${r.failed.seq} ${r.failed.name}${r.failed.host ? ` on ${r.failed.host}` : ''}: ${r.failed.error}` : null };
}
