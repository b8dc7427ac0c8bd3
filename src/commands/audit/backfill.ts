import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { INSERT_AUDIT_ROW } from '../../core/audit.js';
import { printPlan } from '../../core/mutation.js';

export interface Options {
  dryRun: boolean;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .option('--dry-run', 'count and show the records that would be copied; writes nothing')
    .addHelpText('after', '\nCopies records of the local audit log that dbaas.ops_audit lacks (e.g. written while the metadb was down). Safe to repeat.\n' + examples('rdsctl audit backfill --dry-run', 'rdsctl audit backfill'))
    .action(async (o: { dryRun?: boolean }) => {
      const opts: Options = { dryRun: Boolean(o.dryRun) };
      return run((ctx) => backfill(opts, ctx));
    });
}

// Not itself audited: it only copies records the audit already holds, and a record of the copy
// would be one more row for the next backfill.
export async function backfill(opts: Options, ctx: Context): Promise<void> {
  const audit = ctx.audit();
  const db = ctx.db('dbaas');
  if (opts.dryRun) {
    const missing = await audit.missing(db);
    printPlan(ctx, {
      action: `copy ${missing.length} record(s) of ${audit.path} to dbaas.ops_audit`,
      targets: ['dbaas.ops_audit'],
      sql: missing.length ? [{ db: 'dbaas', statement: `${INSERT_AUDIT_ROW}  (x ${missing.length})` }] : [],
      notes: missing.slice(0, 20).map((r) => `${r.ts} ${r.phase} ${r.user} ${r.command} ${r.targets.join(',')}`),
    });
    return;
  }
  const n = await audit.backfill(db);
  ctx.io.err(`audit backfill: ${n} record(s) copied to dbaas.ops_audit from ${audit.path}\n`);
}
