import type { Command } from 'commander';
import { parseSince } from '../../core/audit-query.js';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { METRIC_NAMES, METRICS, parseMetricList, type MetricName } from '../../monitor/metrics.js';
import { perfView, type MetricSeries, type PerfView } from '../../monitor/perf-view.js';
import { compact, sparkline } from '../../monitor/sparkline.js';

// `rdsctl instance perf NAME`: what `rdsctl monitor` recorded for one instance.

export interface Options {
  name: string;
  since: string;
  metrics: MetricName[];
  standby: boolean;
  output: OutputFormat;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function register(cmd: Command, run: Runner): void {
  cmd.argument('<name>', 'instance name (rm-…) or custins id');
  addOutputOption(cmd)
    .option('--since <when>', 'window start: a duration ago (30m, 2h, 7d) or an ISO time', '1h')
    .option('--metric <names>', `only these metrics (comma list or repeated): ${METRIC_NAMES.join(', ')}`, collect, [])
    .option('--standby', 'the standby instead of the master')
    .addHelpText(
      'after',
      '\nTable: one line per metric with its current value (the newest sample; "gap" when that sample\n' +
        'failed), min, max, average and a sparkline of the window (blank where samples failed: a gap is\n' +
        'never drawn as zero). Samples older than a day are 5-minute averages. -o tsv: the series, one\n' +
        'row per sample (TS, OK, one column per metric). -o json: {ins_name, custins_id, instance_id,\n' +
        'role, host, port, since, until, samples, gaps: [{ts, error}], last_ok, last_ts, metrics: [{metric,\n' +
        'unit, current, min, max, avg, points: [{ts, value}]}]}; value null in a gap.\n' +
        examples('rdsctl instance perf rm-2ze1abcd', 'rdsctl instance perf rm-2ze1abcd --since 6h --metric qps,tps,repl_lag_sec', 'rdsctl instance perf rm-2ze1abcd --standby -o json | jq ".metrics[0].points"'),
    )
    .action(async (name: string, o: { since: string; metric: string[]; standby?: boolean; output: string }) => {
      const opts: Options = { name, since: o.since, metrics: parseMetricList(o.metric) ?? METRIC_NAMES, standby: Boolean(o.standby), output: parseOutput(o.output) };
      parseSince(opts.since, new Date());
      return run((ctx) => perf(opts, ctx));
    });
}

function cell(v: number | string | null, unit: string): string {
  if (typeof v === 'string') return v;
  return compact(v, unit);
}

export async function perf(opts: Options, ctx: Context): Promise<void> {
  const until = ctx.clock.now();
  const since = parseSince(opts.since, until);
  if (since >= until) throw new UsageError(`--since ${opts.since}: must be in the past`);
  const v = await perfView(ctx, opts.name, { since, until, metrics: opts.metrics, standby: opts.standby });
  if (opts.output === 'json') {
    ctx.io.out(JSON.stringify(v, null, 2) + '\n');
    return;
  }
  if (opts.output === 'tsv') {
    const rows = v.metrics[0]?.points.map((p, i) => ({ ts: p.ts, ok: !v.gaps.some((g) => g.ts.getTime() === p.ts.getTime()), i })) ?? [];
    printRecords(ctx.io, 'tsv', [
      { header: 'TS', value: (r: (typeof rows)[number]) => r.ts },
      { header: 'OK', value: (r) => r.ok },
      ...v.metrics.map((m) => ({ header: m.metric.toUpperCase(), value: (r: (typeof rows)[number]) => m.points[r.i]!.value })),
    ], rows);
    return;
  }
  ctx.io.err(header(v));
  const cols = (ctx.io.stdout as { columns?: number }).columns;
  const width = ctx.io.stdoutIsTTY && cols ? Math.max(20, Math.min(120, cols - 62)) : 40;
  const from = v.since.getTime();
  const to = v.until.getTime();
  printRecords<MetricSeries>(ctx.io, opts.output, [
    { header: 'METRIC', value: (m) => m.metric },
    { header: 'CURRENT', value: (m) => (v.last_ok === false ? 'gap' : cell(m.current, m.unit)), align: 'right', tone: () => (v.last_ok === false ? 'bad' : undefined) },
    { header: 'MIN', value: (m) => cell(m.min, m.unit), align: 'right' },
    { header: 'MAX', value: (m) => cell(m.max, m.unit), align: 'right' },
    { header: 'AVG', value: (m) => cell(m.avg, m.unit), align: 'right' },
    { header: 'UNIT', value: (m) => m.unit || null, wide: true },
    { header: 'TREND', value: (m) => (METRICS.find((d) => d.name === m.metric)!.numeric ? sparkline(m.points.map((p) => ({ t: p.ts.getTime(), v: typeof p.value === 'number' ? p.value : null })), from, to, width) : '') },
  ], v.metrics);
}

function header(v: PerfView): string {
  const gaps = v.gaps.length ? `, ${v.gaps.length} gap${v.gaps.length === 1 ? '' : 's'} (last: ${v.gaps[v.gaps.length - 1]!.ts.toISOString()} ${v.gaps[v.gaps.length - 1]!.error ?? ''})` : '';
  if (v.samples === 0) return `${v.ins_name} ${v.role} ${v.host}:${v.port}: no samples since ${v.since.toISOString()} (is \`rdsctl monitor\` running?)\n`;
  return `${v.ins_name} ${v.role} ${v.host}:${v.port}: ${v.samples} samples ${v.since.toISOString()} .. ${v.until.toISOString()}${gaps}\n`;
}
