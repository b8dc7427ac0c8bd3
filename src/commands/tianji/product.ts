import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { listProducts } from '../../tianji/model.js';

// `rdsctl tianji product list`: the product level of the Tianji model.

export interface ListOptions {
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  cmd.helpCommand(false).addHelpText('after', examples('rdsctl tianji product list'));
  addOutputOption(cmd.command('list').description('List products with their cluster, machine and service counts'))
    .addHelpText('after', examples('rdsctl tianji product list', 'rdsctl tianji product list -o json'))
    .action(async (o: { output: string }) => {
      const opts = { output: parseOutput(o.output) };
      return run((ctx) => list(opts, ctx));
    });
}

export async function list(opts: ListOptions, ctx: Context): Promise<void> {
  const rows = await listProducts(ctx.db('tianji'));
  printRecords(ctx.io, opts.output, [
    { header: 'PRODUCT', value: (r) => r.name },
    { header: 'CLUSTERS', value: (r) => r.clusters, align: 'right' },
    { header: 'MACHINES', value: (r) => r.machines, align: 'right' },
    { header: 'SERVICES', value: (r) => r.services, align: 'right' },
  ], rows);
}
