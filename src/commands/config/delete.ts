import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { writeConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { confirm } from '../../core/mutation.js';
import { profileName } from '../../core/profile-new.js';
import { rankNear } from '../../core/near.js';

// `rdsctl config delete NAME`: remove a profile from the config file (asks first; --yes without a
// terminal). Deleting the current profile leaves no current one, and says so.

export interface Options {
  name: string;
  yes: boolean;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<name>', 'profile name')
    .option('-y, --yes', 'do not ask for confirmation (required when there is no TTY)')
    .addHelpText(
      'after',
      '\nA lab profile is better removed with `rdsctl lab down --purge`, which also stops the lab.\n' + examples('rdsctl config delete old-stg', 'rdsctl config delete old-stg --yes'),
    )
    .action(async (name: string, o: { yes?: boolean }) => {
      const opts: Options = { name: profileName(name), yes: Boolean(o.yes) };
      return run((ctx) => del(opts, ctx));
    });
}

export async function del(opts: Options, ctx: Context): Promise<void> {
  const cfg = ctx.config();
  const p = cfg.profiles.find((x) => x.name === opts.name);
  if (!p) {
    const names = cfg.profiles.map((x) => x.name);
    const near = rankNear(opts.name, names);
    throw new ConfigError(`profile "${opts.name}" is not in ${ctx.configPath}`, { hint: names.length ? `profiles: ${(near.length ? near : names).slice(0, 3).join(', ')}` : 'no profiles yet' });
  }
  const current = cfg.current === p.name;
  await confirm(ctx, `delete profile "${p.name}" from ${ctx.configPath}${current ? ' (the current profile)' : ''}${p.lab_dir ? ` (the profile of the lab in ${p.lab_dir}, which keeps running)` : ''}`, { yes: opts.yes });
  const { current: _drop, ...rest } = cfg;
  writeConfig(ctx.configPath, { ...rest, profiles: cfg.profiles.filter((x) => x !== p), ...(current ? {} : cfg.current !== undefined ? { current: cfg.current } : {}) });
  ctx.io.err(`profile "${p.name}" deleted${current ? '; no profile is current now: `rdsctl config use NAME`' : ''}\n`);
}
