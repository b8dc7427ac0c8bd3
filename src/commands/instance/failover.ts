import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { addMutationOptions, parseMutationFlags, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, type OutputFormat } from '../../core/output.js';
import { DEFAULT_LEASE_TTL_SEC } from '../../flow/runner.js';
import { failoverPrecheck, loadPair } from '../../ha/operate.js';
import { runHaTask } from '../shared/ha-task.js';

// `rdsctl instance failover NAME [--accept-data-loss]`: the unplanned role change (what `ha watch`
// starts on its own), run by hand.

export interface Options {
  instance: string;
  acceptDataLoss: boolean;
  noWait: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

interface RawOptions {
  acceptDataLoss?: boolean;
  wait: boolean;
  leaseTtl: string;
  output: string;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--accept-data-loss', 'promote even when semi-sync was not in effect (acknowledged writes may be missing on the standby)')
    .option('--no-wait', 'write the task and return; `rdsctl worker` runs it')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner', String(DEFAULT_LEASE_TTL_SEC))
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
  if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
  return { instance, acceptDataLoss: Boolean(o.acceptDataLoss), noWait: !o.wait, leaseTtlSec: Number(o.leaseTtl), output: parseOutput(o.output), flags: parseMutationFlags(o) };
}

export async function failover(opts: Options, ctx: Context): Promise<number> {
  const p = await loadPair(ctx, opts.instance);
  await failoverPrecheck(ctx, p);
  return runHaTask(ctx, p, { flow: 'failover', noWait: opts.noWait, leaseTtlSec: opts.leaseTtlSec, output: opts.output, flags: opts.flags, acceptDataLoss: opts.acceptDataLoss });
}
