import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { requireRole } from '../../core/authz.js';
import { ConflictError, ExitCode, NotFoundError, UsageError } from '../../core/errors.js';
import { wholeNumber } from '../../core/flags.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printRecords, timeText, type OutputFormat } from '../../core/output.js';
import { gotoStep, resolveStep, skipStep, stepViews, type StepView } from '../../flow/control.js';
import { firstUnfinished, type RunMode, type RunResult } from '../../flow/engine.js';
import { flowByName } from '../../flow/flows.js';
import { secondsText, stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun, withLease } from '../../flow/runner.js';
import { getTask, latestTask, loadSteps, type TaskRow } from '../../flow/store.js';
import { findCustins } from '../../rds/custins.js';

// `rdsctl instance step INSTANCE list|run [STEP]|retry|skip STEP|goto STEP|resume`: operator
// control of an instance's task, the same engine and step library the install runs.

const ACTIONS = ['list', 'run', 'retry', 'skip', 'goto', 'resume'] as const;
type Action = (typeof ACTIONS)[number];

export interface Options {
  instance: string;
  action: Action;
  step?: string;
  taskId?: number;
  output: OutputFormat;
  flags: MutationFlags;
  leaseTtlSec: number;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .argument('<action>', ACTIONS.join('|'))
    .argument('[step]', 'a step: its number (8), its name (do_init) or name:role for names listed twice (do_make_dir:slave)')
    .option('--task <id>', 'a task of the instance (default: its newest)', wholeNumber('--task', 0, Number.MAX_SAFE_INTEGER, 'a task id is a number'))
    .option('--lease-ttl <seconds>', 'lease of this runner, renewed while it works', wholeNumber('--lease-ttl', 1, 999_999, 'a positive number of seconds'), DEFAULT_LEASE_TTL_SEC)
    .addHelpText(
      'after',
      '\nActions:\n' +
        '  list         each step: role, status, attempts, host, duration, error (-o wide adds detail)\n' +
        '  run [STEP]   run the next unfinished step, or the named one whatever its state\n' +
        '  retry        run the failed step again, then continue to the end\n' +
        '  skip STEP    mark a step skipped (the reason is recorded)\n' +
        '  goto STEP    go back (STEP and all after it become pending) or forward (steps before it are\n' +
        '               skipped); asks for confirmation (--yes without a TTY). Then `resume`.\n' +
        '  resume       continue from the first unfinished step to the end\n' +
        'Every action but list is audited and takes --reason; list needs the read role, goto admin, the\n' +
        'others operator. Exit 9 when another runner holds the\n' +
        'task\'s lease; exit 3 for an unknown instance or step.\n' +
        examples(
          'rdsctl instance step rm-2ze1abcd list',
          'rdsctl instance step rm-2ze1abcd retry --reason "NC disk full, cleaned"',
          'rdsctl instance step rm-2ze1abcd goto do_install_duallmaster_master --reason "redo replication" --yes',
          'rdsctl instance step rm-2ze1abcd resume',
        ),
    )
    .action(async (instance: string, action: string, step: string | undefined, o: RawOptions) => {
      const opts = parse(instance, action, step, o);
      return run((ctx) => stepCommand(opts, ctx));
    });
}

interface RawOptions {
  output: string;
  task?: number;
  leaseTtl: number;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
}

function parse(instance: string, action: string, step: string | undefined, o: RawOptions): Options {
  if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`unknown action "${action}" (valid: ${ACTIONS.join(', ')})`);
  const a = action as Action;
  if ((a === 'skip' || a === 'goto') && step === undefined) throw new UsageError(`${a} needs a STEP (number or name)`);
  if ((a === 'list' || a === 'retry' || a === 'resume') && step !== undefined) throw new UsageError(`${a} takes no STEP (got "${step}")`);
  return {
    instance,
    action: a,
    ...(step !== undefined ? { step } : {}),
    ...(o.task !== undefined ? { taskId: o.task } : {}),
    output: parseOutput(o.output),
    flags: parseMutationFlags(o),
    leaseTtlSec: o.leaseTtl,
  };
}

