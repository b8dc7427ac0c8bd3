import { Option, type Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { joinRecords, readMetadbRecords, sinceResolver, type AuditEntry, type AuditFilter } from '../../core/audit-query.js';
import { addOutputOption, parseOutput, printRecords, timeText, type OutputFormat } from '../../core/output.js';
import { wholeNumber } from '../../core/flags.js';

export interface Options extends AuditFilter {
  output: OutputFormat;
  source: 'local' | 'metadb';
  limit: number;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .option('--since <when>', 'only records since a duration ago (30m, 2h, 7d) or an ISO time', sinceResolver)
    .option('--user <os-user>', 'only this operator')
    .option('--target <name>', 'only records that touched this target (NC, VM, instance, disk …)')
    .option('--command <cmd>', 'only this command, e.g. "go2nc" or "instance step"')
    .addOption(new Option('--source <where>', 'local: this jump host\'s log (the record of truth); metadb: dbaas.ops_audit, every jump host').choices(['local', 'metadb']).default('local'))
    .option('--limit <n>', 'at most this many rows (newest)', wholeNumber('--limit', 1, 100_000, 'expected a whole number from 1 to 100000'), 200)
    .addHelpText('after', examples('rdsctl audit list --since 2h', 'rdsctl audit list --user alice --command "pangu disk offline" -o json', 'rdsctl audit list --source metadb --target nc-a01'))
    .action(async (o: { output: string; source: string; limit: number; since?: (now: Date) => Date; user?: string; target?: string; command?: string }) => {
      // Checked while parsing; resolved against the context's clock once there is one.
      const since = o.since;
      const opts: Omit<Options, 'since'> = {
        output: parseOutput(o.output),
        source: o.source as Options['source'],
        limit: o.limit,
        ...(o.user ? { user: o.user } : {}),
        ...(o.target ? { target: o.target } : {}),
        ...(o.command ? { command: o.command } : {}),
      };
      return run((ctx) => list({ ...opts, ...(since ? { since: since(ctx.clock.now()) } : {}) }, ctx));
    });
}

export async function list(opts: Options, ctx: Context): Promise<void> {
  const records = opts.source === 'local' ? ctx.audit().readLocal() : await readMetadbRecords(ctx.db('dbaas'), opts, opts.limit * 2);
  const rows = joinRecords(records, opts).slice(-opts.limit);
  const now = ctx.clock.now();
  printRecords<AuditEntry>(ctx.io, opts.output, [
    { header: 'TIME', value: (r) => timeText(new Date(r.ts), now, ctx.io.stdoutIsTTY) },
    { header: 'USER', value: (r) => r.user },
    { header: 'COMMAND', value: (r) => r.command },
    { header: 'TARGETS', value: (r) => (r.targets.length > 3 ? `${r.targets.slice(0, 3).join(',')},…(${r.targets.length})` : r.targets) },
    { header: 'OUTCOME', value: (r) => (r.dry_run ? `${r.outcome} (dry-run)` : r.outcome), tone: (r) => (r.outcome === 'ok' ? 'ok' : r.outcome === 'failed' ? 'bad' : 'warn') },
    { header: 'EXIT', value: (r) => r.exit_code, align: 'right' },
    { header: 'REASON', value: (r) => r.reason },
    { header: 'PROFILE', value: (r) => r.profile, wide: true },
    { header: 'ID', value: (r) => r.id, wide: true },
  ], rows);
}
