import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addMutationOptions, audited, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { archiveNow } from '../../backup/ops.js';
import { findCustins } from '../../rds/custins.js';

// `rdsctl backup archive NAME [--rotate]`: one pass of the log plan now: closed binlogs of the
// master to the store (with --rotate the master first closes its current binlog, so the
// recoverable window reaches this moment).

export interface Options {
  instance: string;
  rotate: boolean;
  output: OutputFormat;
  flags: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd)
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--rotate', 'FLUSH BINARY LOGS on the master first, so everything until now is archived')
    .addHelpText('after', '\nJSON: {host, archived[], present, active}.\n' + examples('rdsctl backup archive rm-2ze1abcd --rotate', 'rdsctl backup archive rm-2ze1abcd -o json'))
    .action(async (instance: string, o: { output: string; rotate?: boolean; dryRun?: boolean; reason?: string }) => {
      const opts: Options = { instance, rotate: Boolean(o.rotate), output: parseOutput(o.output), flags: parseMutationFlags(o) };
      return run((ctx) => archive(opts, ctx));
    });
}

export async function archive(opts: Options, ctx: Context): Promise<void> {
  if (opts.flags.dryRun) {
    // The lookup runs as for the real thing: an unknown instance is exit 3 here too.
    const custins = await findCustins(ctx.db('dbaas'), opts.instance);
    printPlan(ctx, {
      action: 'archive binlogs',
      targets: [custins.ins_name],
      remote: [{ host: '<master NC>', command: `${opts.rotate ? 'FLUSH BINARY LOGS; ' : ''}SHOW BINARY LOGS; each closed binlog not in binlog_archive: cat FILE | ssh <store> 'cat > …/binlogs/FILE.tmp && openssl dgst -sha256 && mv'` }],
    }, opts.output === 'json' ? 'json' : 'text');
    return;
  }
  const r = await audited(ctx, { command: 'backup archive', targets: [opts.instance], reason: opts.flags.reason, detail: { rotate: opts.rotate } }, async () => {
    const v = await archiveNow(ctx, opts.instance, { rotate: opts.rotate });
    return { value: v, detail: { archived: v.archived } };
  });
  printSections(ctx.io, opts.output, [{ title: `Binlog archive ${opts.instance}`, fields: [['master', r.host], ['archived now', r.archived.join(', ') || 'none'], ['already archived', r.present], ['active', r.active]] }], r);
}
