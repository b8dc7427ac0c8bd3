import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { requireRole } from '../../core/authz.js';
import { ConflictError, ExitCode } from '../../core/errors.js';
import { listOf } from '../../core/flags.js';
import { requireReason, addMutationOptions, applyAudited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { DISK_STATUSES, diskStatus, panguName, type DiskStatus } from '../../pangu/status.js';
import { parseDiskRef, planOffline, type DiskRef } from '../../pangu/offline.js';

// `rdsctl pangu disk status [--chunkserver CS] [--status S,…]` and
// `rdsctl pangu disk offline CS:DEVICE`.

export interface StatusOptions {
  output: OutputFormat;
  chunkserver?: string;
  status?: DiskStatus[];
}

export function register(cmd: Command, run: Runner): void {
  cmd.helpCommand(false).addHelpText('after', examples('rdsctl pangu disk status --status error,offline', 'rdsctl pangu disk offline cs-a04:sdb --dry-run'));
  addOutputOption(cmd.command('status').description('Disks, unhealthy first (error, offline, replacing, ok)'))
    .option('--chunkserver <host>', 'only disks of this chunkserver')
    .option('--status <list>', `only disks in these states (comma list of ${DISK_STATUSES.join(', ')})`, listOf('--status', DISK_STATUSES))
    .addHelpText('after', '\nExit status: 0 when no listed disk is in error; 4 otherwise.\n' + examples('rdsctl pangu disk status', 'rdsctl pangu disk status --chunkserver cs-b02', 'rdsctl pangu disk status --status error,offline -o json'))
    .action(async (o: { output: string; chunkserver?: string; status?: DiskStatus[] }) => {
      const opts: StatusOptions = {
        output: parseOutput(o.output),
        ...(o.chunkserver !== undefined ? { chunkserver: panguName(o.chunkserver, '--chunkserver') } : {}),
        ...(o.status !== undefined ? { status: o.status } : {}),
      };
      return run((ctx) => status(opts, ctx));
    });

  const off = addOutputOption(cmd.command('offline').description('Mark a disk for replacement, if no chunk would lose its required replicas'));
  addMutationOptions(off, { confirm: true })
    .argument('<disk>', 'the disk as <chunkserver>:<device>, e.g. cs-a04:sdb')
    .addHelpText(
      'after',
      '\n--reason is required (but for --dry-run): it becomes the disk\'s offline_reason.\n' +
        'Refused (exit 9, nothing written) when the disk is already offline or replacing, when its\n' +
        'chunkserver already has max_offline_disks_per_cs disks offline or replacing, or when any chunk\n' +
        'with a replica on it would keep fewer healthy replicas than the cluster\'s replica_count.\n' +
        'The checks and the update run in one transaction holding row locks on the disks involved.\n' +
        examples('rdsctl pangu disk offline cs-a04:sdb --dry-run', 'rdsctl pangu disk offline cs-a04:sdb --reason "SMART pre-fail, ticket 4411" --yes'),
    )
    .action(async (disk: string, o: { output: string; dryRun?: boolean; yes?: boolean; reason?: string }) => {
      const opts = { ref: parseDiskRef(disk), flags: parseMutationFlags(o), output: parseOutput(o.output) };
      requireReason(opts.flags, 'pangu disk offline', 'it is written to the disk\'s offline_reason, which is what the replacement crew and `pangu disk status` read');
      return run(async (ctx) => {
        await requireRole(ctx, 'admin', 'rdsctl pangu disk offline');
        await offline(opts, ctx);
      });
    });
}

export async function status(opts: StatusOptions, ctx: Context): Promise<number> {
  const rows = await diskStatus(ctx.db('pangu'), opts);
  printRecords(ctx.io, opts.output, [
    { header: 'DISK', value: (r) => r.disk },
    { header: 'CLUSTER', value: (r) => r.cluster },
    { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'ok' ? 'ok' : r.status === 'error' ? 'bad' : 'warn') },
    { header: 'ERRORS', value: (r) => r.error_count, align: 'right' },
    { header: 'USED GB', value: (r) => r.used_gb, align: 'right' },
    { header: 'CAPACITY GB', value: (r) => r.capacity_gb, align: 'right' },
    { header: 'REASON', value: (r) => r.offline_reason },
    { header: 'MODIFIED', value: (r) => r.gmt_modified, wide: true },
  ], rows);
  const errors = rows.filter((r) => r.status === 'error').length;
  if (opts.output !== 'json') ctx.io.err(`${rows.length} disks, ${errors} in error, ${rows.filter((r) => r.status === 'offline' || r.status === 'replacing').length} offline or replacing\n`);
  return errors ? ExitCode.UNHEALTHY : ExitCode.OK;
}

export interface OfflineOptions {
  ref: DiskRef;
  flags: MutationFlags;
  output: OutputFormat;
}

export async function offline(o: OfflineOptions, ctx: Context): Promise<void> {
  const p = await planOffline(ctx, o.ref, o.flags.reason);
  if (o.flags.dryRun) printPlan(ctx, p.plan, o.output === 'json' ? 'json' : 'text');
  if (p.refusal) throw new ConflictError(`refusing to take ${p.name} offline: ${p.refusal}`);
  if (o.flags.dryRun) return;
  await confirm(ctx, `${p.plan.action}\n  ${p.plan.notes!.slice(0, 2).join('\n  ')}`, o.flags, [p.name]);
  const result = await applyAudited(ctx, p, o.flags.reason);
  ctx.io.err(`disk ${p.name} is offline (was ${result.previous_status}); ${result.chunks_on_disk} chunk replicas on it, no chunk falls below ${result.replica_count} healthy replicas\n`);
  if (o.output === 'json') ctx.io.out(JSON.stringify({ ...result, status: 'offline', offline_reason: p.reason }, null, 2) + '\n');
}
