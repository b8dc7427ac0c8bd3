import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ConflictError, ExitCode, UnhealthyError, UsageError } from '../../core/errors.js';
import { printPlan } from '../../core/mutation.js';
import { enqueue } from '../../flow/enqueue.js';
import { sqlStore } from '../../flow/store-sql.js';
import { HA_ENABLE_FLOW_NAME, HA_ENABLE_STEPS, haEnableFlow } from '../../ha/enable.js';
import { probeServer, unfinishedTask, type Pair } from '../../ha/operate.js';
import { findCustins, instanceRows } from '../../rds/custins.js';
import { toNode } from '../../rds/layout.js';
import { jsonText } from '../../core/output.js';
import { addTaskOptions, parseTaskFlags, runTask, type RawTaskFlags, type TaskFlags } from '../shared/ha-task.js';

// `rdsctl instance ha enable NAME`: lossless semi-sync and binlog expiry for a pair created
// before HA existed, as a flow (ha_enable) run in the foreground. New pairs have it from create.

const ACTIONS = ['enable'] as const;

export interface Options extends TaskFlags {
  action: (typeof ACTIONS)[number];
  instance: string;
}

export function register(cmd: Command, run: Runner): void {
  addTaskOptions(cmd)
    .argument('<action>', `what to do: ${ACTIONS.join(' | ')}`)
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .addHelpText(
      'after',
      '\nenable: semi-synchronous replication (MariaDB semisync, wait point AFTER_SYNC, timeout from the\n' +
        "instance class) and binlog expiry (7 days): the parameters into mycnf_custinstance, both my.cnf\n" +
        "files rewritten (the semi-sync master side on for the master only), then live: the standby's slave\n" +
        'side first (IO thread reconnected), then the master, which must report a semi-sync standby.\n' +
        'Idempotent: on an enabled pair every step finds its work done. Refused (exit 4) when a server does\n' +
        'not answer or the standby does not replicate; exit 9 with an unfinished task.\n' +
        examples('rdsctl instance ha enable rm-2ze1abcd', 'rdsctl instance ha enable rm-2ze1abcd --dry-run', 'rdsctl instance ha enable rm-2ze1abcd --reason "HA for pre-HA pairs" -o json'),
    )
    .action(async (action: string, instance: string, o: RawTaskFlags) => run((ctx) => haAction(parse(action, instance, o), ctx)));
}

export function parse(action: string, instance: string, o: RawTaskFlags): Options {
  if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`instance ha ${JSON.stringify(action.slice(0, 40))}: unknown action (valid: ${ACTIONS.join(', ')})`);
  return { action: action as Options['action'], instance, ...parseTaskFlags(o) };
}

export async function haAction(opts: Options, ctx: Context): Promise<number> {
  const db = ctx.db('dbaas');
  const custins = await findCustins(db, opts.instance);
  if (custins.status !== 'running') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}; HA is enabled only on a running instance`);
  const rows = await instanceRows(db, custins.id);
  const m = rows.find((r) => r.role === 'master');
  const s = rows.find((r) => r.role === 'slave');
  if (!m || !s) throw new ConflictError(`instance ${custins.ins_name} has no master/standby pair in the metadb`);
  if (opts.flags.dryRun) {
    printPlan(
      ctx,
      {
        action: `enable semi-sync (AFTER_SYNC) and binlog expiry on ${custins.ins_name}: master ${m.host_name}, standby ${s.host_name}`,
        targets: [custins.ins_name, m.host_name, s.host_name],
        sql: [
          { db: 'dbaas', statement: 'INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, ?, ?, ?, ?)', params: [custins.id, HA_ENABLE_FLOW_NAME, 'pending', '{}', ctx.osUser] },
          { db: 'dbaas', statement: "INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES … ON DUPLICATE KEY UPDATE value = VALUES(value), source = 'ha'", params: [custins.id] },
          { db: 'dbaas', statement: 'UPDATE aurora_ha SET semisync = 1 WHERE custins_id = ?', params: [custins.id] },
        ],
        remote: HA_ENABLE_STEPS.flatMap((st) => {
          const nodes = st.role === 'master' ? [m] : st.role === 'slave' ? [s] : st.role === 'both' ? [m, s] : [];
          const view = (r: typeof m) => {
            const n = toNode(r);
            return { role: n.role, host: n.host, ip: n.ip, port: n.port, layout: n.layout };
          };
          return st.plan ? nodes.flatMap((r) => st.plan!(view(r), { insName: custins.ins_name, timeZone: 'SYSTEM', peer: view(r === m ? s : m) }).map((command) => ({ host: r.host_name, command }))) : [];
        }),
        notes: [`steps: ${HA_ENABLE_STEPS.map((x) => x.name).join(', ')}`],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  const busy = await unfinishedTask(db, custins.id);
  if (busy) throw new ConflictError(`instance ${custins.ins_name} has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`, { hint: `finish it first: rdsctl instance step ${custins.ins_name} resume` });
  const pair = { custins, master: toNode(m), slave: toNode(s) } as Pair;
  for (const n of [pair.master, pair.slave]) {
    const st = await probeServer(ctx, pair, n);
    if (st instanceof Error) throw new UnhealthyError(`ha enable of ${custins.ins_name} refused: ${n.host} does not answer (${st.message})`);
  }
  return runTask(
    ctx,
    { ...opts, insName: custins.ins_name, verb: 'ha enable', targets: [custins.ins_name, m.host_name, s.host_name], detail: { master: m.host_name, standby: s.host_name } },
    () =>
      db.transaction(async (tx) => {
        await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [custins.id]);
        const b = await unfinishedTask(tx, custins.id);
        if (b) throw new ConflictError(`instance ${custins.ins_name} has an unfinished ${b.flow} task ${b.id} (${b.status})`);
        return enqueue(sqlStore(tx), haEnableFlow, { kind: 'instance', id: String(custins.id) }, { requested_by: ctx.osUser, ...(opts.flags.reason ? { reason: opts.flags.reason } : {}) }, { createdBy: ctx.osUser });
      }),
    (r) => {
      const rec = { ins_name: custins.ins_name, task_id: r.taskId, action: opts.action, status: r.status, master: m.host_name, standby: s.host_name, duration_ms: r.durationMs, error: r.failed };
      if (opts.output === 'json') ctx.io.out(jsonText(rec));
      else ctx.io.out(`${rec.ins_name}\tha ${rec.action}\t${rec.status}\t${rec.master} / ${rec.standby}\t${rec.duration_ms} ms\n`);
    },
  );
}
