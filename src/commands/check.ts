import os from 'node:os';
import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { ExitCode, UsageError } from '../core/errors.js';
import { seconds } from '../core/flags.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../core/output.js';
import { CHECKS, runChecks, selectChecks } from '../check/checks.js';
import { checkReportTarget, renderJunit, writeFileAtomic } from '../check/junit.js';
import type { CheckResult, CheckStatus } from '../check/types.js';
import { parseWatch, WATCH_HELP, watching } from './shared/watch.js';

// `rdsctl check [NAME…]`: CI smoke checks. Exit 0 when every check is ok (or only warns, with
// --warn-ok), 4 otherwise; --junit FILE also writes a JUnit XML report.

export interface Options {
  names: string[];
  output: OutputFormat;
  junit?: string;
  warnOk: boolean;
  timeoutSec: number;
  live: boolean;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('[checks...]', `checks to run (default: all): ${CHECKS.map((c) => c.name).join(' ')}`)
    .option('--junit <file>', 'also write a JUnit XML report to this file (written atomically)')
    .option('--warn-ok', 'exit 0 when checks only warn')
    .option('--live', 'lb_node, proxy: also TCP-probe every node\'s service port (as `lb_node status --live`); an online node that does not answer fails')
    .option('--timeout <sec>', 'time each check may take before it counts as failed', seconds('--timeout', 0.1, 3600), 30)
    .option('--watch [sec]', WATCH_HELP, parseWatch)
    .addHelpText(
      'after',
      '\nChecks:\n' +
        CHECKS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join('\n') +
        '\nrds logs in with each instance\'s HA maintenance account (password from dbaas.custins_secret).\n' +
        'Exit status: 0 when all are ok (warnings too, with --warn-ok); 4 otherwise.\n' +
        examples('rdsctl check', 'rdsctl check lb_node proxy --live --junit reports/smoke.xml', 'rdsctl check pangu tianji -o json --warn-ok', 'rdsctl check lb_node proxy --live --watch 10'),
    )
    .action(async (names: string[], o: { output: string; junit?: string; warnOk?: boolean; timeout: number; live?: boolean; watch?: number | true }) => {
      if (o.junit !== undefined && (o.junit === '' || o.junit.includes('\0'))) throw new UsageError('--junit: expected a file name');
      selectChecks(names);
      const opts: Options = { names, output: parseOutput(o.output), ...(o.junit !== undefined ? { junit: o.junit } : {}), warnOk: Boolean(o.warnOk), timeoutSec: o.timeout, live: Boolean(o.live) };
      return run(watching(o.watch, (ctx) => check(opts, ctx)));
    });
}

export function overall(results: readonly CheckResult[]): CheckStatus {
  return results.some((r) => r.status === 'fail') ? 'fail' : results.some((r) => r.status === 'warn') ? 'warn' : 'ok';
}

export function exitCodeFor(status: CheckStatus, warnOk: boolean): number {
  return status === 'ok' || (status === 'warn' && warnOk) ? ExitCode.OK : ExitCode.UNHEALTHY;
}

export async function check(opts: Options, ctx: Context): Promise<number> {
  const checks = selectChecks(opts.names);
  if (opts.junit !== undefined) checkReportTarget(opts.junit);
  const results = await runChecks(ctx, checks, opts.timeoutSec, opts.live);
  const status = overall(results);
  const summary = { ok: 0, warn: 0, fail: 0 };
  for (const r of results) summary[r.status]++;
  if (opts.output === 'json') {
    ctx.io.out(JSON.stringify({ status, summary, checks: results }, null, 2) + '\n');
  } else {
    printRecords(ctx.io, opts.output, [
      { header: 'CHECK', value: (r) => r.name },
      { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'ok' ? 'ok' : r.status === 'warn' ? 'warn' : 'bad') },
      { header: 'REASON', value: (r) => r.reason },
      { header: 'MS', value: (r) => r.duration_ms, align: 'right', wide: true },
    ], results);
    ctx.io.err(`${results.length} checks: ${summary.ok} ok, ${summary.warn} warn, ${summary.fail} fail\n`);
  }
  if (opts.junit !== undefined) {
    writeFileAtomic(opts.junit, renderJunit(results, { timestamp: ctx.clock.now(), hostname: os.hostname(), profile: ctx.profile().name, warnOk: opts.warnOk }));
  }
  if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
  return exitCodeFor(status, opts.warnOk);
}
