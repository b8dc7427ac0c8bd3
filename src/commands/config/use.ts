import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { selectProfile, writeConfig } from '../../core/config.js';
import { UsageError } from '../../core/errors.js';

export interface Options {
  name: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<name>', 'profile name')
    .addHelpText('after', examples('rdsctl config use lab', 'RDSCTL_PROFILE=prod-hz rdsctl go2ncinfo nc-a01   # one command only'))
    .action(async (name: string) => {
      const opts: Options = { name };
      return run((ctx) => use(opts, ctx));
    });
}

export async function use(opts: Options, ctx: Context): Promise<void> {
  // An empty name would select the current profile and then be written as "current".
  if (!opts.name.trim()) throw new UsageError('config use: give a profile name');
  const cfg = ctx.config();
  selectProfile(cfg, opts.name, {}, ctx.configPath);
  writeConfig(ctx.configPath, { ...cfg, current: opts.name });
  ctx.io.err(`current profile: ${opts.name}\n`);
}
