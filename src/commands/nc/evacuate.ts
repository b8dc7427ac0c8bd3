import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ConflictError, ExitCode, NotFoundError, UsageError, describeError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printRecords, termSafe, type Column, type OutputFormat } from '../../core/output.js';
import { DEFAULT_LEASE_TTL_SEC } from '../../flow/runner.js';
import { lockReasonArg, planNcLock } from '../../houyi/nc-lock.js';
import { findNc } from '../../houyi/nc.js';
import { movable, nodesOnNc, pool } from '../../lifecycle/evacuate.js';
import { runMigration } from '../instance/migrate.js';

// `rdsctl nc evacuate NC --reason R [--concurrency N]`: lock the NC (houyi and hostinfo, with the
// reason), then migrate every RDS node on it, N instances at a time, each as its own task(s)
// (a master through a switchover first); progress per instance on stderr; the NC is left locked.

export interface Options {
  nc: string;
  reason: string;
  concurrency: number;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

interface RawOptions {
  concurrency: string;
  leaseTtl: string;
  output: string;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
}

interface Row {
  ins_name: string;
  role: string;
  status: string;
  from: string;
  to: string;
  task_ids: number[];
  duration_ms: number;
  error: string | null;
}

const COLUMNS: Column<Row>[] = [
  { header: 'INSTANCE', value: (r) => r.ins_name },
  { header: 'ROLE', value: (r) => r.role },
  { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'done' ? 'ok' : 'bad') },
  { header: 'FROM', value: (r) => r.from },
  { header: 'TO', value: (r) => r.to },
  { header: 'MS', value: (r) => r.duration_ms },
  { header: 'TASKS', value: (r) => r.task_ids.join(','), wide: true },
  { header: 'ERROR', value: (r) => r.error ?? '' },
];

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<nc>', 'NC hostname, IP or SN')
    .option('--concurrency <n>', 'instances migrated at the same time (1-16)', '1')
    .option('--lease-ttl <seconds>', 'lease of each foreground runner', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText(
      'after',
      '\nLocks the NC first (as `nc lock`, with --reason, which is required; an NC already locked stays so),\n' +
        'so nothing new is placed on it, then migrates every RDS node on it as `instance migrate` does (a\n' +
        'master through a switchover), --concurrency instances at a time, each its own task. One row per\n' +
        'instance; exit 0 only when every migration is done and the NC holds no node any more (it stays\n' +
        'locked: `nc unlock` when it is back).\n' +
        examples('rdsctl nc evacuate nc-a03 --reason "memory errors, ticket 5120" --concurrency 2 --yes', 'rdsctl nc evacuate nc-a03 --reason "drill" --dry-run'),
    )
    .action(async (nc: string, o: RawOptions) => run((ctx) => evacuate(parse(nc, o), ctx)));
}

export function parse(nc: string, o: RawOptions): Options {
  if (!/^\d{1,2}$/.test(o.concurrency) || Number(o.concurrency) < 1 || Number(o.concurrency) > 16) throw new UsageError(`--concurrency ${JSON.stringify(o.concurrency.slice(0, 20))}: 1-16`);
  if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
  const flags = parseMutationFlags(o);
  return { nc, reason: lockReasonArg(flags.reason), concurrency: Number(o.concurrency), leaseTtlSec: Number(o.leaseTtl), output: parseOutput(o.output), flags };
}

