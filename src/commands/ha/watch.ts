import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { Watcher, type WatchEvent, type WatchOptions } from '../../ha/watch.js';

// `rdsctl ha watch`: the HA watcher (the seed's aurora) over every running instance of the
// profile. Runs until Ctrl-C/SIGTERM (or --rounds N). One line per event on stdout.

export interface Options extends WatchOptions {
  json: boolean;
}

interface RawOptions {
  interval: string;
  window: string;
  leaseTtl: string;
  probeTimeout: string;
  quiet: string;
  rounds?: string;
  dryRun?: boolean;
  output: string;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .option('--interval <ms>', 'probe every instance this often', '500')
    .option('--window <ms>', 'direct probes must fail this long (and 3 times) before the second vantage point is asked', '3000')
    .option('--lease-ttl <ms>', 'per-instance watch lease; another watcher takes an instance over once it expires', '5000')
    .option('--probe-timeout <ms>', 'connect timeout of one probe', '1000')
    .option('--quiet <seconds>', 'no second automatic failover of an instance within this period', '600')
    .option('--rounds <n>', 'stop after n rounds (default: until interrupted)')
    .option('--dry-run', 'watch and report, but start no failover')
    .option('-o, --output <format>', 'text|json: one line per event', 'text')
    .addHelpText(
      'after',
      '\nA master is declared dead only when direct probes fail over the whole window AND the standby\'s IO\n' +
        'thread has lost it or its NC says mariadbd is not running (or does not answer). Then the failover\n' +
        'flow runs (see `rdsctl instance failover --help`); it promotes only when no acknowledged write can\n' +
        'be missing (semi-sync in effect at the last sample), else it records an alert. Several watchers\n' +
        'share the fleet through leases in dbaas.ha_watch_lease; each event is an ha_event row and audited.\n' +
        examples('rdsctl ha watch', 'rdsctl ha watch --window 5000 --quiet 1800', 'rdsctl ha watch --dry-run -o json'),
    )
    .action(async (o: RawOptions) => run((ctx) => watch(parse(o), ctx)));
}

function int(flag: string, v: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`${flag} ${JSON.stringify(v.slice(0, 40))}: a whole number from ${min} to ${max}`);
  return Number(v);
}

export function parse(o: RawOptions): Options {
  if (o.output !== 'text' && o.output !== 'json') throw new UsageError(`-o ${JSON.stringify(o.output.slice(0, 40))}: text or json`);
  const intervalMs = int('--interval', o.interval, 50, 600_000);
  const leaseTtlMs = int('--lease-ttl', o.leaseTtl, 500, 600_000);
  if (leaseTtlMs < 2 * intervalMs) throw new UsageError(`--lease-ttl ${leaseTtlMs} must be at least twice --interval ${intervalMs}, or the lease lapses between rounds`);
  return {
    intervalMs,
    windowMs: int('--window', o.window, 0, 600_000),
    leaseTtlMs,
    probeTimeoutMs: int('--probe-timeout', o.probeTimeout, 100, 60_000),
    quietSec: int('--quiet', o.quiet, 0, 86_400 * 7),
    rounds: o.rounds === undefined ? null : int('--rounds', o.rounds, 1, 1_000_000_000),
    act: !o.dryRun,
    json: o.output === 'json',
  };
}

export async function watch(opts: Options, ctx: Context): Promise<number> {
  const print = (e: WatchEvent): void => {
    const line = opts.json ? JSON.stringify({ ts: ctx.clock.now().toISOString(), ...e }) : `${ctx.clock.now().toISOString()} ${e.ins_name} ${e.kind}: ${e.detail}`;
    ctx.io.out(line + '\n');
  };
  const w = new Watcher(ctx, opts, print);
  ctx.io.err(`ha watch: ${w.owner}${opts.act ? '' : ' (dry run: no failover is started)'}\n`);
  await w.run(ctx.signal);
  return ctx.signal.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
}
