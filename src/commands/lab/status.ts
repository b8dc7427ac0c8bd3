import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode } from '../../core/errors.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { labStatus, openLab, resolveLabDir } from '../../lab/lab.js';
import { STATUS_COLUMNS, statusSummary } from '../../lab/status.js';

export interface Options {
  dir?: string;
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .option('--dir <dir>', "lab directory (default: the active profile's lab, else $XDG_DATA_HOME/rdsctl/lab)")
    .addHelpText(
      'after',
      '\nProbes MariaDB and every host over TCP. STATUS is up, down, or stopped (a VM shut off, an SLB\n' +
        'node offline in the metadb). Exits 4 when anything is down. JSON fields: name, kind, address,\n' +
        'port, status, pid.\n' +
        examples('rdsctl lab status', 'rdsctl lab status -o json | jq -r \'.[] | select(.status=="down") | .name\''),
    )
    .action(async (o: { output: string; dir?: string }) => {
      const opts: Options = { dir: o.dir, output: parseOutput(o.output) };
      return run((ctx) => status(opts, ctx));
    });
}

export async function status(opts: Options, ctx: Context): Promise<number> {
  const lab = openLab(resolveLabDir(ctx, opts.dir));
  const rows = await labStatus(lab);
  printRecords(ctx.io, opts.output, STATUS_COLUMNS, rows);
  ctx.io.err(`${statusSummary(rows)}\n`);
  return rows.some((r) => r.status === 'down') ? ExitCode.UNHEALTHY : ExitCode.OK;
}