export async function evacuate(opts: Options, ctx: Context): Promise<number> {
  const nc = await findNc(ctx.db('houyi'), opts.nc);
  const db = ctx.db('dbaas');
  const h = (await db.query<{ id: number; locked: number }>('SELECT id, locked FROM hostinfo WHERE hostname = ?', [nc.hostname]))[0];
  if (!h) throw new NotFoundError(`NC ${nc.hostname} is not an RDS NC (no dbaas.hostinfo row)`);
  const nodes = await nodesOnNc(db, h.id);
  const stuck = nodes.filter((n) => !movable(n));
  const what = `evacuate NC ${nc.hostname}: lock it${nc.locked ? ' (locked already)' : ''}, migrate ${nodes.length} RDS node(s), ${opts.concurrency} at a time`;
  if (opts.flags.dryRun) {
    printPlan(
      ctx,
      {
        action: what,
        targets: [nc.hostname, ...nodes.map((n) => `${n.ins_name} (${n.role === 'master' ? 'master' : 'standby'}, port ${n.port})`)],
        ...(nc.locked ? {} : { sql: (await planNcLock(ctx, nc.hostname, opts.reason, true)).plan.sql }),
        remote: nodes.map((n) => ({ host: nc.hostname, command: `rdsctl instance migrate ${n.ins_name} --role ${n.role === 'master' ? 'master' : 'standby'}` })),
        notes: stuck.length ? [`not movable now (instance not running): ${stuck.map((n) => n.ins_name).join(', ')}`] : [],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  await confirm(ctx, `${what}: masters switch over (writes pause for each)`, opts.flags, [nc.hostname, ...nodes.map((n) => n.ins_name)]);
  return audited(ctx, { command: 'nc evacuate', targets: [nc.hostname, ...nodes.map((n) => n.ins_name)], reason: opts.reason, detail: { concurrency: opts.concurrency, instances: nodes.length } }, async () => {
    if (!nc.locked) {
      const lock = await planNcLock(ctx, nc.hostname, opts.reason, true);
      await lock.apply();
      ctx.io.err(`locked NC ${nc.hostname}: ${termSafe(opts.reason)}\n`);
    }
    const t0 = Date.now();
    const rows = await pool(nodes, opts.concurrency, async (n): Promise<Row> => {
      const role = n.role === 'master' ? 'master' : 'standby';
      if (!movable(n)) return { ins_name: n.ins_name, role, status: 'skipped', from: `${nc.hostname}:${n.port}`, to: '-', task_ids: [], duration_ms: 0, error: `instance ${n.custins_status}, node ${n.instance_status}` };
      ctx.io.err(`[${termSafe(n.ins_name)}] migrating the ${role}\n`);
      try {
        const { rec } = await runMigration(ctx, n.ins_name, { role, toNc: null, leaseTtlSec: opts.leaseTtlSec, reason: opts.reason, prefix: `[${n.ins_name}] ` });
        ctx.io.err(`[${termSafe(n.ins_name)}] ${rec.status}: ${rec.from} -> ${rec.to} in ${rec.duration_ms} ms\n`);
        return { ins_name: n.ins_name, role, status: rec.status, from: rec.from, to: rec.to, task_ids: rec.task_ids, duration_ms: rec.duration_ms, error: rec.error };
      } catch (e) {
        const msg = describeError(e).message;
        ctx.io.err(`[${termSafe(n.ins_name)}] refused: ${termSafe(msg)}\n`);
        return { ins_name: n.ins_name, role, status: 'refused', from: `${nc.hostname}:${n.port}`, to: '-', task_ids: [], duration_ms: 0, error: msg };
      }
    });
    printRecords(ctx.io, opts.output, COLUMNS, rows);
    const left = await nodesOnNc(db, h.id);
    ctx.io.err(`NC ${nc.hostname}: ${rows.filter((r) => r.status === 'done').length}/${rows.length} migrated in ${((Date.now() - t0) / 1000).toFixed(1)} s at concurrency ${opts.concurrency}; ${left.length} node(s) left; locked\n`);
    if (left.length) {
      const err = new ConflictError(`NC ${nc.hostname} still holds ${left.length} RDS node(s): ${left.map((n) => n.ins_name).join(', ')}`);
      return { value: err.exitCode, ok: false, exitCode: err.exitCode, detail: { left: left.map((n) => n.ins_name) } };
    }
    return { value: ExitCode.OK, ok: true, detail: { migrated: rows.length } };
  });
}
