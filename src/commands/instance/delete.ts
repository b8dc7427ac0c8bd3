import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { DEFAULT_LEASE_TTL_SEC } from '../../flow/runner.js';
import { deleteInstance, deletePlan, deleteTarget } from '../../rds/delete.js';

// `rdsctl instance delete INSTANCE`: stop both servers, remove what the install left on the NCs,
// free port and capacity, mark the metadata deleted.

export interface Options {
  instance: string;
  output: OutputFormat;
  flags: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .addHelpText(
      'after',
      '\nRefused with exit 9 while a runner holds the install task\'s lease. An unreachable NC fails the\n' +
        'command with exit 5 and leaves the instance "deleting": run the delete again later.\n' +
        examples('rdsctl instance delete rm-2ze1abcd --dry-run', 'rdsctl instance delete rm-2ze1abcd --reason "ticket 7781" --yes'),
    )
    .action(async (instance: string, o: { output: string; dryRun?: boolean; yes?: boolean; reason?: string }) => {
      const opts: Options = { instance, output: parseOutput(o.output), flags: parseMutationFlags(o) };
      return run((ctx) => del(opts, ctx));
    });
}

export async function del(opts: Options, ctx: Context): Promise<void> {
  const t = await deleteTarget(ctx, opts.instance);
  const plan = deletePlan(t);
  if (opts.flags.dryRun) {
    printPlan(ctx, plan, opts.output === 'json' ? 'json' : 'text');
    return;
  }
  await confirm(ctx, `Delete ${t.custins.ins_name} (${t.nodes.map((n) => `${n.role} ${n.host}:${n.port}`).join(', ')}) and all its data?`, opts.flags, [t.custins.ins_name, ...t.nodes.map((n) => `${n.role} ${n.host}:${n.port}`)]);
  const r = await audited(ctx, { command: 'instance delete', targets: plan.targets, reason: opts.flags.reason }, async () => {
    const value = await deleteInstance(ctx, t, DEFAULT_LEASE_TTL_SEC);
    return { value, detail: { custins_id: value.custins_id, hosts: value.hosts.map((h) => h.host), cancelled_task: value.cancelled_task } };
  });
  printSections(ctx.io, opts.output, [{ title: 'Deleted', fields: [['name', r.ins_name], ['custins id', r.custins_id], ['cancelled task', r.cancelled_task], ...r.hosts.map((h): [string, unknown] => [h.host, h.result])] }], r);
}
