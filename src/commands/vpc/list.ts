import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { listVpcs, VPC_COLUMNS } from '../../vpc/list.js';
import { idArg } from '../../vpc/validate.js';

// `rdsctl vpc list`: the VPCs of the vpc database, with their vSwitch and route counts.

export interface Options {
  output: OutputFormat;
  region?: string;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .option('--region <region>', 'only VPCs of this region (an unknown region exits 3 with near names)')
    .addHelpText('after', '\nJSON fields: vpc_id, name, cidr, region, status, tunnel_id, vswitches, routes.\n' + examples('rdsctl vpc list', 'rdsctl vpc list --region cn-hangzhou -o json | jq -r \'.[].vpc_id\''))
    .action(async (o: { output: string; region?: string }) => {
      const opts: Options = { output: parseOutput(o.output), ...(o.region !== undefined ? { region: idArg(o.region, '--region') } : {}) };
      return run((ctx) => list(opts, ctx));
    });
}

export async function list(opts: Options, ctx: Context): Promise<void> {
  printRecords(ctx.io, opts.output, VPC_COLUMNS, await listVpcs(ctx.db('vpc'), { region: opts.region }));
}
