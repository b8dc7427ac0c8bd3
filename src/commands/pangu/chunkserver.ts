import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode } from '../../core/errors.js';
import { addOutputOption, parseOutput, printRecords, timeText, type OutputFormat } from '../../core/output.js';
import { chunkserverHealthy, chunkserverStatus, panguName } from '../../pangu/status.js';

// `rdsctl pangu chunkserver status [--cluster C]`.

export interface StatusOptions {
  output: OutputFormat;
  cluster?: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd.helpCommand(false).addHelpText('after', examples('rdsctl pangu chunkserver status --cluster pangu-hz-a'));
  addOutputOption(cmd.command('status').description('Chunkservers with their disk counts; unhealthy ones first'))
    .option('--cluster <name>', 'only chunkservers of this Pangu cluster')
    .addHelpText(
      'after',
      '\nExit status: 0 when every listed chunkserver is normal with no disk in error; 4 otherwise.\n' +
        examples('rdsctl pangu chunkserver status', 'rdsctl pangu chunkserver status --cluster pangu-hz-a -o json'),
    )
    .action(async (o: { output: string; cluster?: string }) => {
      const opts: StatusOptions = { output: parseOutput(o.output), ...(o.cluster !== undefined ? { cluster: panguName(o.cluster, '--cluster') } : {}) };
      return run((ctx) => status(opts, ctx));
    });
}

export async function status(opts: StatusOptions, ctx: Context): Promise<number> {
  const rows = await chunkserverStatus(ctx.db('pangu'), opts.cluster);
  const now = ctx.clock.now();
  printRecords(ctx.io, opts.output, [
    { header: 'CHUNKSERVER', value: (r) => r.hostname },
    { header: 'CLUSTER', value: (r) => r.cluster },
    { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'normal' ? 'ok' : 'bad') },
    { header: 'DISKS', value: (r) => r.disks, align: 'right' },
    { header: 'OK', value: (r) => r.disks_ok, align: 'right' },
    { header: 'ERROR', value: (r) => r.disks_error, align: 'right', tone: (r) => (r.disks_error ? 'bad' : undefined) },
    { header: 'OUT', value: (r) => r.disks_out, align: 'right', tone: (r) => (r.disks_out ? 'warn' : undefined) },
    { header: 'HEARTBEAT', value: (r) => timeText(r.last_heartbeat, now, ctx.io.stdoutIsTTY) },
    { header: 'IP', value: (r) => r.ip, wide: true },
    { header: 'USED GB', value: (r) => r.used_gb, align: 'right', wide: true },
    { header: 'CAPACITY GB', value: (r) => r.capacity_gb, align: 'right', wide: true },
  ], rows);
  const bad = rows.filter((r) => !chunkserverHealthy(r)).length;
  if (opts.output !== 'json') ctx.io.err(`${rows.length} chunkservers, ${bad} unhealthy\n`);
  return bad ? ExitCode.UNHEALTHY : ExitCode.OK;
}
