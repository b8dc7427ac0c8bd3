import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { listSets } from '../../backup/sets.js';
import { BACKUP_COLUMNS, backupRecord } from '../../backup/view.js';
import { findCustins } from '../../rds/custins.js';

// `rdsctl backup list [--instance NAME]`: backup sets, newest first.

export interface Options {
  output: OutputFormat;
  instance?: string;
  all: boolean;
  limit: number;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .option('--instance <name>', 'only the sets of this instance (name or custins id)')
    .option('--all', 'include deleted sets')
    .option('--limit <n>', 'at most this many, newest first', '100')
    .addHelpText('after', '\nJSON fields: the backup set record (see the README).\n' + examples('rdsctl backup list', 'rdsctl backup list --instance rm-2ze1abcd -o json'))
    .action(async (o: { output: string; instance?: string; all?: boolean; limit: string }) => {
      if (!/^\d{1,6}$/.test(o.limit) || Number(o.limit) < 1) throw new UsageError(`--limit ${o.limit}: a positive whole number`);
      const opts: Options = { output: parseOutput(o.output), ...(o.instance ? { instance: o.instance } : {}), all: Boolean(o.all), limit: Number(o.limit) };
      return run((ctx) => list(opts, ctx));
    },
    );
}

export async function list(opts: Options, ctx: Context): Promise<void> {
  const db = ctx.db('dbaas');
  const custinsId = opts.instance === undefined ? undefined : (await findCustins(db, opts.instance, { includeDeleted: true })).id;
  const rows = await listSets(db, { limit: opts.limit, includeDeleted: opts.all, ...(custinsId !== undefined ? { custinsId } : {}) });
  printRecords(ctx.io, opts.output, BACKUP_COLUMNS, rows.map(backupRecord));
}
