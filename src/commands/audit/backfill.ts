import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';

export function register(cmd: Command, run: Runner): void {
  cmd
    .addHelpText('after', '\nCopies records of the local audit log that dbaas.ops_audit lacks (e.g. written while the metadb was down). Safe to repeat.\n' + examples('rdsctl audit backfill'))
    .action(async () => run((ctx) => backfill(ctx)));
}

export async function backfill(ctx: Context): Promise<void> {
  const n = await ctx.audit().backfill(ctx.db('dbaas'));
  ctx.io.err(`audit backfill: ${n} record(s) copied to dbaas.ops_audit from ${ctx.audit().path}\n`);
}
