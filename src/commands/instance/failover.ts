import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { failoverPrecheck, loadPair } from '../../ha/operate.js';
import { addTaskOptions, parseTaskFlags, runHaTask, type RawTaskFlags, type TaskFlags } from '../shared/ha-task.js';

// `rdsctl instance failover NAME [--accept-data-loss]`: the unplanned role change (what `ha watch`
// starts on its own), run by hand.

export interface Options extends TaskFlags {
  instance: string;
  acceptDataLoss: boolean;
}

interface RawOptions extends RawTaskFlags {
  acceptDataLoss?: boolean;
}

export function register(cmd: Command, run: Runner): void {
  addTaskOptions(cmd)
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--accept-data-loss', 'promote even when semi-sync was not in effect (acknowledged writes may be missing on the standby)')
    .addHelpText(
      'after',
      '\nThe route is blocked first (in every case), then the old master fenced: read-only and its sessions\n' +
        'ended if it answers, else mysqld stopped on its NC if the NC answers. The standby applies everything\n' +
        'it received; it is promoted only when nothing acknowledged can be missing (the old master answered\n' +
        'and the standby has all of it, or semi-sync was in effect at the last sample), else exit 4 unless\n' +
        '--accept-data-loss. Then the route leads to it, the roles swap, the old master is marked for\n' +
        '`instance rebuild-standby`, and `ha watch` keeps a quiet period. Exit 9 with an unfinished task.\n' +
        examples('rdsctl instance failover rm-2ze1abcd --yes --reason "NC nc-a01 down"', 'rdsctl instance failover rm-2ze1abcd --accept-data-loss --yes'),
    )
    .action(async (instance: string, o: RawOptions) => run((ctx) => failover(parse(instance, o), ctx)));
}

export function parse(instance: string, o: RawOptions): Options {
  return { instance, acceptDataLoss: Boolean(o.acceptDataLoss), ...parseTaskFlags(o) };
}

export async function failover(opts: Options, ctx: Context): Promise<number> {
  const p = await loadPair(ctx, opts.instance);
  await failoverPrecheck(ctx, p);
  return runHaTask(ctx, p, { flow: 'failover', ...opts });
}
