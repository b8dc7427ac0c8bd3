import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addOutputOption, paint, parseOutput, printRecords, type OutputFormat, jsonText } from '../../core/output.js';
import { serverRoleStatus } from '../../tianji/model.js';
import { nameArg } from '../../tianji/names.js';
import { SR_COLUMNS, violationLine } from '../../tianji/view.js';

// `rdsctl tianji serverrole status --cluster C [--service S]`: each SR instance per machine with
// its status and applications, and every violation of the two deployment rules.

export interface StatusOptions {
  output: OutputFormat;
  cluster: string;
  service?: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd.helpCommand(false).addHelpText('after', examples('rdsctl tianji serverrole status --cluster houyi-ctl-hz'));
  addOutputOption(cmd.command('status').description('SR instances of a cluster with their apps; flags violations of the deployment rules'))
    .option('--cluster <name>', 'the Tianji cluster (required)')
    .option('--service <name>', 'only this service')
    .addHelpText(
      'after',
      '\nRules checked:\n' +
        '  service_roles  a cluster that runs a service has every server role of it on its machines\n' +
        '  role_apps      a machine that runs a server role has every application of that role\n' +
        '  app_error      no application instance is in state error\n' +
        'Exit status: 0 when no rule is violated, 4 otherwise.\n' +
        examples('rdsctl tianji serverrole status --cluster houyi-ctl-hz', 'rdsctl tianji serverrole status --cluster rds-ctl-hz --service pengine -o json'),
    )
    .action(async (o: { output: string; cluster?: string; service?: string }) => {
      if (o.cluster === undefined) throw new UsageError('tianji serverrole status: --cluster is required');
      const opts: StatusOptions = { output: parseOutput(o.output), cluster: nameArg(o.cluster, '--cluster'), ...(o.service !== undefined ? { service: nameArg(o.service, '--service') } : {}) };
      return run((ctx) => status(opts, ctx));
    });
}

export async function status(opts: StatusOptions, ctx: Context): Promise<number> {
  const r = await serverRoleStatus(ctx.db('tianji'), opts.cluster, opts.service);
  if (opts.output === 'json') {
    ctx.io.out(jsonText(r));
  } else {
    printRecords(ctx.io, opts.output, SR_COLUMNS, r.sr_instances);
    for (const v of r.violations) ctx.io.err(paint(violationLine(v), 'bad', ctx.io.errPalette) + '\n');
    ctx.io.err(`cluster ${r.cluster} (${r.product}): ${r.sr_instances.length} SR instances, ${r.violations.length} rule violation${r.violations.length === 1 ? '' : 's'}\n`);
  }
  return r.violations.length ? ExitCode.UNHEALTHY : ExitCode.OK;
}
