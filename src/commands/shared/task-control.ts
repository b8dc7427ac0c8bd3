import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { findCustins } from '../../rds/custins.js';
import { requireRole } from '../../core/authz.js';
import { ConflictError, ExitCode, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, requireReason, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, jsonText, parseOutput, termSafe, type OutputFormat } from '../../core/output.js';
import { gotoDirection, gotoStep, resolveStep, skipStep } from '../../flow/control.js';
import { cancelUnderLease, failureText, firstUnfinished, type RunMode, type RunResult } from '../../flow/engine.js';
import { flows } from '../../flow/flows.js';
import { Lease, newOwner } from '../../flow/lease.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun, taskStore, withLease } from '../../flow/runner.js';
import type { StepRow, TaskRow, TaskStore } from '../../flow/store.js';
import type { TaskStatus } from '../../flow/types.js';

// Operator control of one task, for any flow: run [STEP], retry, skip STEP, goto STEP, resume,
// cancel. `rdsctl task ACTION TASK_ID` and `rdsctl instance step INSTANCE ACTION` are two faces of
// this one code: the same roles, dry-run, confirmation, audit and messages.

export const CONTROL_ACTIONS = ['run', 'retry', 'skip', 'goto', 'resume', 'cancel'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

/** goto rewrites the state of every step after it (it can undo a finished install): admin. */
export const CONTROL_ROLE: Record<ControlAction, 'operator' | 'admin'> = { run: 'operator', retry: 'operator', skip: 'operator', goto: 'admin', resume: 'operator', cancel: 'operator' };

export interface ControlOptions {
  action: ControlAction;
  step?: string;
  output: OutputFormat;
  flags: MutationFlags;
  leaseTtlSec: number;
  /** cancel: how long to wait for a running task's runner to stop (0: do not wait). */
  waitSec: number;
}

/** Checks of the arguments, before any context: a typo is exit 2 even with the metadb down. */
/** Why `skip` requires --reason: the step's work is left undone, and only the reason says why. */
export const SKIP_REASON_WHY = 'the step\'s work is left undone and only the reason tells the next operator why (it is recorded on the step and in the audit)';

export function checkControlArgs(action: ControlAction, step: string | undefined, flags?: MutationFlags): void {
  if ((action === 'skip' || action === 'goto') && step === undefined) throw new UsageError(`${action} needs a STEP (number or name)`);
  if (action === 'skip' && flags) requireReason(flags, 'skip', SKIP_REASON_WHY);
  if ((action === 'retry' || action === 'resume' || action === 'cancel') && step !== undefined) throw new UsageError(`${action} takes no STEP (got "${step}")`);
}

export function parseLeaseTtl(v: string): number {
  if (!/^\d{1,6}$/.test(v) || Number(v) < 1) throw new UsageError(`--lease-ttl ${v}: a positive number of seconds`);
  return Number(v);
}

export function parseWait(v: string): number {
  if (!/^\d{1,6}$/.test(v)) throw new UsageError(`--wait ${v}: a whole number of seconds (0: do not wait)`);
  return Number(v);
}

/** How the messages name the task and the command that continues it. */
export interface TaskLabel {
  /** "rm-2ze1abcd" or "task 17" */
  name: string;
  /** Audit targets besides the task. */
  targets: string[];
  /** The command that resumes it, for hints. */
  resume: string;
  /** How the audit names the command: "task goto" or "instance step goto". */
  command: string;
}

export async function requireControlRole(ctx: Context, action: ControlAction, what: string): Promise<void> {
  await requireRole(ctx, CONTROL_ROLE[action], what);
}

export async function controlTask(ctx: Context, task: TaskRow, label: TaskLabel, opts: ControlOptions, store: TaskStore = taskStore(ctx)): Promise<number> {
  const resolved = flows.resolve(task);
  // A task this binary cannot run may still be cancelled; nothing else.
  if ('unknown' in resolved && opts.action !== 'cancel') flows.forTask(task);
  const rows = await store.loadSteps(task.id);
  const seq = opts.step !== undefined ? resolveStep(rows, opts.step) : undefined;
  const stepName = seq !== undefined ? `${seq} ${rows[seq - 1]!.step_name}` : null;
  const targets = [...label.targets, `task ${task.id}`, ...(stepName ? [`step ${stepName}`] : [])];
  const who = `${ctx.osUser}: ${opts.flags.reason ?? 'no reason given'}`;

  if (opts.flags.dryRun) {
    printPlan(ctx, { action: `${label.command} ${opts.action} (task ${task.id}, ${task.flow} v${task.flow_version} on ${task.target_kind} ${task.target_id})`, targets, notes: [dryRunNote(opts.action, task, rows, seq)] }, opts.output === 'json' ? 'json' : 'text');
    return ExitCode.OK;
  }
  if (opts.action === 'goto') await confirm(ctx, `Move task ${task.id} of ${label.name} to step ${stepName}?`, opts.flags, targets);
  if (opts.action === 'cancel') await confirm(ctx, `Cancel task ${task.id} (${task.flow}) of ${label.name}? Steps already done stay done.`, opts.flags, targets);

  return audited(ctx, { command: `${label.command} ${opts.action}`, targets, reason: opts.flags.reason, detail: { task_id: task.id, flow: task.flow, ...(stepName ? { step: stepName } : {}) } }, async () => {
    switch (opts.action) {
      case 'skip': {
        await withLease(ctx, store, task.id, { ttlSec: opts.leaseTtlSec }, (lease) => skipStep(lease, seq!, `skipped by ${who}`));
        ctx.io.err(`step ${stepName} skipped; task ${task.id} is paused until \`${label.resume}\`\n`);
        return { value: ExitCode.OK };
      }
      case 'goto': {
        const g = await withLease(ctx, store, task.id, { ttlSec: opts.leaseTtlSec }, (lease) => gotoStep(lease, rows, seq!, `goto ${seq} by ${who}`));
        ctx.io.err(`task ${task.id} ${g.direction === 'forward' ? `skips ${g.changed.length} steps to` : 'goes back to'} step ${stepName} (${g.changed.length} steps changed); run \`${label.resume}\`\n`);
        return { value: ExitCode.OK, detail: { direction: g.direction, changed: g.changed } };
      }
      case 'cancel': {
        const c = await cancelTask(ctx, store, task, who, opts);
        if (opts.output === 'json') ctx.io.out(jsonText({ task_id: task.id, status: c.status, cancelled: c.cancelled }));
        ctx.io.err(termSafe(c.message) + '\n');
        return { value: c.code, ok: c.code === ExitCode.OK, exitCode: c.code, detail: { status: c.status } };
      }
      default: {
        const r = await runAction(ctx, store, opts, task, rows, seq);
        if (!r) return { value: ExitCode.OK };
        report(ctx, opts.output, task, r, label);
        // A run stopped by a cancel did not do what was asked: runbooks must not read it as success.
        const code = r.failed?.exitCode ?? (r.status === 'cancelled' ? ExitCode.CONFLICT : ExitCode.OK);
        return { value: code, ok: !r.failed, exitCode: code, detail: { status: r.status, ran: r.ran, ...(r.failed ? { failed_step: `${r.failed.seq} ${r.failed.name}` } : {}) } };
      }
    }
  });
}

function dryRunNote(action: ControlAction, task: TaskRow, rows: StepRow[], seq: number | undefined): string {
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
    case 'cancel':
      return task.status === 'done' || task.status === 'cancelled'
        ? `nothing: task ${task.id} is ${task.status}`
        : task.lease_owner
          ? `would ask ${task.lease_owner} to stop at its next step boundary, then the task is cancelled`
          : `would mark task ${task.id} cancelled now (no runner holds it)`;
    default:
      return gotoDirection(rows, seq!) === 'forward' ? `would skip the unfinished steps before ${seq}` : `would reset steps ${seq}-${rows.length} to pending`;
  }
}

