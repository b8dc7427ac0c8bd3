import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { setProfileKey, settableKeys, writeConfig } from '../../core/config.js';

export interface Options {
  key: string;
  value: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<key>', 'dotted key of the active profile (see below)')
    .argument('<value>', 'new value')
    .addHelpText('after', `\nKeys:\n  ${settableKeys().join('\n  ')}\n` + examples('rdsctl config set ssh.concurrency 128', 'rdsctl --profile prod config set databases.dbaas.password_env DBAAS_PW'))
    .action(async (key: string, value: string) => run((ctx) => set({ key, value }, ctx)));
}

export async function set(opts: Options, ctx: Context): Promise<void> {
  const cfg = ctx.config();
  const p = ctx.profile();
  const updated = setProfileKey(p, opts.key, opts.value);
  writeConfig(ctx.configPath, { ...cfg, profiles: cfg.profiles.map((x) => (x.name === p.name ? updated : x)) });
  ctx.io.err(`${p.name}: ${opts.key} set\n`);
}
