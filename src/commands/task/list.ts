import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { oneOf, wholeNumber } from '../../core/flags.js';
import { addOutputOption, parseOutput, printRecords, timeText, type OutputFormat } from '../../core/output.js';
import { listTasks, type TaskListRow } from '../../flow/store.js';
import { findCustins } from '../../rds/custins.js';

// `rdsctl task list`: the task queue, newest first.

const STATUSES = ['pending', 'running', 'paused', 'done', 'failed', 'cancelled'];

export interface Options {
  output: OutputFormat;
  status?: string;
  instance?: string;
  flow?: string;
  limit: number;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .option('--status <status>', `only tasks in this state (${STATUSES.join(', ')})`, oneOf('--status', STATUSES))
    .option('--instance <name>', 'only tasks of this instance (name or custins id)')
    .option('--flow <flow>', 'only tasks of this flow (install)')
    .option('--limit <n>', 'at most this many, newest first', wholeNumber('--limit', 1, 999_999, 'a positive whole number'), 100)
    .addHelpText('after', examples('rdsctl task list', 'rdsctl task list --status failed', 'rdsctl task list --instance rm-2ze1abcd -o json'))
    .action(async (o: { output: string; status?: string; instance?: string; flow?: string; limit: number }) => {
      const opts: Options = { output: parseOutput(o.output), ...(o.status ? { status: o.status } : {}), ...(o.instance ? { instance: o.instance } : {}), ...(o.flow ? { flow: o.flow } : {}), limit: o.limit };
      return run((ctx) => list(opts, ctx));
    });
}

export async function list(opts: Options, ctx: Context): Promise<void> {
  const db = ctx.db('dbaas');
  const custinsId = opts.instance === undefined ? undefined : (await findCustins(db, opts.instance, { includeDeleted: true })).id;
  const rows = await listTasks(db, { limit: opts.limit, ...(opts.status ? { status: opts.status } : {}), ...(opts.flow ? { flow: opts.flow } : {}), ...(custinsId !== undefined ? { custinsId } : {}) });
  const now = ctx.clock.now();
  printRecords<TaskListRow>(
    ctx.io,
    opts.output,
    [
      { header: 'TASK', value: (r) => r.id, align: 'right' },
      { header: 'INSTANCE', value: (r) => r.ins_name },
      { header: 'FLOW', value: (r) => r.flow },
      { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'done' ? 'ok' : r.status === 'failed' ? 'bad' : r.status === 'cancelled' ? 'dim' : 'warn') },
      { header: 'STEPS', value: (r) => `${r.steps_finished}/${r.steps_total}` },
      { header: 'CURRENT', value: (r) => (r.status === 'done' ? null : r.current_step) },
      { header: 'CREATED', value: (r) => timeText(r.gmt_created, now, ctx.io.stdoutIsTTY) },
      { header: 'LEASE', value: (r) => r.lease_owner, wide: true },
      { header: 'LEASE UNTIL', value: (r) => r.lease_expires_at, wide: true },
      { header: 'BY', value: (r) => r.created_by, wide: true },
      { header: 'ERROR', value: (r) => r.error, wide: true },
    ],
    rows,
    (r) => ({
      task_id: r.id,
      custins_id: r.custins_id,
      ins_name: r.ins_name,
      flow: r.flow,
      status: r.status,
      steps_finished: Number(r.steps_finished),
      steps_total: Number(r.steps_total),
      current_step: r.current_step,
      lease_owner: r.lease_owner,
      lease_expires_at: r.lease_expires_at,
      fencing_token: Number(r.fencing_token),
      error: r.error,
      created_by: r.created_by,
      gmt_created: r.gmt_created,
      gmt_started: r.gmt_started,
      gmt_finished: r.gmt_finished,
    }),
  );
  if (opts.output !== 'json') ctx.io.err(`${rows.length} task${rows.length === 1 ? '' : 's'}\n`);
}