async function runAction(ctx: Context, store: TaskStore, opts: ControlOptions, task: TaskRow, rows: StepRow[], seq: number | undefined): Promise<RunResult | null> {
  let mode: RunMode;
  let allow: readonly TaskStatus[] = CLAIMABLE.run;
  if (task.status === 'cancelled') throw new ConflictError(`task ${task.id} is cancelled; a cancelled task does not run again`, { hint: 'start a new one' });
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
  const { result } = await claimAndRun(ctx, task.id, { allow, mode, ttlSec: opts.leaseTtlSec, store, progress: stderrProgress(ctx.io) });
  return result;
}

function report(ctx: Context, output: OutputFormat, task: TaskRow, r: RunResult, label: TaskLabel): void {
  const out = { task_id: task.id, status: r.status, ran: r.ran, failed: r.failed ? { seq: r.failed.seq, step: r.failed.name, host: r.failed.host, error: r.failed.error } : null, cancelled_by: r.cancelledBy ?? null };
  if (output === 'json') ctx.io.out(jsonText(out));
  ctx.io.err(reportLine(task.id, r, label.name));
}

/** The last line of a run: the failed step's error quotes remote output and metadb text, so it is escaped. */
export function reportLine(taskId: number, r: Pick<RunResult, 'failed' | 'cancelledBy' | 'ran' | 'status'>, name: string): string {
  if (r.failed) return `rdsctl: ${termSafe(`task ${taskId} failed at ${failureText(r.failed)}`)}\n`;
  if (r.cancelledBy) return termSafe(`task ${taskId} of ${name}: cancelled (by ${r.cancelledBy}) after ${r.ran} steps this run`) + '\n';
  return termSafe(`task ${taskId} of ${name}: ${r.status} (${r.ran} steps this run)`) + '\n';
}

