import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';

export interface Options {
  output: OutputFormat;
}

export interface ProfileRow {
  name: string;
  current: boolean;
  databases: string[];
  ssh_user: string;
  lab_dir: string | null;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .addHelpText('after', examples('rdsctl config list', 'rdsctl config list -o json'))
    .action(async (o: { output: string }) => {
      const opts: Options = { output: parseOutput(o.output) };
      return run((ctx) => list(opts, ctx));
    });
}

export async function list(opts: Options, ctx: Context): Promise<void> {
  const cfg = ctx.config();
  // The active profile honours --profile and RDSCTL_PROFILE, not only the file's "current".
  const active = ctx.env.RDSCTL_PROFILE && !cfg.profiles.some((p) => p.name === ctx.env.RDSCTL_PROFILE) ? cfg.current : (safeActive(ctx) ?? cfg.current);
  const rows: ProfileRow[] = cfg.profiles.map((p) => ({
    name: p.name,
    current: p.name === active,
    databases: Object.keys(p.databases),
    ssh_user: p.ssh.user,
    lab_dir: p.lab_dir ?? null,
  }));
  printRecords(ctx.io, opts.output, [
    { header: '', value: (r) => (r.current ? '*' : ' ') },
    { header: 'NAME', value: (r) => r.name },
    { header: 'DATABASES', value: (r) => r.databases },
    { header: 'SSH USER', value: (r) => r.ssh_user },
    { header: 'LAB DIR', value: (r) => r.lab_dir, wide: true },
  ], rows);
  if (rows.length === 0) ctx.io.err(`no profiles in ${ctx.configPath}; run \`rdsctl lab up\` for a local region\n`);
}

function safeActive(ctx: Context): string | undefined {
  try {
    return ctx.profile().name;
  } catch {
    return undefined;
  }
}