async function taskOf(ctx: Context, opts: Options): Promise<{ task: TaskRow; insName: string }> {
  const db = ctx.db('dbaas');
  const c = await findCustins(db, opts.instance, { includeDeleted: opts.action === 'list' });
  if (opts.taskId !== undefined) {
    const t = await getTask(db, opts.taskId);
    if (t.custins_id !== c.id) throw new NotFoundError(`task ${opts.taskId} is not a task of ${c.ins_name}`);
    return { task: t, insName: c.ins_name };
  }
  const t = await latestTask(db, c.id);
  if (!t) throw new NotFoundError(`instance ${c.ins_name} has no task in task_queue`);
  return { task: t, insName: c.ins_name };
}

export async function stepCommand(opts: Options, ctx: Context): Promise<number> {
  // goto rewrites the state of every step after it (it can undo a finished install): admin only.
  if (opts.action !== 'list') await requireRole(ctx, opts.action === 'goto' ? 'admin' : 'operator', `rdsctl instance step ${opts.action}`);
  const { task, insName } = await taskOf(ctx, opts);
  const db = ctx.db('dbaas');
  const flow = flowByName(task.flow);
  const rows = await loadSteps(db, task.id);
  if (opts.action === 'list') return printSteps(ctx, opts.output, stepViews(flow, rows), task);

  const seq = opts.step !== undefined ? resolveStep(rows, opts.step) : undefined;
  const stepName = seq !== undefined ? `${seq} ${rows[seq - 1]!.step_name}` : null;
  const targets = [insName, `task ${task.id}`, ...(stepName ? [`step ${stepName}`] : [])];
  const who = `${ctx.osUser}: ${opts.flags.reason ?? 'no reason given'}`;

  if (opts.flags.dryRun) {
    printPlan(ctx, { action: `instance step ${opts.action}`, targets, notes: [dryRunNote(opts.action, rows, seq)] }, opts.output === 'json' ? 'json' : 'text');
    return ExitCode.OK;
  }
  if (opts.action === 'goto') await confirm(ctx, `Move task ${task.id} of ${insName} to step ${stepName}?`, opts.flags, targets);

  return audited(ctx, { command: `instance step ${opts.action}`, targets, reason: opts.flags.reason, detail: { task_id: task.id, ...(stepName ? { step: stepName } : {}) } }, async () => {
    switch (opts.action) {
      case 'skip': {
        await withLease(db, task, opts.leaseTtlSec, (lease) => skipStep(lease, seq!, `skipped by ${who}`));
        ctx.io.err(`step ${stepName} skipped; task ${task.id} is paused until \`rdsctl instance step ${insName} resume\`\n`);
        return { value: ExitCode.OK };
      }
      case 'goto': {
        const g = await withLease(db, task, opts.leaseTtlSec, (lease) => gotoStep(lease, rows, seq!, `goto ${seq} by ${who}`));
        ctx.io.err(`task ${task.id} ${g.direction === 'forward' ? `skips ${g.changed.length} steps to` : 'goes back to'} step ${stepName} (${g.changed.length} steps changed); run \`rdsctl instance step ${insName} resume\`\n`);
        return { value: ExitCode.OK, detail: { direction: g.direction, changed: g.changed } };
      }
      default: {
        const r = await runAction(ctx, opts, task, rows, seq);
        if (!r) return { value: ExitCode.OK };
        report(ctx, opts.output, task, r, insName);
        const code = r.failed?.exitCode ?? ExitCode.OK;
        return { value: code, ok: !r.failed, exitCode: code, detail: { status: r.status, ran: r.ran, ...(r.failed ? { failed_step: `${r.failed.seq} ${r.failed.name}` } : {}) } };
      }
    }
  });
}

function dryRunNote(action: Action, rows: Awaited<ReturnType<typeof loadSteps>>, seq: number | undefined): string {
  const first = firstUnfinished(rows);
  const from = first < 0 ? 'nothing left to run' : `from step ${first + 1} ${rows[first]!.step_name}`;
  switch (action) {
    case 'run':
      return seq !== undefined ? `would run step ${seq} only` : `would run one step, ${from}`;
    case 'retry':
      return `would retry the failed step and continue: ${from}`;
    case 'resume':
      return `would run to the end, ${from}`;
    case 'skip':
      return `would mark step ${seq} skipped`;
    default:
      return seq !== undefined && (first < 0 || seq <= first + 1) ? `would reset steps ${seq}-${rows.length} to pending` : `would skip the unfinished steps before ${seq}`;
  }
}

