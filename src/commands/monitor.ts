import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { ExitCode, UsageError } from '../core/errors.js';
import { wholeNumber } from '../core/flags.js';
import { addOutputOption, parseOutput, type OutputFormat } from '../core/output.js';
import { parseDuration } from '../monitor/duration.js';
import { printPlan } from '../core/mutation.js';
import { monitorPlan, runMonitor, type MonitorOptions, type RoundReport } from '../monitor/run.js';
import { SHARDS } from '../monitor/targets.js';

// `rdsctl monitor`: the collector behind `instance perf`; runs until SIGTERM/Ctrl-C like `worker`.

interface RawOptions {
  once?: boolean;
  interval: string;
  dbInterval: string;
  diskInterval: string;
  leaseTtl?: number;
  rounds: number;
  concurrency: number;
  output: string;
  dryRun?: boolean;
}

interface Options extends MonitorOptions {
  output: OutputFormat;
  dryRun: boolean;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  cmd
    .option('--dry-run', 'show the instances it would sample, the shards it would take, the SQL and the per-NC command; take and write nothing')
    .option('--interval <duration>', 'time between samples of an instance (e.g. 10s, 1m)', '10s')
    .option('--db-interval <duration>', 'time between database size readings', '5m')
    .option('--disk-interval <duration>', 'time between disk use readings (du of the datadir and binlogs); rounds in between leave data_bytes and binlog_bytes empty', '1m')
    .option('--once', 'sample every instance once (two readings --interval apart, so rates are real), record, exit')
    .option('--rounds <n>', 'exit after this many rounds (default: run until SIGTERM/Ctrl-C)', wholeNumber('--rounds', 0, 999_999_999), 0)
    .option('--lease-ttl <seconds>', 'lease of each shard, renewed every third of it; a dead monitor\'s shards move after this (default: 30, or 3 x --interval when longer)', wholeNumber('--lease-ttl', 2, 3600))
    .option('--concurrency <n>', 'instances read at once', wholeNumber('--concurrency', 1, 1024), 32)
    .addHelpText(
      'after',
      '\nSamples every running instance registered in dbaas.instance_perf (do_insert_instance_perf_table):\n' +
        'QPS/TPS, connections, threads running, replication lag and thread state, semi-sync, InnoDB buffer\n' +
        'pool hit rate and dirty pages, rows read/written, slow queries (one kept MySQL connection per\n' +
        'instance, as the maintenance account); mysqld CPU and memory, datadir and binlog disk use (one\n' +
        'command per NC per round over one kept SSH connection; du every --disk-interval); database sizes\n' +
        'every --db-interval.\n' +
        'Into dbaas.perf_sample; a failed sample is a gap row (ok = 0, the error), never zeros. Raw samples\n' +
        'are kept a day, then folded into 5-minute buckets (perf_rollup) kept 30 days.\n' +
        `Several monitors share the fleet: instances fall into ${SHARDS} shards leased in dbaas.perf_shard;\n` +
        'each monitor takes its fair share, and a dead monitor\'s shards are taken over when their lease\n' +
        'expires (at once when it died on this host). SIGTERM/Ctrl-C: the round in progress ends, the\n' +
        'shards are given back, exit 130. One line per round on stderr; -o json: one JSON object per round\n' +
        'on stdout (round, at, shards, live_monitors, instances, ok, gaps, db_sizes, took_ms, connections,\n' +
        'connections_opened, retention, invalid).\n' +
        examples('rdsctl monitor', 'rdsctl monitor --interval 30s --db-interval 10m', 'rdsctl monitor --once --interval 2s'),
    )
    .action(async (o: RawOptions) => {
      const opts = parse(o);
      return run((ctx) => monitor(opts, ctx));
    });
}

export function parse(o: RawOptions): Options {
  const intervalMs = parseDuration(o.interval, '--interval');
  if (intervalMs < 500 || intervalMs > 3600_000) throw new UsageError(`--interval ${o.interval}: between 500ms and 1h`);
  const dbIntervalMs = parseDuration(o.dbInterval, '--db-interval');
  if (dbIntervalMs < intervalMs) throw new UsageError(`--db-interval ${o.dbInterval}: at least --interval`);
  const diskIntervalMs = parseDuration(o.diskInterval, '--disk-interval');
  if (diskIntervalMs < intervalMs) throw new UsageError(`--disk-interval ${o.diskInterval}: at least --interval`);
  const ttlSec = o.leaseTtl ?? Math.max(30, Math.ceil((3 * intervalMs) / 1000));
  if (ttlSec * 1000 < 2 * intervalMs && !o.once) throw new UsageError(`--lease-ttl ${o.leaseTtl}: at least twice --interval, or leases lapse between rounds`);
  return {
    once: Boolean(o.once),
    intervalMs,
    dbIntervalMs,
    diskIntervalMs,
    ttlSec,
    rounds: o.rounds,
    concurrency: o.concurrency,
    output: parseOutput(o.output),
    dryRun: Boolean(o.dryRun),
  };
}

function line(r: RoundReport): string {
  return `round ${r.round}: ${r.instances} instances (${r.ok} ok, ${r.gaps} gaps) in ${r.took_ms} ms, ${r.shards.length} shards of ${SHARDS}, ${r.live_monitors} monitor${r.live_monitors === 1 ? '' : 's'}${r.db_sizes ? `, ${r.db_sizes} database sizes` : ''}${r.retention && r.retention.rawDeleted ? `, ${r.retention.rawDeleted} raw samples rolled up` : ''}\n`;
}

export async function monitor(opts: Options, ctx: Context): Promise<number> {
  if (opts.dryRun) {
    const plan = await monitorPlan(ctx, opts);
    printPlan(ctx, plan, opts.output === 'json' ? 'json' : 'text');
    return ExitCode.OK;
  }
  if (!opts.once) ctx.io.err(`monitor: sampling every ${opts.intervalMs / 1000}s; Ctrl-C to stop\n`);
  const reports = await runMonitor(ctx, opts, {
    onRound: (r) => {
      if (opts.output === 'json') ctx.io.out(JSON.stringify(r) + '\n');
      else ctx.io.err(line(r));
    },
    onError: (m) => ctx.io.err(`monitor: ${m}\n`),
    onShards: (claimed, released) => {
      if (claimed.length) ctx.io.err(`monitor: took shards ${claimed.join(',')}\n`);
      if (released.length) ctx.io.err(`monitor: handed over shards ${released.join(',')}\n`);
    },
  });
  if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
  if (opts.once && reports.length === 0) return ExitCode.UNAVAILABLE;
  return ExitCode.OK;
}
