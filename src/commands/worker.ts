import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { ExitCode, UsageError } from '../core/errors.js';
import { DEFAULT_LEASE_TTL_SEC } from '../flow/runner.js';
import { runWorker, type WorkerOptions } from '../flow/worker.js';

// `rdsctl worker`: run tasks from task_queue (pending ones, and running ones whose runner died).

export function register(cmd: Command, run: Runner): void {
  cmd
    .option('--once', 'take one task, run it, exit (exit 0 also when there was none)')
    .option('--max-tasks <n>', 'exit after this many tasks (default: run until Ctrl-C)', '0')
    .option('--poll <ms>', 'how often to look for work when idle', '1000')
    .option('--lease-ttl <seconds>', 'lease of each task, renewed while it runs', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText(
      'after',
      '\nSeveral workers, on one or several jump hosts, may share a metadb: each task is claimed by one\n' +
        'conditional UPDATE, so exactly one worker runs it. A task whose runner died is taken again once\n' +
        'its lease expires (at once when the dead runner was on this host) and resumes at its first\n' +
        'unfinished step. Tasks an operator paused (`instance step … run|skip|goto`) are left alone.\n' +
        'One line per finished task on stdout: "task ID STATUS (N steps)". Exit 5 if a task failed.\n' +
        examples('rdsctl worker', 'rdsctl worker --once', 'rdsctl instance create --no-wait && rdsctl worker --once'),
    )
    .action(async (o: { once?: boolean; maxTasks: string; poll: string; leaseTtl: string }) =>
      run((ctx) => worker(parse(o), ctx)),
    );
}

function num(v: string, flag: string, min: number): number {
  if (!/^\d{1,9}$/.test(v) || Number(v) < min) throw new UsageError(`${flag} ${v}: a whole number of at least ${min}`);
  return Number(v);
}

function parse(o: { once?: boolean; maxTasks: string; poll: string; leaseTtl: string }): WorkerOptions {
  return { once: Boolean(o.once), maxTasks: num(o.maxTasks, '--max-tasks', 0), pollMs: num(o.poll, '--poll', 50), ttlSec: num(o.leaseTtl, '--lease-ttl', 1) };
}

export async function worker(opts: WorkerOptions, ctx: Context): Promise<number> {
  if (!opts.once) ctx.io.err(`worker: polling task_queue every ${opts.pollMs} ms; Ctrl-C to stop\n`);
  const done = await runWorker(ctx, opts, (r) => ctx.io.out(`task ${r.task_id} ${r.status} (${r.ran} steps)${r.error ? `: ${r.error}` : ''}\n`));
  if (opts.once && done.length === 0) ctx.io.err('worker: no task ready\n');
  if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
  return done.some((r) => r.status !== 'done') ? ExitCode.REMOTE : ExitCode.OK;
}
