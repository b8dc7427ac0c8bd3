import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { writeConfig } from '../../core/config.js';
import { ConfigError, UsageError } from '../../core/errors.js';
import { rankNear } from '../../core/near.js';

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
  if (!cfg.profiles.some((p) => p.name === opts.name)) {
    // The name came from this command's argument (not --profile or RDSCTL_PROFILE): say so.
    const names = cfg.profiles.map((p) => p.name);
    const near = rankNear(opts.name, names);
    throw new ConfigError(`config use: profile "${opts.name}" is not in ${ctx.configPath}`, { hint: names.length ? `profiles: ${(near.length ? near : names).slice(0, 3).join(', ')}` : 'no profiles yet; `rdsctl config add NAME` or `rdsctl lab up`' });
  }
  writeConfig(ctx.configPath, { ...cfg, current: opts.name });
  ctx.io.err(`current profile: ${opts.name}\n`);
}
