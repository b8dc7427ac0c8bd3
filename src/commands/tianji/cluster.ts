import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { listClusters } from '../../tianji/model.js';
import { nameArg } from '../../tianji/names.js';

// `rdsctl tianji cluster list [--product P]`.

export interface ListOptions {
  output: OutputFormat;
  product?: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd.helpCommand(false).addHelpText('after', examples('rdsctl tianji cluster list --product oss'));
  addOutputOption(cmd.command('list').description('List clusters, optionally of one product'))
    .option('--product <name>', 'only clusters of this product')
    .addHelpText('after', examples('rdsctl tianji cluster list', 'rdsctl tianji cluster list --product oss -o json'))
    .action(async (o: { output: string; product?: string }) => {
      const opts: ListOptions = { output: parseOutput(o.output), ...(o.product !== undefined ? { product: nameArg(o.product, '--product') } : {}) };
      return run((ctx) => list(opts, ctx));
    });
}

export async function list(opts: ListOptions, ctx: Context): Promise<void> {
  const rows = await listClusters(ctx.db('tianji'), opts.product);
  printRecords(ctx.io, opts.output, [
    { header: 'CLUSTER', value: (r) => r.name },
    { header: 'PRODUCT', value: (r) => r.product },
    { header: 'MACHINES', value: (r) => r.machines, align: 'right' },
    { header: 'SERVICES', value: (r) => r.services, align: 'right' },
    { header: 'SR INSTANCES', value: (r) => r.sr_instances, align: 'right' },
  ], rows);
}
