import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { ExitWith } from '../core/errors.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../core/output.js';
import { addSshOptions, commandTimeout, parseSshFlags, type SshFlags } from './shared/ssh-flags.js';
import { ncInfo, ncInfoExitCode, ncInfoSections } from '../houyi/ncinfo.js';
import { leasePool } from '../houyi/pool.js';

export interface Options {
  nc: string;
  live: boolean;
  output: OutputFormat;
  ssh: SshFlags;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<nc>', 'NC hostname, IP or SN')
    .option('--live', 'also read uptime, load and free disk under the data directory from the NC over SSH');
  addSshOptions(cmd)
    .addHelpText('after', examples('rdsctl go2ncinfo nc-a01', 'rdsctl go2ncinfo 127.0.0.11 --live', 'rdsctl go2ncinfo SN2101A01 -o json'))
    .action(async (nc: string, o: Record<string, string | number | boolean | undefined>) => {
      const opts: Options = { nc, live: Boolean(o.live), output: parseOutput(o.output), ssh: parseSshFlags(o) };
      return run((ctx) => go2ncinfo(opts, ctx));
    });
}

export async function go2ncinfo(opts: Options, ctx: Context): Promise<void> {
  const lease = opts.live ? await leasePool(ctx, opts.ssh) : undefined;
  try {
    const info = await ncInfo(ctx, { nc: opts.nc, live: opts.live, commandTimeoutSec: commandTimeout(opts.ssh, ctx.profile()), ...(lease ? { pool: async () => lease.pool } : {}) });
    printSections(ctx.io, opts.output, ncInfoSections(info), info);
    const code = ncInfoExitCode(info);
    if (code !== 0) throw new ExitWith(code);
  } finally {
    await lease?.release();
  }
}
