import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { seconds } from '../../core/flags.js';
import { addOutputOption, parseOutput, printSections, termSafe, type OutputFormat } from '../../core/output.js';
import { stepViews } from '../../flow/control.js';
import { flows } from '../../flow/flows.js';
import { secondsText } from '../../flow/progress.js';
import { taskStore } from '../../flow/runner.js';
import { failedStepName } from '../../flow/store.js';
import { findCustins } from '../../rds/custins.js';
import { targetLabel } from './list.js';

// `rdsctl task show ID`: one task with its target, flow and version, parameters, lease and every
// step with its result. A task of a flow this rdsctl does not know is shown all the same.

export interface Options {
  taskId: number;
  output: OutputFormat;
  /** --follow: poll every this many seconds until the task ends, then show it. */
  followSec?: number;
}

/** States a task does not leave by itself. */
const ENDED = ['done', 'failed', 'cancelled'];

export function parseTaskId(v: string): number {
  if (!/^\d{1,18}$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`task "${v.slice(0, 40)}": a task id is a number`);
  return Number(v);
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<task>', 'task id (see `rdsctl task list`)')
    .option('--follow', 'report each step as it changes (stderr) until the task is done, failed or cancelled, then show it')
    .option('--interval <sec>', 'with --follow: seconds between reads of the task', seconds('--interval', 0.1, 60), 2)
    .addHelpText(
      'after',
      '\nWith --follow the exit status is 0 when the task ends done, 4 when it ends failed or cancelled,\n130 on Ctrl-C (a paused task is followed until someone resumes or cancels it).\n' +
        examples('rdsctl task show 17', 'rdsctl task show 17 --follow', 'rdsctl task show 17 -o json | jq ".steps[] | select(.status == \\"failed\\")"'),
    )
    .action(async (task: string, o: { output: string; follow?: boolean; interval: number }) => {
      const opts: Options = { taskId: parseTaskId(task), output: parseOutput(o.output), ...(o.follow ? { followSec: o.interval } : {}) };
      return run((ctx) => (opts.followSec === undefined ? show(opts, ctx) : follow(opts, ctx)));
    });
}

/**
 * `--follow`: read the task and its steps every interval, one stderr line per step that changed
 * state, until the task is in an end state; then the usual view on stdout. Like `kubectl get -w`
 * the progress is talk (stderr) and the final record is data (stdout).
 */
export async function follow(opts: Options, ctx: Context): Promise<number> {
  const store = taskStore(ctx);
  const seen = new Map<number, string>();
  let first = true;
  for (;;) {
    const t = await store.getTask(opts.taskId);
    const rows = await store.loadSteps(t.id);
    for (const r of rows) {
      const before = seen.get(r.seq);
      if (before !== r.status && !(first && r.status === 'pending')) {
        const at = ctx.clock.now().toISOString().slice(11, 19);
        ctx.io.err(termSafe(`${at} step ${r.seq} ${r.step_name}: ${before ?? ''}${before ? ' -> ' : ''}${r.status}${r.status === 'failed' && r.error ? ` (${r.error})` : ''}`) + '\n');
      }
      seen.set(r.seq, r.status);
    }
    first = false;
    if (ENDED.includes(t.status)) {
      ctx.io.err(`task ${t.id}: ${t.status}\n`);
      await show(opts, ctx);
      return t.status === 'done' ? ExitCode.OK : ExitCode.UNHEALTHY;
    }
    if (!(await pause((opts.followSec ?? 2) * 1000, ctx.signal))) return ExitCode.INTERRUPTED;
  }
}

/** Wait, or stop early on the signal; false when the signal fired. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function show(opts: Options, ctx: Context): Promise<void> {
  const store = taskStore(ctx);
  const t = await store.getTask(opts.taskId);
  const c = t.custins_id === null ? null : await findCustins(ctx.db('dbaas'), String(t.custins_id), { includeDeleted: true }).catch(() => null);
  const resolved = flows.resolve(t);
  const rows = await store.loadSteps(t.id);
  const steps = stepViews('flow' in resolved ? resolved.flow : null, rows);
  const unknown = 'unknown' in resolved ? resolved.unknown : null;
  const json = {
    task_id: t.id,
    target_kind: t.target_kind,
    target_id: t.target_id,
    custins_id: t.custins_id,
    ins_name: c?.ins_name ?? null,
    flow: t.flow,
    flow_version: t.flow_version,
    flow_known: unknown === null,
    status: t.status,
    current_step: t.current_step,
    failed_step: failedStepName(rows),
    error: t.error,
    cancel_requested: t.cancel_requested,
    params: t.params,
    lease_owner: t.lease_owner,
    lease_expires_at: t.lease_expires_at,
    fencing_token: t.fencing_token,
    created_by: t.created_by,
    gmt_created: t.gmt_created,
    gmt_started: t.gmt_started,
    gmt_finished: t.gmt_finished,
    steps,
  };
  printSections(
    ctx.io,
    opts.output,
    [
      {
        title: 'Task',
        fields: [
          ['id', t.id],
          ['target', `${targetLabel({ ...t, ins_name: c?.ins_name ?? null })}${c ? ` (${c.status})` : ''}`],
          ['flow', `${t.flow} version ${t.flow_version}${unknown ? ` (${unknown})` : ''}`],
          ['status', t.status],
          ['current step', t.current_step],
          ['failed step', failedStepName(rows)],
          ['error', t.error],
          ['cancel requested', t.cancel_requested],
          ['lease', t.lease_owner ? `${t.lease_owner} until ${t.lease_expires_at?.toISOString() ?? '-'}` : null],
          ['fencing token', t.fencing_token],
          ['created', `${t.gmt_created.toISOString()} by ${t.created_by ?? '-'}`],
          ['started', t.gmt_started],
          ['finished', t.gmt_finished],
        ],
      },
      { title: 'Parameters', fields: Object.entries(t.params) },
      {
        title: 'Steps',
        table: {
          headers: ['#', 'STEP', 'ROLE', 'STATUS', 'TRIES', 'HOST', 'TOOK', 'ERROR / SKIP REASON', 'RESULT'],
          rows: steps.map((s) => [s.seq, s.step, s.role, s.status, s.attempts, s.host, s.duration_ms === null ? null : secondsText(s.duration_ms), s.error ?? s.skip_reason, s.result === null ? null : JSON.stringify(s.result)]),
        },
      },
    ],
    json,
  );
}
