import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { oneOf, wholeNumber } from '../../core/flags.js';
import { addOutputOption, parseOutput, printRecords, timeText, type OutputFormat } from '../../core/output.js';
import { flows } from '../../flow/flows.js';
import { taskStore } from '../../flow/runner.js';
import type { TaskListRow } from '../../flow/store.js';
import { TASK_STATUSES, type Target, type TaskStatus } from '../../flow/types.js';
import { findCustins } from '../../rds/custins.js';
import { parseWatch, WATCH_HELP, watching } from '../shared/watch.js';

// `rdsctl task list`: the task queue, newest first, every flow and target kind.

export interface Options {
  output: OutputFormat;
  status?: TaskStatus;
  /** An instance (name or custins id) or KIND:ID. */
  target?: string;
  kind?: string;
  flow?: string;
  limit: number;
}

interface Raw {
  output: string;
  status?: TaskStatus;
  instance?: string;
  target?: string;
  kind?: string;
  flow?: string;
  limit: number;
  watch?: number | true;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .option('--status <status>', `only tasks in this state (${TASK_STATUSES.join(', ')})`, oneOf('--status', TASK_STATUSES))
    .option('--target <target>', 'only tasks of this target: an instance (rm-… or custins id) or KIND:ID (nc:nc-a01, backup:17)')
    .option('--instance <name>', 'same as --target for an instance')
    .option('--kind <kind>', 'only tasks whose target is of this kind (instance, nc, backup, …)')
    .option('--flow <flow>', `only tasks of this flow (${flows.names().join(', ')})`)
    .option('--limit <n>', 'at most this many, newest first', wholeNumber('--limit', 1, 999_999, 'a positive whole number'), 100)
    .option('--watch [sec]', WATCH_HELP, parseWatch)
    .addHelpText(
      'after',
      '\nA task of a flow or flow version this rdsctl does not know is listed with FLOW "name vN (unknown)".\n' +
        'A failed task shows its failed step as "SEQ NAME" in CURRENT, the same as its error and `instance show`.\n' +
        examples('rdsctl task list', 'rdsctl task list --status failed', 'rdsctl task list --target rm-2ze1abcd -o json', 'rdsctl task list --kind nc', 'rdsctl task list --status running --watch 5'),
    )
    .action(async (o: Raw) => {
      const opts = parse(o);
      return run(watching(o.watch, (ctx) => list(opts, ctx)));
    });
}

function parse(o: Raw): Options {
  if (o.instance !== undefined && o.target !== undefined) throw new UsageError('--instance and --target name the same thing: give one');
  if (o.kind !== undefined && !/^[a-z][a-z0-9_]{0,31}$/.test(o.kind)) throw new UsageError(`--kind ${o.kind.slice(0, 40)}: a target kind like instance, nc, backup`);
  const target = o.target ?? o.instance;
  if (target !== undefined && (target.length === 0 || target.length > 160)) throw new UsageError('--target: an instance name or KIND:ID of at most 160 characters');
  return {
    output: parseOutput(o.output),
    ...(o.status ? { status: o.status } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(o.kind ? { kind: o.kind } : {}),
    ...(o.flow ? { flow: o.flow } : {}),
    limit: o.limit,
  };
}

/** KIND:ID as given, or an instance by name or custins id (looked up, deleted ones too). */
export async function resolveTarget(ctx: Context, ref: string): Promise<Target> {
  const m = /^([a-z][a-z0-9_]{0,31}):(.+)$/.exec(ref);
  if (m && m[1] !== 'instance') return { kind: m[1]!, id: m[2]! };
  const c = await findCustins(ctx.db('dbaas'), m ? m[2]! : ref, { includeDeleted: true });
  return { kind: 'instance', id: String(c.id) };
}

export function flowLabel(r: { flow: string; flow_version: number; id: number }): string {
  return `${r.flow} v${r.flow_version}${'unknown' in flows.resolve(r) ? ' (unknown)' : ''}`;
}

export function targetLabel(r: { target_kind: string; target_id: string; ins_name?: string | null }): string {
  return r.target_kind === 'instance' && r.ins_name ? `instance ${r.ins_name}` : `${r.target_kind} ${r.target_id}`;
}

export async function list(opts: Options, ctx: Context): Promise<void> {
  const target = opts.target === undefined ? undefined : await resolveTarget(ctx, opts.target);
  const rows = await taskStore(ctx).listTasks({ limit: opts.limit, ...(opts.status ? { status: opts.status } : {}), ...(opts.flow ? { flow: opts.flow } : {}), ...(opts.kind ? { kind: opts.kind } : {}), ...(target ? { target } : {}) });
  const now = ctx.clock.now();
  printRecords<TaskListRow>(
    ctx.io,
    opts.output,
    [
      { header: 'TASK', value: (r) => r.id, align: 'right' },
      { header: 'TARGET', value: (r) => targetLabel(r) },
      { header: 'FLOW', value: (r) => flowLabel(r) },
      { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'done' ? 'ok' : r.status === 'failed' ? 'bad' : r.status === 'cancelled' ? 'dim' : 'warn') },
      { header: 'STEPS', value: (r) => `${r.steps_finished}/${r.steps_total}` },
      { header: 'CURRENT', value: (r) => (r.status === 'done' || r.status === 'cancelled' ? null : r.status === 'failed' ? r.failed_step : r.current_step) },
      { header: 'CREATED', value: (r) => timeText(r.gmt_created, now, ctx.io.stdoutIsTTY) },
      { header: 'LEASE', value: (r) => r.lease_owner, wide: true },
      { header: 'LEASE UNTIL', value: (r) => r.lease_expires_at, wide: true },
      { header: 'BY', value: (r) => r.created_by, wide: true },
      { header: 'ERROR', value: (r) => r.error, wide: true },
    ],
    rows,
    (r) => ({
      task_id: r.id,
      target_kind: r.target_kind,
      target_id: r.target_id,
      custins_id: r.custins_id,
      ins_name: r.ins_name,
      flow: r.flow,
      flow_version: r.flow_version,
      flow_known: !('unknown' in flows.resolve(r)),
      status: r.status,
      steps_finished: r.steps_finished,
      steps_total: r.steps_total,
      current_step: r.current_step,
      failed_step: r.failed_step,
      cancel_requested: r.cancel_requested,
      lease_owner: r.lease_owner,
      lease_expires_at: r.lease_expires_at,
      fencing_token: r.fencing_token,
      error: r.error,
      created_by: r.created_by,
      gmt_created: r.gmt_created,
      gmt_started: r.gmt_started,
      gmt_finished: r.gmt_finished,
    }),
  );
  if (opts.output !== 'json') ctx.io.err(`${rows.length} task${rows.length === 1 ? '' : 's'}\n`);
}
