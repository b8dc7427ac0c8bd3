import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
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
}

export function parseTaskId(v: string): number {
  if (!/^\d{1,18}$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`task "${v.slice(0, 40)}": a task id is a number`);
  return Number(v);
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<task>', 'task id (see `rdsctl task list`)')
    .addHelpText('after', examples('rdsctl task show 17', 'rdsctl task show 17 -o json | jq ".steps[] | select(.status == \\"failed\\")"'))
    .action(async (task: string, o: { output: string }) => {
      const opts = { taskId: parseTaskId(task), output: parseOutput(o.output) };
      return run((ctx) => show(opts, ctx));
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
