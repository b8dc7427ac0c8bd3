import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { setProfileKey, settableKeys, writeConfig } from '../../core/config.js';
import { UsageError } from '../../core/errors.js';

export interface Options {
  key: string;
  /** "-" for a password: read from stdin. */
  value: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<key>', 'dotted key of the active profile (see below)')
    .argument('<value>', 'new value; for a password key, "-" and the password on stdin')
    .addHelpText(
      'after',
      `\nKeys:\n  ${settableKeys().join('\n  ')}\n` +
        '\nA password is never taken from the command line (ps and shell history would show it): give "-"\n' +
        'and pipe it on stdin, or keep it out of the file with databases.<db>.password_env.\n' +
        examples('rdsctl config set ssh.concurrency 128', 'rdsctl --profile prod config set databases.dbaas.password_env DBAAS_PW', 'printf "%s\\n" "$PW" | rdsctl config set databases.dbaas.password -'),
    )
    .action(async (key: string, value: string) => {
      if (/\.password$/.test(key) && value !== '-') throw new UsageError(`${key}: a password on the command line shows in ps and shell history; give "-" and the password on stdin, or set ${key}_env`);
      return run((ctx) => set({ key, value }, ctx));
    });
}

async function stdinLine(ctx: Context): Promise<string> {
  if (ctx.io.stdinIsTTY) throw new UsageError('"-" reads the value from a pipe, not a terminal');
  let text = '';
  for await (const chunk of ctx.io.stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) throw new UsageError('no value on stdin');
  return line;
}

export async function set(opts: Options, ctx: Context): Promise<void> {
  const cfg = ctx.config();
  const p = ctx.profile();
  const value = opts.value === '-' && /\.password$/.test(opts.key) ? await stdinLine(ctx) : opts.value;
  const updated = setProfileKey(p, opts.key, value);
  writeConfig(ctx.configPath, { ...cfg, profiles: cfg.profiles.map((x) => (x.name === p.name ? updated : x)) });
  ctx.io.err(`${p.name}: ${opts.key} set\n`);
}
