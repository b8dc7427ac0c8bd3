import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { stepViews } from '../../flow/control.js';
import { flowByName } from '../../flow/flows.js';
import { secondsText } from '../../flow/progress.js';
import { getTask, loadSteps } from '../../flow/store.js';
import { findCustins } from '../../rds/custins.js';

// `rdsctl task show ID`: one task with its parameters, lease and every step.

export interface Options {
  taskId: number;
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<task>', 'task id (see `rdsctl task list`)')
    .addHelpText('after', examples('rdsctl task show 17', 'rdsctl task show 17 -o json | jq ".steps[] | select(.status == \\"failed\\")"'))
    .action(async (task: string, o: { output: string }) => {
      if (!/^\d{1,18}$/.test(task)) throw new UsageError(`task "${task}": a task id is a number`);
      const opts: Options = { taskId: Number(task), output: parseOutput(o.output) };
      return run((ctx) => show(opts, ctx));
    });
}

export async function show(opts: Options, ctx: Context): Promise<void> {
  const db = ctx.db('dbaas');
  const t = await getTask(db, opts.taskId);
  const c = await findCustins(db, String(t.custins_id), { includeDeleted: true }).catch(() => null);
  const steps = stepViews(flowByName(t.flow), await loadSteps(db, t.id));
  const json = {
    task_id: t.id,
    custins_id: t.custins_id,
    ins_name: c?.ins_name ?? null,
    flow: t.flow,
    status: t.status,
    current_step: t.current_step,
    error: t.error,
    params: t.params,
    lease_owner: t.lease_owner,
    lease_expires_at: t.lease_expires_at,
    fencing_token: Number(t.fencing_token),
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
          ['instance', c ? `${c.ins_name} (${c.status})` : t.custins_id],
          ['flow', t.flow],
          ['status', t.status],
          ['current step', t.current_step],
          ['error', t.error],
          ['lease', t.lease_owner ? `${t.lease_owner} until ${t.lease_expires_at?.toISOString() ?? '-'}` : null],
          ['fencing token', t.fencing_token],
          ['created', `${t.gmt_created.toISOString()} by ${t.created_by ?? '-'}`],
          ['started', t.gmt_started],
          ['finished', t.gmt_finished],
        ],
      },
      { title: 'Parameters', fields: Object.entries(t.params) },
      { title: 'Steps', table: { headers: ['#', 'STEP', 'ROLE', 'STATUS', 'TRIES', 'HOST', 'TOOK', 'ERROR / SKIP REASON'], rows: steps.map((s) => [s.seq, s.step, s.role, s.status, s.attempts, s.host, s.duration_ms === null ? null : secondsText(s.duration_ms), s.error ?? s.skip_reason]) } },
    ],
    json,
  );
}
