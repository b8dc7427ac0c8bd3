import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { loadPair, switchoverPrecheck } from '../../ha/operate.js';
import { addTaskOptions, parseTaskFlags, runHaTask, type RawTaskFlags, type TaskFlags } from '../shared/ha-task.js';

// `rdsctl instance switchover NAME [--to standby]`: the planned role change, as a task of the
// switchover flow run in the foreground.

export interface Options extends TaskFlags {
  instance: string;
  to: string;
}

interface RawOptions extends RawTaskFlags {
  to: string;
}

export function register(cmd: Command, run: Runner): void {
  addTaskOptions(cmd)
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--to <standby>', "the server to promote: 'standby' or the standby's NC (a pair has one)", 'standby')
    .addHelpText(
      'after',
      '\nRefused (exit 4, nothing changed) when the standby lags more than 5 s, its replication is broken, a\n' +
        'server does not answer or the route cannot be changed; exit 9 when the instance has an unfinished\n' +
        'task. Otherwise: the route is blocked, the master set read-only (client sessions ended), the standby\n' +
        "catches up to the master's GTID position, is promoted, the route re-pointed to it through HAProxy's\n" +
        'runtime API, the metadb roles swapped, and the old master replicates from the new one.\n' +
        examples('rdsctl instance switchover rm-2ze1abcd --yes', 'rdsctl instance switchover rm-2ze1abcd --dry-run', 'rdsctl instance switchover rm-2ze1abcd --to nc-a02 --yes --reason "NC maintenance"'),
    )
    .action(async (instance: string, o: RawOptions) => run((ctx) => switchover(parse(instance, o), ctx)));
}

export function parse(instance: string, o: RawOptions): Options {
  const t = parseTaskFlags(o);
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(o.to)) throw new UsageError(`--to ${JSON.stringify(o.to.slice(0, 80))}: 'standby' or an NC name`);
  return { instance, to: o.to, ...t };
}

export async function switchover(opts: Options, ctx: Context): Promise<number> {
  const p = await loadPair(ctx, opts.instance);
  if (opts.to !== 'standby' && opts.to !== p.slave.host) throw new UsageError(`--to ${opts.to}: the standby of ${p.custins.ins_name} is ${p.slave.host} (a pair can only switch to its standby)`);
  await switchoverPrecheck(ctx, p);
  return runHaTask(ctx, p, { flow: 'switchover', ...opts });
}
