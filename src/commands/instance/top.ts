import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addOutputOption, parseOutput, printRecords, renderTable, type Column, type OutputFormat } from '../../core/output.js';
import { parseDuration } from '../../monitor/duration.js';
import { compact } from '../../monitor/sparkline.js';
import { parseSort, SORT_KEYS, sortRows, TopSession, type SortKey, type TopRow } from '../../monitor/top.js';

// `rdsctl instance top`: a live view of many instances. On a TTY it redraws in place every
// --interval until `q`; piped, or with --once, it prints one snapshot (rates over one interval).

export interface Options {
  names: string[];
  nc?: string;
  zone?: string;
  sort: SortKey;
  intervalMs: number;
  once: boolean;
  host: boolean;
  output: OutputFormat;
}

/** Keys that sort by a column (shown in the footer). */
const KEYS: Record<string, SortKey> = { n: 'name', p: 'qps', t: 'tps', c: 'connections', u: 'threads_running', l: 'repl_lag_sec', h: 'bp_hit_pct', r: 'rows_read_ps', w: 'rows_written_ps', s: 'slow_queries', x: 'cpu_pct', m: 'mem_bytes' };

const SHORT: Record<SortKey, string> = { name: 'name', qps: 'qps', tps: 'tps', connections: 'conn', threads_running: 'run', repl_lag_sec: 'lag', bp_hit_pct: 'hit', rows_read_ps: 'read', rows_written_ps: 'write', slow_queries: 'slow', cpu_pct: 'cpu', mem_bytes: 'mem' };

export function register(cmd: Command, run: Runner): void {
  cmd.argument('[names...]', 'instance names (default: every running instance, or those of --nc / --zone)');
  addOutputOption(cmd)
    .option('--nc <host>', 'instances with a master or standby on this NC')
    .option('--zone <zone>', 'instances in this zone')
    .option('--sort <metric>', `sort by: ${SORT_KEYS.join(', ')}`, 'qps')
    .option('--interval <duration>', 'time between refreshes (rates are over it)', '2s')
    .option('--once', 'one snapshot and exit (the default when stdout is not a terminal)')
    .option('--no-host', 'skip mysqld CPU and memory (no SSH to the NCs)')
    .addHelpText(
      'after',
      '\nEvery physical instance (master and standby) of the selection, read directly each refresh: QPS, TPS,\n' +
        'connections, threads running, replication lag and threads, buffer pool hit rate and dirty pages,\n' +
        'rows read/written per second, slow queries, mysqld CPU and memory. Instances that cannot be read\n' +
        'are listed last with the error. Keys on a TTY: ' +
        Object.entries(KEYS).map(([k, v]) => `${k} ${v}`).join(', ') +
        ',\nR reverse, q quit. -o json/tsv imply --once; JSON: [{ins_name, role, host, port, instance_id, ok, error,\n' +
        'metrics: {qps, tps, connections, …}}].\n' +
        examples('rdsctl instance top', 'rdsctl instance top --nc nc-a01 --sort threads_running', 'rdsctl instance top rm-2ze1abcd rm-2ze5efgh --once -o json'),
    )
    .action(async (names: string[], o: { nc?: string; zone?: string; sort: string; interval: string; once?: boolean; host: boolean; output: string }) => {
      if (o.nc && o.zone) throw new UsageError('--nc and --zone: choose one');
      if ((o.nc || o.zone) && names.length) throw new UsageError('instance names and --nc/--zone: choose one way to select');
      const intervalMs = parseDuration(o.interval, '--interval');
      if (intervalMs < 200) throw new UsageError(`--interval ${o.interval}: at least 200ms`);
      const opts: Options = { names, ...(o.nc ? { nc: o.nc } : {}), ...(o.zone ? { zone: o.zone } : {}), sort: parseSort(o.sort), intervalMs, once: Boolean(o.once), host: o.host, output: parseOutput(o.output) };
      return run((ctx) => top(opts, ctx));
    });
}

function columns(): Column<TopRow>[] {
  const m = (k: keyof TopRow['metrics'], unit = ''): ((r: TopRow) => string | null) => (r) => (r.ok ? compact(r.metrics[k] as number | null, unit) : null);
  return [
    { header: 'NAME', value: (r) => r.ins_name },
    { header: 'ROLE', value: (r) => (r.role === 'master' ? 'master' : 'standby') },
    { header: 'HOST', value: (r) => `${r.host}:${r.port}` },
    { header: 'QPS', value: m('qps'), align: 'right' },
    { header: 'TPS', value: m('tps'), align: 'right' },
    { header: 'CONN', value: m('connections'), align: 'right' },
    { header: 'RUN', value: m('threads_running'), align: 'right' },
    { header: 'LAG', value: (r) => (r.ok && r.metrics.repl_io !== null ? (r.metrics.repl_lag_sec === null ? 'null' : `${r.metrics.repl_lag_sec}s`) : null), align: 'right', tone: (r) => ((r.metrics.repl_lag_sec ?? 0) > 60 ? 'bad' : undefined) },
    { header: 'REPL', value: (r) => (r.ok && r.metrics.repl_io !== null ? `${r.metrics.repl_io}/${r.metrics.repl_sql}` : null), tone: (r) => (r.metrics.repl_io !== null && (r.metrics.repl_io !== 'Yes' || r.metrics.repl_sql !== 'Yes') ? 'bad' : undefined) },
    { header: 'HIT%', value: m('bp_hit_pct'), align: 'right' },
    { header: 'DIRTY%', value: m('bp_dirty_pct'), align: 'right' },
    { header: 'READ/s', value: m('rows_read_ps'), align: 'right' },
    { header: 'WRITE/s', value: m('rows_written_ps'), align: 'right' },
    { header: 'SLOW', value: m('slow_queries'), align: 'right', tone: (r) => ((r.metrics.slow_queries ?? 0) > 0 ? 'warn' : undefined) },
    { header: 'CPU%', value: m('cpu_pct'), align: 'right' },
    { header: 'MEM', value: m('mem_bytes', 'B'), align: 'right' },
    { header: 'ERROR', value: (r) => (r.ok ? null : (r.error ?? 'failed').replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 80)), tone: (r) => (r.ok ? undefined : 'bad') },
  ];
}

