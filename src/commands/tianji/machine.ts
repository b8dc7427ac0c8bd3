import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode } from '../../core/errors.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { machineView } from '../../tianji/model.js';
import { nameArg } from '../../tianji/names.js';

// `rdsctl tianji machine HOST`: everything Tianji deployed on one machine.

export interface Options {
  output: OutputFormat;
  host: string;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<host>', 'machine hostname or IP')
    .addHelpText('after', '\nExit status: 0 when the machine breaks no rule (role_apps, app_error; see `tianji serverrole\nstatus --help`), 4 otherwise.\n' + examples('rdsctl tianji machine rds-ctl-02', 'rdsctl tianji machine pangu-ctl-03 -o json'))
    .action(async (host: string, o: { output: string }) => {
      const opts: Options = { output: parseOutput(o.output), host: nameArg(host, 'HOST') };
      return run((ctx) => show(opts, ctx));
    });
}

/** Exit 4 when the machine breaks a rule, as `serverrole status` does for the same violation. */
export async function show(opts: Options, ctx: Context): Promise<number> {
  const v = await machineView(ctx.db('tianji'), opts.host);
  const m = v.machine;
  printSections(
    ctx.io,
    opts.output,
    [
      { title: `Machine ${m.hostname}`, fields: [['ip', m.ip], ['status', m.status], ['cluster', m.cluster], ['product', m.product]] },
      {
        title: 'SR instances',
        table: { headers: ['SERVICE', 'SERVER ROLE', 'STATUS', 'VERSION', 'APPS', 'MISSING APPS'], rows: v.sr_instances.map((s) => [s.service, s.server_role, s.status, s.version, s.apps.map((a) => a.name), s.missing_apps]) },
        empty: '(nothing deployed)',
      },
      {
        title: 'Applications',
        table: { headers: ['SERVICE', 'SERVER ROLE', 'APPLICATION', 'KIND', 'STATUS'], rows: v.sr_instances.flatMap((s) => s.apps.map((a) => [s.service, s.server_role, a.name, a.kind, a.status])) },
      },
      { title: 'Rule violations', table: { headers: ['RULE', 'MESSAGE'], rows: v.violations.map((x) => [x.rule, x.message]) } },
    ],
    v,
  );
  return v.violations.length ? ExitCode.UNHEALTHY : ExitCode.OK;
}
