import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ConflictError, ExitCode, UnhealthyError, UsageError } from '../../core/errors.js';
import { confirm, printPlan } from '../../core/mutation.js';
import { enqueue } from '../../flow/enqueue.js';
import { sqlStore } from '../../flow/store-sql.js';
import { probeServer, unfinishedTask } from '../../ha/operate.js';
import { REBUILD_FLOW_NAME, REBUILD_STEPS, rebuildFlow } from '../../ha/rebuild.js';
import { findCustins, instanceRows } from '../../rds/custins.js';
import { toNode } from '../../rds/layout.js';
import { jsonText } from '../../core/output.js';
import { addTaskOptions, parseTaskFlags, runTask, type RawTaskFlags, type TaskFlags } from '../shared/ha-task.js';

// `rdsctl instance rebuild-standby NAME [--nc NC]`: a new standby from a streamed backup of the
// master (after a failover, or when a standby's data is lost).

export interface Options extends TaskFlags {
  instance: string;
  nc: string | null;
}

interface RawOptions extends RawTaskFlags {
  nc?: string;
}

export function register(cmd: Command, run: Runner): void {
  addTaskOptions(cmd)
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--nc <host>', 'rebuild the standby on this NC instead of its own (its port must be free there)')
    .addHelpText(
      'after',
      "\nThe standby's mysqld is stopped and its datadir emptied (destructive: asks, or --yes), then filled by\n" +
        'mariadb-backup --stream=xbstream from the master piped into mbstream on the standby NC (nothing is\n' +
        'stored on this host), prepared, started read-only and set to replicate from the GTID position of the\n' +
        "backup; the master's semi-sync is switched back on. Exit 9 with an unfinished task; 4 when the master\n" +
        'does not answer or is read-only.\n' +
        examples('rdsctl instance rebuild-standby rm-2ze1abcd --yes', 'rdsctl instance rebuild-standby rm-2ze1abcd --nc nc-a07 --yes --reason "nc-a01 hardware"'),
    )
    .action(async (instance: string, o: RawOptions) => run((ctx) => rebuildStandby(parse(instance, o), ctx)));
}

export function parse(instance: string, o: RawOptions): Options {
  const t = parseTaskFlags(o);
  if (o.nc !== undefined && !/^[A-Za-z0-9_.-]{1,128}$/.test(o.nc)) throw new UsageError(`--nc ${JSON.stringify(o.nc.slice(0, 80))}: an NC host name`);
  return { instance, nc: o.nc ?? null, ...t };
}

export async function rebuildStandby(opts: Options, ctx: Context): Promise<number> {
  const db = ctx.db('dbaas');
  const custins = await findCustins(db, opts.instance);
  if (custins.status !== 'running') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}; a standby is rebuilt only for a running instance`);
  const rows = await instanceRows(db, custins.id);
  const m = rows.find((r) => r.role === 'master');
  const s = rows.find((r) => r.role === 'slave');
  if (!m || !s) throw new ConflictError(`instance ${custins.ins_name} has no master/standby rows`);
  if (opts.nc === m.host_name) throw new UsageError(`--nc ${opts.nc} is the master's NC: master and standby must be on different hosts`);
  const where = opts.nc ?? s.host_name;
  const steps = REBUILD_STEPS.map((x) => x.name);
  if (opts.flags.dryRun) {
    printPlan(ctx, {
      action: `rebuild the standby of ${custins.ins_name} (instance ${s.id}) on ${where} from the master ${m.host_name}`,
      targets: [custins.ins_name, m.host_name, where],
      sql: [{ db: 'dbaas', statement: 'INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, ?, ?, ?, ?)', params: [custins.id, REBUILD_FLOW_NAME, 'pending', JSON.stringify({ nc: opts.nc }), ctx.osUser] }],
      remote: [
        { host: s.host_name, command: 'stop mysqld of this instance; empty its datadir, binlogs and relay logs' },
        { host: `${m.host_name} -> ${where}`, command: 'mariadb-backup --backup --stream=xbstream | mbstream -x -C <datadir>  (piped through this host, not stored)' },
        { host: where, command: 'mariadb-backup --prepare; start; RESET MASTER; gtid_binlog_state = gtid_slave_pos = <backup GTID>; CHANGE MASTER TO the master; START SLAVE' },
      ],
      notes: [`steps: ${steps.join(', ')}`],
    }, opts.output === 'json' ? 'json' : 'text');
    return ExitCode.OK;
  }
  const busy = await unfinishedTask(db, custins.id);
  if (busy) throw new ConflictError(`instance ${custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`, { hint: `finish it first: rdsctl instance step ${custins.ins_name} resume` });
  const st = await probeServer(ctx, { custins, master: toNode(m), slave: toNode(s) } as never, toNode(m));
  if (st instanceof Error) throw new UnhealthyError(`rebuild of ${custins.ins_name} refused: the master ${m.host_name} does not answer (${st.message})`);
  if (st.readOnly) throw new UnhealthyError(`rebuild of ${custins.ins_name} refused: the master ${m.host_name} is read-only`);
  await confirm(ctx, `rebuild the standby of ${custins.ins_name} on ${where}: its data there is replaced`, opts.flags, [`${where}:${s.port}`]);
  return runTask(
    ctx,
    { ...opts, insName: custins.ins_name, verb: 'rebuild-standby', targets: [custins.ins_name, m.host_name, where], detail: { instance_id: s.id, nc: where } },
    () =>
      db.transaction(async (tx) => {
        await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [custins.id]);
        const b = await unfinishedTask(tx, custins.id);
        if (b) throw new ConflictError(`instance ${custins.ins_name} has an unfinished ${b.flow} task ${b.id} (${b.status})`);
        return enqueue(sqlStore(tx), rebuildFlow, { kind: 'instance', id: String(custins.id) }, { nc: opts.nc, requested_by: ctx.osUser, ...(opts.flags.reason ? { reason: opts.flags.reason } : {}) }, { createdBy: ctx.osUser });
      }),
    (r) => {
      const rec = { ins_name: custins.ins_name, task_id: r.taskId, status: r.status, master: m.host_name, standby: where, instance_id: s.id, duration_ms: r.durationMs, error: r.failed };
      if (opts.output === 'json') ctx.io.out(jsonText(rec));
      else ctx.io.out(`${rec.ins_name}\trebuild-standby\t${rec.status}\t${rec.master} -> ${rec.standby}\t${rec.duration_ms} ms\n`);
    },
  );
}