function json(r: TopRow): unknown {
  return { ins_name: r.ins_name, role: r.role, host: r.host, port: r.port, instance_id: r.instance_id, ok: r.ok, error: r.error, metrics: r.metrics };
}

export async function top(opts: Options, ctx: Context): Promise<number> {
  const s = await TopSession.open(ctx, { names: opts.names, ...(opts.nc ? { nc: opts.nc } : {}), ...(opts.zone ? { zone: opts.zone } : {}) }, { host: opts.host });
  try {
    const n = await s.load();
    if (n === 0) {
      ctx.io.err('no running monitored instance in this selection\n');
      return ExitCode.OK;
    }
    const live = !opts.once && ctx.io.stdoutIsTTY && ctx.io.stdinIsTTY && (opts.output === 'table' || opts.output === 'wide');
    if (!live) {
      await s.refresh();
      await ctx.clock.sleep(opts.intervalMs, ctx.signal).catch(() => undefined);
      if (ctx.signal.aborted) return ExitCode.INTERRUPTED;
      const rows = sortRows(await s.refresh(), opts.sort);
      printRecords(ctx.io, opts.output, columns(), rows, json);
      if (opts.output !== 'json' && opts.output !== 'tsv') ctx.io.err(`${rows.length} instances, ${rows.filter((r) => !r.ok).length} unreadable, sorted by ${opts.sort}, rates over ${opts.intervalMs / 1000}s\n`);
      return ExitCode.OK;
    }
    return await liveView(ctx, s, opts);
  } finally {
    await s.close();
  }
}

/** Cut a line to `width` visible characters; colour codes do not count and are never cut in half. */
export function clipVisible(line: string, width: number): string {
  let out = '';
  let seen = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const m = /^\x1b\[[0-9;]*m/.exec(line.slice(i));
      if (m) {
        out += m[0];
        i += m[0].length - 1;
        continue;
      }
    }
    if (seen >= width) continue;
    out += line[i];
    seen++;
  }
  return out;
}

/** The full-screen loop: alternate screen, keys read raw, redrawn after each refresh and each key. */
async function liveView(ctx: Context, s: TopSession, opts: Options): Promise<number> {
  const stdin = ctx.io.stdin as NodeJS.ReadStream;
  let sort = opts.sort;
  let reverse = false;
  let rows: TopRow[] = [];
  let note = 'first reading…';
  let quit = false;
  const wake = new AbortController();
  let nap = new AbortController();
  const draw = (): void => {
    // A terminal of unknown size (0x0, e.g. a bare pty) is drawn as 160x40.
    const cols = (ctx.io.stdout as { columns?: number }).columns || 160;
    const height = (ctx.io.stdout as { rows?: number }).rows || 40;
    const sorted = sortRows(rows, sort, reverse);
    const cs = columns();
    const table = renderTable(cs.map((c) => c.header), sorted.slice(0, Math.max(1, height - 4)).map((r) => cs.map((c) => { const v = c.value(r); return v === null || v === undefined ? '-' : String(v); })), { palette: ctx.io.outPalette, align: cs.map((c) => c.align ?? 'left') });
    const head = `rdsctl instance top  ${ctx.clock.now().toISOString().slice(11, 19)}  ${rows.length} instances  sort: ${sort}${reverse ? ' (reversed)' : ''}  every ${opts.intervalMs / 1000}s  ${note}`;
    const keys = `q=quit  R=reverse  sort: ${Object.entries(KEYS).map(([k, v]) => `${k}=${SHORT[v]}`).join(' ')}`;
    const clip = (l: string): string => clipVisible(l, cols);
    ctx.io.out('\x1b[H\x1b[2J' + [head, ...table.trimEnd().split('\n'), '', keys].map(clip).join('\n'));
  };
  const onKey = (d: Buffer): void => {
    for (const ch of d.toString('utf8')) {
      if (ch === 'q' || ch === '\u0003') {
        quit = true;
        wake.abort();
      } else if (ch === 'R') reverse = !reverse;
      else if (KEYS[ch]) {
        sort = KEYS[ch]!;
        reverse = false;
      } else continue;
      draw();
      nap.abort();
    }
  };
  ctx.io.out('\x1b[?1049h\x1b[?25l');
  stdin.setRawMode?.(true);
  stdin.resume();
  stdin.on('data', onKey);
  try {
    // The first reading has the gauges (connections, lag, dirty pages); rates need the second.
    rows = await s.refresh();
    draw();
    while (!quit && !ctx.signal.aborted) {
      nap = new AbortController();
      const signal = AbortSignal.any([ctx.signal, wake.signal, nap.signal]);
      await ctx.clock.sleep(opts.intervalMs, signal).catch(() => undefined);
      if (quit || ctx.signal.aborted) break;
      if (nap.signal.aborted) continue;
      try {
        await s.load();
        rows = await s.refresh();
        note = '';
      } catch (e) {
        note = `refresh failed: ${(e as Error).message}`.slice(0, 120);
      }
      draw();
    }
  } finally {
    stdin.off('data', onKey);
    stdin.setRawMode?.(false);
    stdin.pause();
    ctx.io.out('\x1b[?25h\x1b[?1049l');
  }
  return ctx.signal.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
}
