import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addMutationOptions, applyAudited, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { lockReasonArg, NC_LOCK_COLUMNS, planNcLock } from '../../houyi/nc-lock.js';

// `rdsctl nc lock NC --reason R`: hold an NC in houyi (locked, with why). `nc unlock` is the
// same command the other way round (unlock.ts).

export interface Options {
  nc: string;
  lock: boolean;
  reason: string;
  output: OutputFormat;
  flags: MutationFlags;
}

export function registerLockVerb(cmd: Command, run: Runner, lock: boolean): void {
  const verb = lock ? 'lock' : 'unlock';
  addOutputOption(cmd).argument('<nc>', 'NC hostname, IP or SN');
  addMutationOptions(cmd)
    .addHelpText(
      'after',
      (lock
        ? '\nSets locked=1 and lock_reason in houyi; an online NC becomes status "locked" (offline and\n' +
          'maintain NCs keep their status). An NC already locked is refused (exit 9) with its reason.\n'
        : '\nClears locked and lock_reason in houyi; an NC in status "locked" is online again. An NC that is\n' +
          'not locked is refused (exit 9).\n') +
        '--reason is required (one line, at most 255 characters). An unknown NC is exit 3 with near names.\n' +
        'Audited. JSON: {nc_name, ip, zone, cluster, status, locked, lock_reason} after the change.\n' +
        examples(`rdsctl nc ${verb} nc-a01 --reason "${lock ? 'disk SMART warning, ticket 4411' : 'disk replaced, ticket 4411'}"`, `rdsctl nc ${verb} 127.0.0.11 --reason "drill" --dry-run`),
    )
    .action(async (nc: string, o: { output: string; dryRun?: boolean; reason?: string }) => {
      const flags = parseMutationFlags(o);
      const opts: Options = { nc, lock, reason: lockReasonArg(flags.reason), output: parseOutput(o.output), flags };
      return run((ctx) => ncLock(opts, ctx));
    });
}

export function register(cmd: Command, run: Runner): void {
  registerLockVerb(cmd, run, true);
}

export async function ncLock(opts: Options, ctx: Context): Promise<void> {
  const change = await planNcLock(ctx, opts.nc, opts.reason, opts.lock);
  if (opts.flags.dryRun) return printPlan(ctx, change.plan, opts.output === 'json' ? 'json' : 'text');
  const after = await applyAudited(ctx, change, opts.reason);
  ctx.io.err(`${opts.lock ? 'locked' : 'unlocked'} NC ${after.nc_name}: status ${after.status}\n`);
  if (opts.output === 'json') ctx.io.out(JSON.stringify(after, null, 2) + '\n');
  else printRecords(ctx.io, opts.output, NC_LOCK_COLUMNS, [after]);
}
