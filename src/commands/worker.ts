import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { ExitCode } from '../core/errors.js';
import { wholeNumber } from '../core/flags.js';
import { printPlan } from '../core/mutation.js';
import { addOutputOption, parseOutput, termSafe, type OutputFormat } from '../core/output.js';
import { ownerIsProvablyDead } from '../flow/lease.js';
import { DEFAULT_LEASE_TTL_SEC, taskStore } from '../flow/runner.js';
import { CLAIM_SQL } from '../flow/store-sql.js';
import type { ClaimableView } from '../flow/store.js';
import { readyTasks, runWorker, type WorkerOptions } from '../flow/worker.js';

// `rdsctl worker`: run tasks from task_queue (pending ones, and running ones whose runner died).

interface RawOptions {
  once?: boolean;
  maxTasks: number;
  poll: number;
  leaseTtl: number;
  dryRun?: boolean;
  schedule?: boolean;
  output: string;
}

interface Options extends WorkerOptions {
  dryRun: boolean;
  schedule: boolean;
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  cmd
    .option('--dry-run', 'list the tasks the worker would take now (id, instance, flow, status, next step, lease); takes and changes nothing')
    .option('--once', 'take one task, run it, exit (exit 0 also when there was none)')
    .option('--schedule', 'also be the backup scheduler: before each poll, enqueue the backups due by each instance\'s backup plan and run the log plan (binlogs to the backup store)')
    .option('--max-tasks <n>', 'exit after this many tasks (default: run until Ctrl-C)', atLeast('--max-tasks', 0), 0)
    .option('--poll <ms>', 'how often to look for work when idle', atLeast('--poll', 50), 1000)
    .option('--lease-ttl <seconds>', 'lease of each task, renewed while it runs', atLeast('--lease-ttl', 1), DEFAULT_LEASE_TTL_SEC)
    .addHelpText(
      'after',
      '\nSeveral workers, on one or several jump hosts, may share a metadb: each task is claimed by one\n' +
        'conditional UPDATE, so exactly one worker runs it. A task whose runner died is taken again once\n' +
        'its lease expires, or at once when that runner provably died on this host (same boot id and PID\n' +
        'namespace, its pid gone), and resumes at its first\n' +
        'unfinished step. Tasks an operator paused (`instance step … run|skip|goto`) are left alone.\n' +
        'One line per finished task on stdout: "task ID STATUS (N steps)". Exit 5 if a task failed.\n' +
        '-o applies to --dry-run (-o json: the plan with a "tasks" array, fields in the README).\n' +
        examples('rdsctl worker', 'rdsctl worker --once', 'rdsctl worker --dry-run', 'rdsctl instance create --no-wait && rdsctl worker --once'),
    )
    .action(async (o: RawOptions) => {
      const opts = parse(o);
      return run((ctx) => worker(opts, ctx));
    });
}

function atLeast(flag: string, min: number): (v: string) => number {
  return wholeNumber(flag, min, 999_999_999, `a whole number of at least ${min}`);
}

function parse(o: RawOptions): Options {
  return {
    once: Boolean(o.once),
    maxTasks: o.maxTasks,
    pollMs: o.poll,
    ttlSec: o.leaseTtl,
    dryRun: Boolean(o.dryRun),
    schedule: Boolean(o.schedule),
    output: parseOutput(o.output),
  };
}

export async function worker(opts: Options, ctx: Context): Promise<number> {
  if (opts.dryRun) return dryRun(ctx, opts);
  if (!opts.once) ctx.io.err(`worker: polling task_queue every ${opts.pollMs} ms; Ctrl-C to stop\n`);
  if (opts.schedule) {
    const { schedulePass } = await import('../backup/schedule.js');
    opts.beforePoll = async () => {
      const r = await schedulePass(ctx, ctx.clock.now());
      for (const e of r.enqueued) ctx.io.err(`worker: ${termSafe(`scheduled backup of ${e.ins_name}: task ${e.task_id}`)}\n`);
      for (const a of r.archived) ctx.io.err(`worker: ${termSafe(`archived ${a.files.length} binlogs of ${a.ins_name}: ${a.files.join(', ')}`)}\n`);
      for (const e of r.errors) ctx.io.err(`worker: ${termSafe(e)}\n`);
    };
  }
  const done = await runWorker(ctx, opts, (r) => ctx.io.out(workerLine(r)));
  if (opts.once && done.length === 0) ctx.io.err('worker: no task ready\n');
  if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
  return done.some((r) => r.status === 'failed' || r.status === 'error') ? ExitCode.REMOTE : ExitCode.OK;
}

function leaseState(t: ClaimableView): string {
  if (!t.lease_owner) return 'free';
  if (t.lease_live) return `held by ${t.lease_owner}, a runner that provably died on this host: taken over at once`;
  const dead = ownerIsProvablyDead(t.lease_owner) ? ', runner dead on this host' : '';
  return `expired${t.lease_expires_at ? ` at ${t.lease_expires_at.toISOString()}` : ''} (held by ${t.lease_owner}${dead})`;
}

/** The same selection the worker's first poll makes; the worker then takes them one at a time in this order. */
async function dryRun(ctx: Context, opts: Options): Promise<number> {
  const limit = opts.once ? 1 : opts.maxTasks;
  const all = await readyTasks(taskStore(ctx), 1000);
  const tasks = (limit > 0 ? all.slice(0, limit) : all).map((t) => ({
    task_id: t.id,
    ins_name: t.ins_name,
    target: `${t.target_kind}:${t.target_id}`,
    flow: t.flow,
    status: t.status,
    next_step: t.next_step,
    lease: leaseState(t),
  }));
  const plan = {
    action: `worker: take ${tasks.length} task${tasks.length === 1 ? '' : 's'}${limit > 0 && all.length > limit ? ` of ${all.length} ready (--${opts.once ? 'once' : 'max-tasks'})` : ''}`,
    targets: tasks.map((t) => `task ${t.task_id}`),
    sql: tasks.length ? [{ db: 'dbaas', statement: CLAIM_SQL, params: ['<this worker>', opts.ttlSec * 1e6, '<task id>', ['pending', 'running']] }] : [],
    notes: tasks.length
      ? tasks.map((t) => `task ${t.task_id} ${t.ins_name ?? t.target} ${t.flow} ${t.status}, next step ${t.next_step ?? 'none left'}, lease ${t.lease}`)
      : ['no task is ready: none pending, none running under an expired lease'],
  };
  if (opts.output === 'json') printPlan(ctx, { ...plan, extra: { tasks } }, 'json');
  else printPlan(ctx, plan, 'text');
  return ExitCode.OK;
}

/** One finished task: its error quotes step output and metadb text, so terminal controls are escaped. */
export function workerLine(r: { task_id: number; status: string; ran: number; error: string | null }): string {
  return termSafe(`task ${r.task_id} ${r.status} (${r.ran} steps)${r.error ? `: ${r.error}` : ''}`) + '\n';
}
