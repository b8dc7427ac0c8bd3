import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { ExitCode, ExitWith } from '../core/errors.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat, termSafe } from '../core/output.js';
import { which, whichSections } from '../houyi/which.js';

export interface Options {
  name: string;
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<name>', 'a VM name, instance ID or IP; NC hostname, IP or SN; RDS instance name or id; SLB lb_node/proxy IP; Tianji machine')
    .addHelpText('after', examples('rdsctl go2which vm-001', 'rdsctl go2which i-bp1a2b3c', 'rdsctl go2which 127.0.0.11', 'rdsctl go2which rm-demo01 -o json'))
    .action(async (name: string, o: { output: string }) => {
      const opts: Options = { name, output: parseOutput(o.output) };
      return run((ctx) => go2which(opts, ctx));
    });
}

export async function go2which(opts: Options, ctx: Context): Promise<void> {
  const r = await which(ctx, opts.name);
  printSections(ctx.io, opts.output, whichSections(r), r);
  if (r.errors.length) {
    for (const e of r.errors) ctx.io.err(`rdsctl: ${termSafe(e)}\n`);
    throw new ExitWith(ExitCode.UNAVAILABLE);
  }
}
