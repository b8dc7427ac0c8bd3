import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { listVswitches, VSWITCH_COLUMNS } from '../../vpc/list.js';
import { idArg } from '../../vpc/validate.js';

// `rdsctl vpc vswitch list`: the vSwitches of the vpc database (one per VPC and zone).

export interface ListOptions {
  output: OutputFormat;
  vpc?: string;
  zone?: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd.helpCommand(false).addHelpText('after', examples('rdsctl vpc vswitch list', 'rdsctl vpc vswitch list --vpc vpc-bp1… --zone cn-hangzhou-a'));
  addOutputOption(cmd.command('list').description('List vSwitches, optionally of one VPC and/or zone'))
    .option('--vpc <id>', 'only vSwitches of this VPC (an unknown VPC exits 3 with near ids)')
    .option('--zone <zone>', 'only vSwitches in this zone (an unknown zone exits 3 with near names)')
    .addHelpText('after', '\nJSON fields: vswitch_id, vpc_id, vpc_name, zone, cidr.\n' + examples('rdsctl vpc vswitch list', 'rdsctl vpc vswitch list --vpc vpc-bp1… -o json'))
    .action(async (o: { output: string; vpc?: string; zone?: string }) => {
      const opts: ListOptions = {
        output: parseOutput(o.output),
        ...(o.vpc !== undefined ? { vpc: idArg(o.vpc, '--vpc') } : {}),
        ...(o.zone !== undefined ? { zone: idArg(o.zone, '--zone') } : {}),
      };
      return run((ctx) => list(opts, ctx));
    });
}

export async function list(opts: ListOptions, ctx: Context): Promise<void> {
  printRecords(ctx.io, opts.output, VSWITCH_COLUMNS, await listVswitches(ctx.db('vpc'), { vpc: opts.vpc, zone: opts.zone }));
}
