import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { oneOf, wholeNumber } from '../../core/flags.js';
import { addOutputOption, parseOutput, printRecords, timeText, type OutputFormat } from '../../core/output.js';
import { listCustins, type CustinsListRow } from '../../rds/custins.js';
import { checkListFilters } from '../../rds/lookup.js';
import { parseWatch, WATCH_HELP, watching } from '../shared/watch.js';

// `rdsctl instance list`: the Dukang instance list.

const STATUSES = ['creating', 'running', 'failed', 'deleting', 'deleted', 'locked'];

export interface Options {
  output: OutputFormat;
  status?: string;
  nc?: string;
  zone?: string;
  limit: number;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .option('--status <status>', `only instances in this state (${STATUSES.join(', ')}); default: all but deleted`, oneOf('--status', STATUSES))
    .option('--nc <host>', 'only instances with a master or standby on this NC (an unknown NC exits 3 with near names)')
    .option('--zone <zone>', 'only instances in this zone (an unknown zone exits 3 with near names)')
    .option('--limit <n>', 'at most this many, newest first', wholeNumber('--limit', 1, 999_999, 'a positive whole number'), 500)
    .option('--watch [sec]', WATCH_HELP, parseWatch)
    .addHelpText('after', examples('rdsctl instance list', 'rdsctl instance list --nc nc-a01 --status running', 'rdsctl instance list --status creating --watch', 'rdsctl instance list -o json | jq -r ".[].ins_name"'))
    .action(async (o: { output: string; status?: string; nc?: string; zone?: string; limit: number; watch?: number | true }) => {
      const opts: Options = { output: parseOutput(o.output), ...(o.status ? { status: o.status } : {}), ...(o.nc ? { nc: o.nc } : {}), ...(o.zone ? { zone: o.zone } : {}), limit: o.limit };
      return run(watching(o.watch, (ctx) => list(opts, ctx)));
    });
}

export async function list(opts: Options, ctx: Context): Promise<void> {
  const rows = await listCustins(ctx.db('dbaas'), { ...opts });
  if (rows.length === 0) await checkListFilters(ctx.db('dbaas'), opts);
  const now = ctx.clock.now();
  printRecords<CustinsListRow>(
    ctx.io,
    opts.output,
    [
      { header: 'NAME', value: (r) => r.ins_name },
      { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'running' ? 'ok' : r.status === 'failed' ? 'bad' : r.status === 'deleted' ? 'dim' : 'warn') },
      { header: 'VERSION', value: (r) => `${r.engine} ${r.version}` },
      { header: 'CLASS', value: (r) => r.class_code },
      { header: 'ZONE', value: (r) => r.zone },
      { header: 'MASTER', value: (r) => (r.master_host ? `${r.master_host}:${r.port}` : null) },
      { header: 'STANDBY', value: (r) => (r.slave_host ? `${r.slave_host}:${r.port}` : null) },
      { header: 'ENDPOINT', value: (r) => (r.conn_ip ? `${r.conn_ip}:${r.conn_port}` : null), wide: true },
      { header: 'NETWORK', value: (r) => r.network_type, wide: true },
      { header: 'STORAGE', value: (r) => `${r.storage_gb}GB ${r.storage_type}`, wide: true },
      { header: 'CREATED', value: (r) => timeText(r.gmt_created, now, ctx.io.stdoutIsTTY) },
    ],
    rows,
    (r) => ({
      ins_name: r.ins_name,
      custins_id: r.id,
      status: r.status,
      engine: r.engine,
      version: r.version,
      minor_version: r.minor_version,
      class_code: r.class_code,
      storage_gb: r.storage_gb,
      storage_type: r.storage_type,
      zone: r.zone,
      network_type: r.network_type,
      is_guard: r.is_guard === 1,
      master_host: r.master_host,
      slave_host: r.slave_host,
      port: r.port,
      endpoint: r.conn_ip ? `${r.conn_ip}:${r.conn_port}` : null,
      gmt_created: r.gmt_created,
    }),
  );
  if (opts.output !== 'json') ctx.io.err(`${rows.length} instance${rows.length === 1 ? '' : 's'}\n`);
}
