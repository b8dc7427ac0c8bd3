import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { removeSetScript } from '../../backup/scripts.js';
import { deletePlan, deleteSet } from '../../backup/ops.js';
import { parseBackupId } from '../../backup/sets.js';

// `rdsctl backup delete ID`: remove a set from the store (confirmed, audited). The newest good
// full set of an instance is refused without --force.

export interface Options {
  id: number;
  force: boolean;
  output: OutputFormat;
  flags: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<id>', 'backup set id')
    .option('--force', 'also delete the newest good full set of its instance (nothing could be restored without another)')
    .addHelpText('after', '\nExit 9 for the newest good full set without --force, or a set still running.\n' + examples('rdsctl backup delete 12 --reason "ticket 8812" --yes', 'rdsctl backup delete 12 --dry-run'))
    .action(async (id: string, o: { output: string; force?: boolean; dryRun?: boolean; yes?: boolean; reason?: string }) => {
      const opts: Options = { id: parseBackupId(id), force: Boolean(o.force), output: parseOutput(o.output), flags: parseMutationFlags(o) };
      return run((ctx) => del(opts, ctx));
    });
}

export async function del(opts: Options, ctx: Context): Promise<number> {
  const p = await deletePlan(ctx, opts.id);
  const target = `backup ${p.set.id} (${p.set.ins_name} ${p.set.backup_set} on ${p.store.host})`;
  if (opts.flags.dryRun) {
    printPlan(
      ctx,
      {
        action: 'delete backup set',
        targets: [target],
        sql: [{ db: 'dbaas', statement: "UPDATE baklist SET status = 'deleted' WHERE id = ?", params: [p.set.id] }],
        remote: [{ host: p.store.host, command: removeSetScript(p.dir) }],
        notes: p.lastGoodFull ? [`this is the newest good full set of ${p.set.ins_name}: refused without --force`] : [],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  await confirm(ctx, `Delete ${target}${p.lastGoodFull ? ' — the newest good full set of its instance' : ''}?`, opts.flags, [target]);
  const r = await audited(ctx, { command: 'backup delete', targets: [target], reason: opts.flags.reason, detail: { force: opts.force, last_good_full: p.lastGoodFull } }, async () => {
    const v = await deleteSet(ctx, p, opts.force);
    return { value: v, detail: { removed: v.removed } };
  });
  printSections(ctx.io, opts.output, [{ title: 'Deleted', fields: [['id', r.id], ['store', r.removed]] }], { id: r.id, status: 'deleted', store: r.removed });
  return ExitCode.OK;
}