async function runAction(ctx: Context, opts: Options, task: TaskRow, rows: Awaited<ReturnType<typeof loadSteps>>, seq: number | undefined): Promise<RunResult | null> {
  let mode: RunMode;
  let allow = CLAIMABLE.run;
  if (opts.action === 'run') {
    mode = seq !== undefined ? { kind: 'only', seq } : { kind: 'next' };
    if (seq === undefined && firstUnfinished(rows) < 0) {
      ctx.io.err(`task ${task.id} has no unfinished step\n`);
      return null;
    }
  } else if (opts.action === 'retry') {
    if (!rows.some((r) => r.status === 'failed')) throw new ConflictError(`task ${task.id} has no failed step to retry`);
    mode = { kind: 'resume' };
    allow = CLAIMABLE.retry;
  } else {
    if (task.status === 'done' && firstUnfinished(rows) < 0) {
      ctx.io.err(`task ${task.id} is done; nothing to resume\n`);
      return null;
    }
    mode = { kind: 'resume' };
    allow = CLAIMABLE.resume;
  }
  const { result } = await claimAndRun(ctx, task.id, { allow, mode, ttlSec: opts.leaseTtlSec, progress: stderrProgress(ctx.io) });
  return result;
}

function report(ctx: Context, output: OutputFormat, task: TaskRow, r: RunResult, insName: string): void {
  const out = { task_id: task.id, status: r.status, ran: r.ran, failed: r.failed ? { seq: r.failed.seq, step: r.failed.name, host: r.failed.host, error: r.failed.error } : null };
  if (output === 'json') ctx.io.out(JSON.stringify(out, null, 2) + '\n');
  if (r.failed) ctx.io.err(`rdsctl: task ${task.id} failed at step ${r.failed.seq} ${r.failed.name}${r.failed.host ? ` on ${r.failed.host}` : ''}: ${r.failed.error}\n`);
  else ctx.io.err(`task ${task.id} of ${insName}: ${r.status} (${r.ran} steps this run)\n`);
}

function printSteps(ctx: Context, output: OutputFormat, views: StepView[], task: TaskRow): number {
  const now = ctx.clock.now();
  printRecords<StepView>(
    ctx.io,
    output,
    [
      { header: '#', value: (v) => v.seq, align: 'right' },
      { header: 'STEP', value: (v) => v.step },
      { header: 'ROLE', value: (v) => v.role },
      { header: 'STATUS', value: (v) => v.status, tone: (v) => (v.status === 'done' ? 'ok' : v.status === 'failed' ? 'bad' : v.status === 'running' ? 'warn' : v.status === 'skipped' ? 'dim' : undefined) },
      { header: 'TRIES', value: (v) => v.attempts, align: 'right' },
      { header: 'HOST', value: (v) => v.host },
      { header: 'TOOK', value: (v) => (v.duration_ms === null ? null : secondsText(v.duration_ms)), align: 'right' },
      { header: 'ERROR / SKIP REASON', value: (v) => v.error ?? v.skip_reason },
      { header: 'DETAIL', value: (v) => v.detail, wide: true },
      { header: 'TIMEOUT', value: (v) => (v.timeout_sec === null ? null : `${v.timeout_sec}s`), wide: true },
      { header: 'EFFECT', value: (v) => v.effect, wide: true },
      { header: 'SKIP RULE', value: (v) => v.skip_rule, wide: true },
      { header: 'STARTED', value: (v) => timeText(v.started, now, ctx.io.stdoutIsTTY), wide: true },
    ],
    views,
  );
  if (output !== 'json') {
    const count = (s: string): number => views.filter((v) => v.status === s).length;
    ctx.io.err(`task ${task.id} (${task.flow}) ${task.status}: ${count('done')} done, ${count('skipped')} skipped, ${count('failed')} failed, ${count('pending') + count('running')} to go\n`);
  }
  return ExitCode.OK;
}
