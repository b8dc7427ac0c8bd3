import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { requireRole } from '../../core/authz.js';
import { ExitCode, NotFoundError, UsageError } from '../../core/errors.js';
import { wholeNumber } from '../../core/flags.js';
import { addMutationOptions, parseMutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printRecords, timeText, type OutputFormat } from '../../core/output.js';
import { stepViews, type StepView } from '../../flow/control.js';
import { flows } from '../../flow/flows.js';
import { secondsText } from '../../flow/progress.js';
import { DEFAULT_LEASE_TTL_SEC, taskStore } from '../../flow/runner.js';
import type { TaskRow } from '../../flow/store.js';
import { findCustins } from '../../rds/custins.js';
import { CONTROL_ACTIONS, checkControlArgs, controlTask, requireControlRole, type ControlAction, type ControlOptions } from '../shared/task-control.js';

// `rdsctl instance step INSTANCE list|run [STEP]|retry|skip STEP|goto STEP|resume|cancel`: the
// instance-facing form of `rdsctl task …` (same code: commands/shared/task-control.ts), on the
// instance's newest task or the one named by --task.

const ACTIONS = ['list', ...CONTROL_ACTIONS] as const;
type Action = (typeof ACTIONS)[number];

export interface Options extends Omit<ControlOptions, 'action'> {
  instance: string;
  action: Action;
  taskId?: number;
}

interface Raw {
  output: string;
  task?: number;
  leaseTtl: number;
  wait: number;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .argument('<action>', ACTIONS.join('|'))
    .argument('[step]', 'a step: its number (8), its name (do_init) or name:role for names listed twice (do_make_dir:slave)')
    .option('--task <id>', 'a task of the instance (default: its newest)', wholeNumber('--task', 0, Number.MAX_SAFE_INTEGER, 'a task id is a number'))
    .option('--lease-ttl <seconds>', 'lease of this runner, renewed while it works', wholeNumber('--lease-ttl', 1, 999_999, 'a positive number of seconds'), DEFAULT_LEASE_TTL_SEC)
    .option('--wait <seconds>', 'cancel: wait this long for a running task to stop at its next step boundary (0: do not wait)', wholeNumber('--wait', 0, 999_999, 'a whole number of seconds (0: do not wait)'), 300)
    .addHelpText(
      'after',
      '\nActions (the same as `rdsctl task ACTION TASK_ID`):\n' +
        '  list         each step: role, status, attempts, host, duration, error (-o wide adds detail and result)\n' +
        '  run [STEP]   run the next unfinished step, or the named one whatever its state\n' +
        '  retry        run the failed step again, then continue to the end\n' +
        '  skip STEP    mark a step skipped (the reason is recorded)\n' +
        '  goto STEP    go back (STEP and all after it become pending) or forward (steps before it are\n' +
        '               skipped); asks for confirmation (--yes without a TTY). Then `resume`.\n' +
        '  resume       continue from the first unfinished step to the end\n' +
        '  cancel       stop the task at its next step boundary and mark it cancelled; asks for confirmation\n' +
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
    .action(async (instance: string, action: string, step: string | undefined, o: Raw) => {
      const opts = parse(instance, action, step, o);
      return run((ctx) => stepCommand(opts, ctx));
    });
}

function parse(instance: string, action: string, step: string | undefined, o: Raw): Options {
  if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`unknown action "${action}" (valid: ${ACTIONS.join(', ')})`);
  const a = action as Action;
  if (a === 'list' && step !== undefined) throw new UsageError(`list takes no STEP (got "${step}")`);
  if (a !== 'list') checkControlArgs(a, step, parseMutationFlags(o));
  return {
    instance,
    action: a,
    ...(step !== undefined ? { step } : {}),
    ...(o.task !== undefined ? { taskId: o.task } : {}),
    output: parseOutput(o.output),
    flags: parseMutationFlags(o),
    leaseTtlSec: o.leaseTtl,
    waitSec: o.wait,
  };
}

async function taskOf(ctx: Context, opts: Options): Promise<{ task: TaskRow; insName: string }> {
  const db = ctx.db('dbaas');
  const store = taskStore(ctx);
  const c = await findCustins(db, opts.instance, { includeDeleted: opts.action === 'list' });
  if (opts.taskId !== undefined) {
    const t = await store.getTask(opts.taskId);
    if (t.custins_id !== c.id) throw new NotFoundError(`task ${opts.taskId} is not a task of ${c.ins_name}`);
    return { task: t, insName: c.ins_name };
  }
  const t = await store.latestTaskOfCustins(c.id);
  if (!t) throw new NotFoundError(`instance ${c.ins_name} has no task in task_queue`);
  return { task: t, insName: c.ins_name };
}

export async function stepCommand(opts: Options, ctx: Context): Promise<number> {
  if (opts.action !== 'list') await requireControlRole(ctx, opts.action, `rdsctl instance step ${opts.action}`);
  else await requireRole(ctx, 'read', 'rdsctl instance step list');
  const { task, insName } = await taskOf(ctx, opts);
  if (opts.action === 'list') {
    const r = flows.resolve(task);
    return printSteps(ctx, opts.output, stepViews('flow' in r ? r.flow : null, await taskStore(ctx).loadSteps(task.id)), task, 'unknown' in r ? r.unknown : null);
  }
  const { instance: _i, taskId: _t, ...rest } = opts;
  return controlTask(ctx, task, { name: insName, targets: [insName], resume: `rdsctl instance step ${insName} resume`, command: 'instance step' }, { ...rest, action: opts.action as ControlAction });
}

export function printSteps(ctx: Context, output: OutputFormat, views: StepView[], task: TaskRow, unknown: string | null): number {
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
      { header: 'RESULT', value: (v) => (v.result === null ? null : JSON.stringify(v.result)), wide: true },
      { header: 'TIMEOUT', value: (v) => (v.timeout_sec === null ? null : `${v.timeout_sec}s`), wide: true },
      { header: 'EFFECT', value: (v) => v.effect, wide: true },
      { header: 'SKIP RULE', value: (v) => v.skip_rule, wide: true },
      { header: 'STARTED', value: (v) => timeText(v.started, now, ctx.io.stdoutIsTTY), wide: true },
    ],
    views,
  );
  if (output !== 'json') {
    const count = (s: string): number => views.filter((v) => v.status === s).length;
    ctx.io.err(`task ${task.id} (${task.flow} v${task.flow_version}) ${task.status}: ${count('done')} done, ${count('skipped')} skipped, ${count('failed')} failed, ${count('pending') + count('running')} to go\n`);
    if (unknown) ctx.io.err(`note: ${unknown}; shown, but this rdsctl does not run it\n`);
  }
  return ExitCode.OK;
}
