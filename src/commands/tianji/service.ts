import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { listServices } from '../../tianji/model.js';
import { nameArg } from '../../tianji/names.js';

// `rdsctl tianji service list --cluster C`: the services a cluster runs and their server roles.

export interface ListOptions {
  output: OutputFormat;
  cluster: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd.helpCommand(false).addHelpText('after', examples('rdsctl tianji service list --cluster rds-ctl-hz'));
  addOutputOption(cmd.command('list').description('List the services a cluster runs, with their server roles'))
    .option('--cluster <name>', 'the Tianji cluster (required)')
    .addHelpText('after', examples('rdsctl tianji service list --cluster rds-ctl-hz', 'rdsctl tianji service list --cluster pangu-ctl-hz -o json'))
    .action(async (o: { output: string; cluster?: string }) => {
      if (o.cluster === undefined) throw new UsageError('tianji service list: --cluster is required');
      const opts: ListOptions = { output: parseOutput(o.output), cluster: nameArg(o.cluster, '--cluster') };
      return run((ctx) => list(opts, ctx));
    });
}

export async function list(opts: ListOptions, ctx: Context): Promise<void> {
  const rows = await listServices(ctx.db('tianji'), opts.cluster);
  printRecords(ctx.io, opts.output, [
    { header: 'SERVICE', value: (r) => r.name },
    { header: 'VERSION', value: (r) => r.version },
    { header: 'SERVER ROLES', value: (r) => r.server_roles },
    { header: 'SR INSTANCES', value: (r) => r.sr_instances, align: 'right' },
  ], rows);
}
