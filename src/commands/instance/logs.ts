import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, NotFoundError, RemoteError, UsageError } from '../../core/errors.js';
import { LOG_MISSING, logCommand, logSource, safeLogText, type LogKind } from '../../monitor/logs.js';

// `rdsctl instance logs NAME`: the error, slow or general log from the NC, followed with -f.

export interface Options {
  name: string;
  kind: LogKind;
  standby: boolean;
  lines: number;
  follow: boolean;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<name>', 'instance name (rm-…) or custins id')
    .option('--error', 'the error log (default)')
    .option('--slow', 'the slow query log (its file name is asked of the server)')
    .option('--general', 'the general query log (its file name is asked of the server)')
    .option('--standby', 'the standby\'s log instead of the master\'s')
    .option('-n, --lines <n>', 'how many lines from the end', '50')
    .option('-f, --follow', 'keep printing new lines (across rotation) until Ctrl-C')
    .addHelpText(
      'after',
      '\nRead over SSH on the NC (tail). The error log is at its place in the instance\'s layout and is\n' +
        'readable when the server is down. Lines go to stdout as they are, control characters escaped.\n' +
        'Exit 3 when the file does not exist (e.g. slow_query_log has never been on); -f ends with Ctrl-C (130).\n' +
        examples('rdsctl instance logs rm-2ze1abcd', 'rdsctl instance logs rm-2ze1abcd --slow -n 200', 'rdsctl instance logs rm-2ze1abcd --standby -f'),
    )
    .action(async (name: string, o: { error?: boolean; slow?: boolean; general?: boolean; standby?: boolean; lines: string; follow?: boolean }) => {
      const kinds = (['error', 'slow', 'general'] as const).filter((k) => o[k]);
      if (kinds.length > 1) throw new UsageError(`--${kinds.join(' and --')}: choose one log`);
      if (!/^\d{1,7}$/.test(o.lines)) throw new UsageError(`-n ${o.lines}: a whole number of lines`);
      const opts: Options = { name, kind: kinds[0] ?? 'error', standby: Boolean(o.standby), lines: Number(o.lines), follow: Boolean(o.follow) };
      return run((ctx) => logs(opts, ctx));
    });
}

export async function logs(opts: Options, ctx: Context): Promise<number> {
  const src = await logSource(ctx, opts.name, { kind: opts.kind, standby: opts.standby });
  if (src.enabled === false) ctx.io.err(`${src.ins_name} ${src.role}: ${opts.kind === 'slow' ? 'slow_query_log' : 'general_log'} is OFF; showing what ${src.file} holds\n`);
  if (ctx.io.stderrIsTTY) ctx.io.err(`${src.ins_name} ${src.role} ${src.host}:${src.file}\n`);
  const ssh = await ctx.ssh();
  const r = await ssh.exec(src.target.ssh, logCommand(src.file, opts.lines, opts.follow), {
    signal: ctx.signal,
    ...(opts.follow ? {} : { timeoutSec: 60 }),
    onStdout: (b) => ctx.io.out(safeLogText(b.toString('utf8'))),
    // tail's own notes (file replaced, truncated) are talk, not log lines.
    onStderr: (b) => ctx.io.err(safeLogText(b.toString('utf8'))),
  });
  if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
  if (r.exitCode === LOG_MISSING) throw new NotFoundError(`${src.ins_name} ${src.role} on ${src.host}: ${src.file} does not exist${opts.kind === 'error' ? '' : ` (SET GLOBAL ${opts.kind === 'slow' ? 'slow_query_log' : 'general_log'} = ON starts it)`}`);
  if (r.category !== null) throw new RemoteError(`${src.host}: reading ${src.file}: ${r.error ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`}`, { host: src.host });
  return ExitCode.OK;
}
