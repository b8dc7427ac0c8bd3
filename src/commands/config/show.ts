import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { maskProfile, selectProfile } from '../../core/config.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';

export interface Options {
  name?: string;
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('[name]', 'profile name (default: the active profile)')
    .addHelpText('after', examples('rdsctl config show', 'rdsctl config show lab -o json'))
    .action(async (name: string | undefined, o: { output: string }) => {
      const opts: Options = { name, output: parseOutput(o.output) };
      return run((ctx) => show(opts, ctx));
    });
}

export async function show(opts: Options, ctx: Context): Promise<void> {
  const p = maskProfile(opts.name ? selectProfile(ctx.config(), opts.name, {}, ctx.configPath) : ctx.profile());
  printSections(
    ctx.io,
    opts.output,
    [
      { title: `Profile ${p.name}`, fields: [['config', ctx.configPath], ['host_root', p.host_root], ['roles_source', p.roles_source], ['audit_log', p.audit_log ?? '(default)'], ['lab_dir', p.lab_dir]] },
      {
        title: 'Databases',
        table: { headers: ['NAME', 'DSN', 'PASSWORD', 'PASSWORD ENV'], rows: Object.entries(p.databases).map(([k, v]) => [k, v.dsn, v.password, v.password_env]) },
      },
      { title: 'SSH', fields: Object.entries(p.ssh) },
    ],
    p,
  );
}
