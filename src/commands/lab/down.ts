import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { labDown, resolveLabDir } from '../../lab/lab.js';

export interface Options {
  dir?: string;
  purge: boolean;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .option('--dir <dir>', "lab directory (default: the active profile's lab, else $XDG_DATA_HOME/rdsctl/lab)")
    .option('--purge', 'also delete the lab directory and its profile', false)
    .addHelpText(
      'after',
      '\nStops, by pid, every process of the lab: MariaDB, every sshd (also VMs started through virsh),\n' +
        'mysqld servers of RDS instances under the lab\'s host roots, and what runs in lab SSH sessions.\n' +
        examples('rdsctl lab down', 'rdsctl lab down --purge --dir /tmp/big'),
    )
    .action(async (o: { dir?: string; purge: boolean }) => {
      const opts: Options = { dir: o.dir, purge: Boolean(o.purge) };
      return run((ctx) => down(opts, ctx));
    });
}

export async function down(opts: Options, ctx: Context): Promise<void> {
  const r = await labDown(ctx, resolveLabDir(ctx, opts.dir), opts.purge);
  const purged = r.purged ? `; removed ${r.dir}${r.profileRemoved ? ' and its profile' : ''}` : '';
  ctx.io.err(`lab down: stopped ${r.stopped} process${r.stopped === 1 ? '' : 'es'} of ${r.dir}${purged}\n`);
}