interface CancelOutcome {
  status: TaskStatus;
  cancelled: boolean;
  code: number;
  message: string;
}

/**
 * No runner: the task is marked cancelled at once, under a lease. A live runner: the request is
 * recorded and the runner stops at its next step boundary (it asks the store before each step);
 * we wait for that up to --wait seconds. A runner that ends the task failed first leaves it to us.
 */
export async function cancelTask(ctx: Context, store: TaskStore, task: TaskRow, by: string, o: { leaseTtlSec: number; waitSec: number }): Promise<CancelOutcome> {
  if (task.status === 'done' || task.status === 'cancelled') throw new ConflictError(`task ${task.id} is ${task.status}; there is nothing to cancel`);
  const resolved = flows.resolve(task);
  const flow = 'flow' in resolved ? resolved.flow : null;
  const deadline = ctx.clock.now().getTime() + o.waitSec * 1000;
  let requested = false;
  for (;;) {
    const r = await Lease.tryClaim(store, task.id, { owner: newOwner(), ttlSec: o.leaseTtlSec, allow: CLAIMABLE.control, clock: ctx.clock });
    if ('lease' in r) {
      try {
        await cancelUnderLease(r.lease, flow, task, by);
      } finally {
        await r.lease.release();
      }
      return { status: 'cancelled', cancelled: true, code: ExitCode.OK, message: requested ? `task ${task.id} cancelled at a step boundary` : `task ${task.id} cancelled (no runner held it)` };
    }
    if ('state' in r) {
      if (r.state.status === 'cancelled') return { status: 'cancelled', cancelled: true, code: ExitCode.OK, message: `task ${task.id} cancelled at a step boundary` };
      if (r.state.status === 'done') {
        // Finished before its next boundary: nothing left to cancel, and no request left behind.
        throw new ConflictError(`task ${task.id} finished (done) before it reached a step boundary; nothing was cancelled`);
      }
      throw r.state;
    }
    const holder = r.busy.holder ?? 'its runner';
    if (!requested) {
      await store.requestCancel(task.id, by);
      requested = true;
      if (o.waitSec === 0) return { status: task.status, cancelled: false, code: ExitCode.OK, message: `cancel of task ${task.id} requested; ${holder} stops at its next step boundary (see \`rdsctl task show ${task.id}\`)` };
      ctx.io.err(`cancel of task ${task.id} requested; waiting up to ${o.waitSec}s for ${holder} to finish its current step\n`);
    }
    if (ctx.clock.now().getTime() > deadline) {
      const t = await store.getTask(task.id);
      throw new ConflictError(`task ${task.id} is still running ${t.current_step ? `step ${t.current_step}` : 'a step'} after ${o.waitSec}s; the cancel stays requested and takes effect at its next step boundary`, { hint: `check with \`rdsctl task show ${task.id}\`` });
    }
    await ctx.clock.sleep(250, ctx.signal);
  }
}

// ---- `rdsctl task ACTION TASK_ID [STEP]` -------------------------------------------------------

interface RawControl {
  output: string;
  leaseTtl: string;
  wait?: string;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
}

