import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { parseWatch, WATCH_HELP, watching } from './watch.js';
import { addOutputOption, parseOutput, printRecords, type Column, type OutputFormat } from '../../core/output.js';
import { addressOf, healthy, NODE_STATUSES, probeNodes, readNodes, summarize, summaryLine, type LbNodeRow, type NodeFilter, type NodeStatus, type ProxyRow, type SlbKind, type SlbRow } from '../../slb/nodes.js';

// `lb_node status` and `proxy status` are the same check over the two Xuanyuan tables (the seeds'
// two queries); one declaration of their flags keeps them from drifting apart. One row per node, a
// summary by status, and exit 4 when the fleet is not all online (or, with --live, not all
// answering). -o json prints {nodes: [...], summary: {...}} so a runbook gets both from one parse.
export function registerSlbStatus(cmd: Command, run: Runner, kind: 'lb_node' | 'proxy'): void {
  const what = kind === 'lb_node' ? 'nodes' : 'proxies';
  addOutputOption(cmd)
    .option('--cluster <name>', `only ${what} of this SLB cluster`)
    .option('--status <list>', `only ${what} in these states (comma list of online, offline, maintain)`)
    .option('--live', 'also TCP-connect to each one\'s service port and mark where the metadb and reality disagree')
    .option('--timeout <sec>', 'connect timeout per node for --live', '2')
    .option('--concurrency <n>', `${what} probed at once for --live`, '32')
    .option('--watch [sec]', WATCH_HELP, parseWatch)
    .addHelpText(
      'after',
      `\nExit status: 0 when every listed ${kind} is online (and, with --live, answering); 4 otherwise.\n` +
        examples(`rdsctl ${kind} status`, `rdsctl ${kind} status --cluster slb-hza-01 --live`, `rdsctl ${kind} status --live --watch 5`, `rdsctl ${kind} status --status offline,maintain -o json`),
    )
    .action(async (o: { output: string; cluster?: string; status?: string; live?: boolean; timeout: string; concurrency: string; watch?: number | true }) => {
      const opts = { output: parseOutput(o.output), ...parseStatusFlags(o) };
      return run(watching(o.watch, (ctx) => nodeStatus(ctx, kind, opts)));
    });
}

export interface StatusOptions extends NodeFilter {
  output: OutputFormat;
  live: boolean;
  timeoutMs: number;
  concurrency: number;
}

const statusTone = (s: NodeStatus) => (s === 'online' ? 'ok' : s === 'offline' ? 'bad' : 'warn') as 'ok' | 'bad' | 'warn';

function columns(kind: SlbKind, live: boolean): Column<SlbRow>[] {
  const cols: Column<SlbRow>[] = [
    { header: kind === 'lb_node' ? 'IP_ADDR' : 'IP_ADR', value: addressOf },
    { header: 'STATUS', value: (r) => r.status, tone: (r) => statusTone(r.status) },
    { header: 'CLUSTER', value: (r) => r.cluster },
  ];
  if (kind === 'lb_node') {
    cols.push({ header: 'ROLE', value: (r) => (r as LbNodeRow).role }, { header: 'VIP', value: (r) => (r as LbNodeRow).vip });
  } else {
    cols.push({ header: 'KIND', value: (r) => (r as ProxyRow).kind });
  }
  cols.push({ header: 'PORT', value: (r) => r.service_port, align: 'right', wide: !live });
  if (live) {
    cols.push(
      { header: 'LIVE', value: (r) => r.live, tone: (r) => (r.live === 'up' ? 'ok' : 'bad') },
      { header: 'MISMATCH', value: (r) => (r.mismatch ? 'MISMATCH' : ''), tone: (r) => (r.mismatch ? 'bad' : undefined) },
      { header: 'LIVE_MS', value: (r) => r.live_ms, align: 'right', wide: true },
      { header: 'LIVE_ERROR', value: (r) => r.live_error, wide: true },
    );
  }
  cols.push({ header: 'MODIFIED', value: (r) => r.gmt_modified, wide: true });
  return cols;
}

export async function nodeStatus(ctx: Context, kind: SlbKind, o: StatusOptions): Promise<number> {
  let rows = await readNodes(ctx.db('xuanyuan'), kind, o);
  if (o.live) rows = await probeNodes(rows, { timeoutMs: o.timeoutMs, concurrency: o.concurrency, signal: ctx.signal });
  const summary = summarize(rows, o.live);
  if (o.output === 'json') {
    ctx.io.out(JSON.stringify({ nodes: rows, summary }, null, 2) + '\n');
  } else {
    printRecords(ctx.io, o.output, columns(kind, o.live), rows);
    ctx.io.err(summaryLine(kind, summary) + '\n');
  }
  if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
  return healthy(summary) ? ExitCode.OK : ExitCode.UNHEALTHY;
}

/** --status online,offline → the list; --timeout seconds → ms; --concurrency bounded. */
export function parseStatusFlags(o: { cluster?: string; status?: string; live?: boolean; timeout: string; concurrency: string }): Omit<StatusOptions, 'output'> {
  const status = o.status?.split(',').map((s) => s.trim());
  for (const s of status ?? []) {
    if (!(NODE_STATUSES as readonly string[]).includes(s)) throw new UsageError(`--status ${o.status}: "${s}" is not one of ${NODE_STATUSES.join(', ')}`);
  }
  const timeout = Number(o.timeout);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(o.timeout) || timeout < 0.05 || timeout > 60) throw new UsageError(`--timeout ${o.timeout}: expected seconds from 0.05 to 60`);
  const concurrency = Number(o.concurrency);
  if (!/^[0-9]+$/.test(o.concurrency) || concurrency < 1 || concurrency > 1024) throw new UsageError(`--concurrency ${o.concurrency}: expected a whole number from 1 to 1024`);
  if (o.cluster !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(o.cluster)) throw new UsageError(`--cluster "${o.cluster}": not a cluster name`);
  return {
    ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
    ...(status ? { status: status as NodeStatus[] } : {}),
    live: Boolean(o.live),
    timeoutMs: Math.round(timeout * 1000),
    concurrency,
  };
}
