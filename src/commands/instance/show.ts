import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode } from '../../core/errors.js';
import { addOutputOption, parseOutput, printSections, timeText, type OutputFormat, type Section } from '../../core/output.js';
import { showInstance } from '../../rds/show.js';
import { recordSection } from '../../rds/views.js';

// `rdsctl instance show INSTANCE [--live]`: the Dukang instance page.

export interface Options {
  instance: string;
  live: boolean;
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--live', 'also ask both servers: version, read_only, replication threads and lag')
    .addHelpText(
      'after',
      '\nWith --live the exit status is 4 when a server does not answer or a standby\'s replication thread is\n' +
        'not running. A master\'s own channel toward its standby stopped (the state HA leaves after a\n' +
        'switchover or failover) is shown as info (CHECK column, json "check"/"note"), not a failure.\n' +
        examples('rdsctl instance show rm-2ze1abcd', 'rdsctl instance show rm-2ze1abcd --live', 'rdsctl instance show 42 -o json | jq .hosts'),
    )
    .action(async (instance: string, o: { output: string; live?: boolean }) => {
      const opts: Options = { instance, live: Boolean(o.live), output: parseOutput(o.output) };
      return run((ctx) => show(opts, ctx));
    });
}

export async function show(opts: Options, ctx: Context): Promise<number> {
  const v = await showInstance(ctx, opts.instance, { live: opts.live });
  const now = ctx.clock.now();
  const sections: Section[] = [
    recordSection(v.instance),
    { title: 'Hosts', table: { headers: ['ROLE', 'HOST', 'IP', 'PORT', 'STATUS', 'CPU', 'MEM MB', 'DISK GB'], rows: v.hosts.map((h) => [h.role, h.host, h.ip, h.port, h.status, h.cpu, h.mem_mb, h.disk_gb]) } },
    { title: 'Accounts', table: { headers: ['ACCOUNT', 'TYPE', 'PRIVILEGE', 'DATABASES', 'STATUS'], rows: v.accounts.map((a) => [a.name, a.type, a.privilege, a.dbs, a.status]) } },
    { title: 'Databases', table: { headers: ['DATABASE', 'CHARSET', 'STATUS'], rows: v.databases.map((d) => [d.name, d.charset, d.status]) } },
    {
      title: 'Network',
      fields: [
        ['connection string', v.network.conn_string ? `${v.network.conn_string} (${v.network.data_route_status})` : null],
        ...v.network.whitelist.map((w): [string, unknown] => [`whitelist ${w.group} (${w.type})`, w.ips]),
        ['tls', v.tls ? `verified: every node has a certificate for its IP from the CA sha256:${v.tls.ca_sha256.slice(0, 16)}…` : 'none: installed before certificates (#16); sessions are plain'],
      ],
    },
    {
      title: 'HA',
      fields: [
        ['semi-sync', v.ha.semisync ? 'on (AFTER_SYNC)' : 'off'],
        ['route', v.ha.route.address ? `${v.ha.route.address} on ${v.ha.route.proxy} -> ${v.ha.route.target} (${v.ha.route.status})` : null],
        ['last failover', v.ha.last_failover_at],
        ['quiet until', v.ha.quiet_until],
        ['to rebuild', v.ha.rebuild_instance_id === null ? null : `instance ${v.ha.rebuild_instance_id} (rdsctl instance rebuild-standby)`],
        ['watcher', v.ha.watcher ? `${v.ha.watcher} (alive)` : `none holds it (${v.ha.watchers_alive} watchers alive)`],
        ['last HA event', v.ha.last_event ? `${v.ha.last_event.kind} at ${v.ha.last_event.at}: ${v.ha.last_event.detail ?? ''}` : null],
      ],
    },
    { title: 'Backups', table: { headers: ['SET', 'HOST', 'STATUS', 'BYTES', 'FINISHED'], rows: v.backups.map((b) => [b.backup_set, b.host, b.status, b.size_bytes, timeText(b.finished, now, ctx.io.stdoutIsTTY)]) } },
    { title: 'Parameters', fields: Object.entries(v.parameters), empty: '(not built yet)' },
    { title: 'Tasks', table: { headers: ['TASK', 'FLOW', 'STATUS', 'STEPS', 'CURRENT', 'CREATED'], rows: v.tasks.map((t) => [t.task_id, t.flow, t.status, t.steps, t.current_step, timeText(t.created, now, ctx.io.stdoutIsTTY)]) } },
  ];
  let unhealthy = false;
  if (v.live) {
    sections.push({
      title: 'Live',
      table: {
        headers: ['ROLE', 'HOST', 'ANSWERS', 'VERSION', 'READ_ONLY', 'REPLICATES FROM', 'IO', 'SQL', 'LAG', 'CHECK', 'ERROR'],
        rows: v.live.map((l) => [l.role, l.host, l.reachable, l.version, l.read_only, l.replicating_from, l.slave_io_running, l.slave_sql_running, l.seconds_behind_master, l.note ? `${l.check}: ${l.note}` : l.check, l.error ?? l.last_error]),
      },
    });
    unhealthy = v.live.some((l) => l.check === 'fail');
  }
  printSections(ctx.io, opts.output, sections, v);
  return unhealthy ? ExitCode.UNHEALTHY : ExitCode.OK;
}