const ACTION_HELP: Record<ControlAction, string> = {
  run: 'Run the next unfinished step, or the named STEP whatever its state; the task is then paused until `task resume`.',
  retry: 'Run the failed step again, then continue to the end.',
  skip: 'Mark STEP skipped; --reason is required (recorded on the step and in the audit: the step\'s work is left undone,\nand only the reason tells the next operator why). The task is paused until `task resume`.',
  goto: 'Go back (STEP and every step after it become pending, their results forgotten) or forward (the unfinished\nsteps before STEP are skipped). Asks for confirmation (--yes without a TTY). Then `task resume`.',
  resume: 'Continue from the first unfinished step to the end.',
  cancel: 'Stop the task at its next step boundary and mark it cancelled (a task no runner holds is cancelled at\nonce). Steps already done stay done. Asks for confirmation (--yes without a TTY).',
};

/** One `task` verb: the shared flags, argument checks before any context, then controlTask. */
export function registerTaskControl(cmd: Command, run: Runner, action: ControlAction, parseTaskId: (v: string) => number): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: action === 'goto' || action === 'cancel' }).argument('<task>', 'task id (see `rdsctl task list`)');
  if (action === 'run' || action === 'skip' || action === 'goto') cmd.argument(action === 'run' ? '[step]' : '<step>', 'a step: its number (8), its name (do_init) or name:role for names listed twice (do_make_dir:slave)');
  cmd.option('--lease-ttl <seconds>', 'lease of this runner, renewed while it works', String(DEFAULT_LEASE_TTL_SEC));
  if (action === 'cancel') cmd.option('--wait <seconds>', 'wait this long for a running task to reach its next step boundary (0: do not wait)', '300');
  cmd.addHelpText(
    'after',
    `\n${ACTION_HELP[action]}\nFor any flow; \`rdsctl instance step INSTANCE ${action}\` is the same on an instance's newest task.\n` +
      `Needs the ${CONTROL_ROLE[action]} role; audited with --reason. Exit 9 when another runner holds the task's lease or the task\n` +
      `is in the wrong state, or its flow/version is unknown to this rdsctl; exit 3 for an unknown task or step.\n` +
      examples(...TASK_EXAMPLES[action]),
  );
  cmd.action(async (...args: unknown[]) => {
    const taskArg = args[0] as string;
    const stepArg = action === 'run' || action === 'skip' || action === 'goto' ? (args[1] as string | undefined) : undefined;
    const o = args[action === 'run' || action === 'skip' || action === 'goto' ? 2 : 1] as RawControl;
    const taskId = parseTaskId(taskArg);
    checkControlArgs(action, stepArg, parseMutationFlags(o));
    const opts: ControlOptions = {
      action,
      ...(stepArg !== undefined ? { step: stepArg } : {}),
      output: parseOutput(o.output),
      flags: parseMutationFlags(o),
      leaseTtlSec: parseLeaseTtl(o.leaseTtl),
      waitSec: o.wait === undefined ? 0 : parseWait(o.wait),
    };
    return run(async (ctx) => {
      await requireControlRole(ctx, action, `rdsctl task ${action}`);
      const task = await taskStore(ctx).getTask(taskId);
      const name = task.custins_id !== null ? await insName(ctx, task.custins_id) : null;
      return controlTask(ctx, task, { name: name ?? `${task.target_kind} ${task.target_id}`, targets: name ? [name] : [`${task.target_kind}:${task.target_id}`], resume: `rdsctl task resume ${task.id}`, command: 'task' }, opts);
    });
  });
}

async function insName(ctx: Context, custinsId: number): Promise<string | null> {
  const c = await findCustins(ctx.db('dbaas'), String(custinsId), { includeDeleted: true }).catch(() => null);
  return c?.ins_name ?? null;
}

const TASK_EXAMPLES: Record<ControlAction, string[]> = {
  run: ['rdsctl task run 17', 'rdsctl task run 17 do_check_slave_master'],
  retry: ['rdsctl task retry 17 --reason "NC disk full, cleaned"'],
  skip: ['rdsctl task skip 17 do_insert_db_perf --reason "perf collector down, ticket 88"'],
  goto: ['rdsctl task goto 17 do_install_duallmaster_master --reason "redo replication" --yes', 'rdsctl task goto 17 12 --dry-run'],
  resume: ['rdsctl task resume 17'],
  cancel: ['rdsctl task cancel 17 --reason "wrong class" --yes', 'rdsctl task cancel 17 --reason "stop" --yes --wait 0'],
};
