import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { deleteFlow, DELETE_FLOW } from '../../flow/delete/index.js';
import { failureText } from '../../flow/engine.js';
import { enqueue } from '../../flow/enqueue.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun, taskStore } from '../../flow/runner.js';
import { deleteBlockers, deletePlan, deleteTarget } from '../../rds/delete.js';

// `rdsctl instance delete INSTANCE`: the delete flow on the engine (stop both servers, remove
// their files, free port and capacity, mark deleted), run here under its lease and shown in
// `task list`. Killed half-way, it is finished by running the same command again (or `task
// resume ID`): every step is idempotent.

export interface Options {
  instance: string;
  output: OutputFormat;
  flags: MutationFlags;
  leaseTtlSec: number;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .addHelpText(
      'after',
      '\nRuns the `delete` flow (' +
        DELETE_FLOW.map((s) => s.name).join(', ') +
        ').\nRefused with exit 9 while a runner works on a task of the instance: cancel that task first\n' +
        '(`rdsctl task cancel ID`). An unreachable NC fails the step with exit 5 and leaves the instance\n' +
        '"deleting": run the same delete again later, it resumes the unfinished delete task.\n' +
        examples('rdsctl instance delete rm-2ze1abcd --dry-run', 'rdsctl instance delete rm-2ze1abcd --reason "ticket 7781" --yes'),
    )
    .action(async (instance: string, o: { output: string; dryRun?: boolean; yes?: boolean; reason?: string }) => {
      const opts: Options = { instance, output: parseOutput(o.output), flags: parseMutationFlags(o), leaseTtlSec: DEFAULT_LEASE_TTL_SEC };
      return run((ctx) => del(opts, ctx));
    });
}

export async function del(opts: Options, ctx: Context): Promise<number> {
  const t = await deleteTarget(ctx, opts.instance);
  const { resume } = await deleteBlockers(ctx, t);
  const plan = deletePlan(t);
  plan.notes = [...(plan.notes ?? []), resume ? `resumes delete task ${resume.id} from its first unfinished step` : `a new delete task runs ${DELETE_FLOW.length} steps: ${DELETE_FLOW.map((s, i) => `${i + 1} ${s.name}`).join(', ')}`];
  if (opts.flags.dryRun) {
    printPlan(ctx, plan, opts.output === 'json' ? 'json' : 'text');
    return ExitCode.OK;
  }
  await confirm(ctx, `Delete ${t.custins.ins_name} (${t.nodes.map((n) => `${n.role} ${n.host}:${n.port}`).join(', ') || 'no live host'}) and all its data?`, opts.flags, [t.custins.ins_name, ...t.nodes.map((n) => `${n.role} ${n.host}:${n.port}`)]);
  const store = taskStore(ctx);
  return audited(ctx, { command: 'instance delete', targets: plan.targets, reason: opts.flags.reason }, async () => {
    const taskId = resume ? resume.id : await enqueue(store, deleteFlow, { kind: 'instance', id: String(t.custins.id) }, { requested_by: ctx.osUser, reason: opts.flags.reason }, { createdBy: ctx.osUser });
    ctx.io.err(`${resume ? 'resuming' : 'started'} delete task ${taskId} of ${t.custins.ins_name}\n`);
    const { result } = await claimAndRun(ctx, taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: opts.leaseTtlSec, store, progress: stderrProgress(ctx.io) });
    if (result.failed) {
      ctx.io.err(`rdsctl: delete of ${t.custins.ins_name} (task ${taskId}) failed at ${failureText(result.failed)}\n`);
      ctx.io.err(`hint: fix the cause, then run the same delete again (or \`rdsctl task resume ${taskId}\`)\n`);
      return { value: result.failed.exitCode, ok: false, exitCode: result.failed.exitCode, detail: { task_id: taskId, failed_step: `${result.failed.seq} ${result.failed.name}` } };
    }
    const steps = await store.loadSteps(taskId);
    const scope = steps[0]?.result as { cancelled_tasks?: number[] } | null;
    const cancelled = scope?.cancelled_tasks ?? [];
    const purge = steps.find((s) => s.step_name === 'do_purge_instance_files')?.detail ?? '';
    const value = {
      ins_name: t.custins.ins_name,
      custins_id: t.custins.id,
      status: result.status === 'done' ? 'deleted' : 'deleting',
      task_id: taskId,
      task_status: result.status,
      hosts: t.nodes.map((n) => ({ host: n.host, result: purge.split('; ').find((x) => x.startsWith(`${n.host}: `))?.slice(n.host.length + 2) ?? 'purged' })),
      cancelled_task: cancelled[0] ?? null,
      cancelled_tasks: cancelled,
      steps: steps.map((s) => ({ seq: s.seq, step: s.step_name, status: s.status, detail: s.detail })),
    };
    printSections(
      ctx.io,
      opts.output,
      [{ title: 'Deleted', fields: [['name', value.ins_name], ['custins id', value.custins_id], ['task', `${taskId} (${result.status})`], ['cancelled tasks', value.cancelled_tasks.join(', ') || null], ...steps.map((s): [string, unknown] => [`${s.seq} ${s.step_name}`, s.detail])] }],
      value,
    );
    const code = result.status === 'done' ? ExitCode.OK : ExitCode.CONFLICT;
    return { value: code, ok: code === ExitCode.OK, exitCode: code, detail: { task_id: taskId, custins_id: t.custins.id, hosts: t.nodes.map((n) => n.host), status: result.status, cancelled_task: value.cancelled_task, cancelled_tasks: cancelled } };
  });
}
