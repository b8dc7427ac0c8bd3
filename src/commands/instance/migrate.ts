import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, jsonText, parseOutput, termSafe, type OutputFormat } from '../../core/output.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun } from '../../flow/runner.js';
import { sqlStore } from '../../flow/store-sql.js';
import { enqueueHaTask, switchoverPrecheck } from '../../ha/operate.js';
import { MIGRATE_STEPS } from '../../lifecycle/migrate.js';
import { enqueueMigrate, loadPair, migratePrecheck, previewMigrateTarget } from '../../lifecycle/operate.js';

// `rdsctl instance migrate NAME --role standby|master [--to-nc NC]`: the migrate flow
// (src/lifecycle/migrate.ts) run in the foreground; a master is switched over first (the HA
// switchover flow, its own task) and then migrated as the standby it has become.

export interface Options {
  instance: string;
  role: 'standby' | 'master';
  toNc: string | null;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

interface RawOptions {
  role: string;
  toNc?: string;
  leaseTtl: string;
  output: string;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--role <role>', 'standby or master: which node moves', 'standby')
    .option('--to-nc <nc>', 'the NC to move it to (default: chosen as create chooses)')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText(
      'after',
      '\nThe standby is rebuilt on the target NC from a streamed mariadb-backup of the master while the old one\n' +
        'keeps replicating; the metadb moves to it once it replicates, then the old server and its files are\n' +
        'removed from the old NC. --role master: a switchover first (writes pause for it), then the old master,\n' +
        'now the standby, is migrated. The target is an online, unlocked RDS NC with room and a free port,\n' +
        "never the NC of the other node. Exit 9 with an unfinished task or a bad --to-nc; 8 when no NC has room;\n" +
        '4 when the master does not answer.\n' +
        examples('rdsctl instance migrate rm-2ze1abcd --yes --reason "nc-a03 memory errors"', 'rdsctl instance migrate rm-2ze1abcd --role master --to-nc nc-a07 --yes', 'rdsctl instance migrate rm-2ze1abcd --dry-run'),
    )
    .action(async (instance: string, o: RawOptions) => run((ctx) => migrate(parse(instance, o), ctx)));
}

export function parse(instance: string, o: RawOptions): Options {
  if (o.role !== 'standby' && o.role !== 'master') throw new UsageError(`--role ${JSON.stringify(o.role.slice(0, 40))}: standby or master`);
  if (o.toNc !== undefined && !/^[A-Za-z0-9_.-]{1,128}$/.test(o.toNc)) throw new UsageError(`--to-nc ${JSON.stringify(o.toNc.slice(0, 80))}: an NC host name`);
  if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
  return { instance, role: o.role, toNc: o.toNc ?? null, leaseTtlSec: Number(o.leaseTtl), output: parseOutput(o.output), flags: parseMutationFlags(o) };
}

async function runTask(ctx: Context, taskId: number, leaseTtlSec: number, prefix: string, exit: { code: number }): Promise<string | null> {
  const { result } = await claimAndRun(ctx, taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: leaseTtlSec, progress: stderrProgress(ctx.io, prefix) });
  exit.code = result.failed?.exitCode ?? ExitCode.OK;
  return result.failed ? `task ${taskId} step ${result.failed.seq} ${result.failed.name}${result.failed.host ? ` on ${result.failed.host}` : ''}: ${result.failed.error}` : null;
}

export interface MigrationRecord {
  ins_name: string;
  task_ids: number[];
  role: 'standby' | 'master';
  status: string;
  from: string;
  to: string;
  master: string;
  standby: string;
  duration_ms: number;
  error: string | null;
}

/**
 * One migration after its checks and confirmation: (a switchover task, then) the migrate task,
 * run in the foreground with progress lines prefixed by `prefix`. Also what `nc evacuate` runs
 * for each instance. Returns the record and the exit code; prints nothing on stdout.
 */
export async function runMigration(ctx: Context, ref: string, o: { role: 'standby' | 'master'; toNc: string | null; leaseTtlSec: number; reason: string | null; prefix?: string; room?: { cpu: number; memMb: number; diskGb: number } }): Promise<{ rec: MigrationRecord; exitCode: number }> {
  const db = ctx.db('dbaas');
  const prefix = o.prefix ?? '';
  let p = await loadPair(ctx, ref);
  const moving = o.role === 'master' ? p.master : p.slave;
  const t0 = Date.now();
  let failed: string | null = null;
  const exit = { code: ExitCode.OK as number };
  const tasks: number[] = [];
  let to = '-';
  if (o.role === 'master') {
    await switchoverPrecheck(ctx, p);
    const sw = await enqueueHaTask(db, p, 'switchover', { createdBy: ctx.osUser, reason: o.reason });
    tasks.push(sw);
    ctx.io.err(`${prefix}${p.custins.ins_name}: switchover task ${sw}\n`);
    failed = await runTask(ctx, sw, o.leaseTtlSec, prefix, exit);
    if (!failed) p = await loadPair(ctx, p.custins.ins_name);
  }
  if (!failed) {
    const plan = await migratePrecheck(ctx, p, o.toNc, 'standby', o.room);
    const q = await enqueueMigrate(db, p, plan, { createdBy: ctx.osUser, reason: o.reason });
    tasks.push(q.taskId);
    to = `${q.target.host}:${q.target.port}`;
    ctx.io.err(`${prefix}${p.custins.ins_name}: migrate task ${q.taskId}: ${moving.host}:${moving.port} -> ${to}\n`);
    failed = await runTask(ctx, q.taskId, o.leaseTtlSec, prefix, exit);
  }
  const last = tasks.length ? await sqlStore(db).getTask(tasks[tasks.length - 1]!) : null;
  const after = await loadPair(ctx, p.custins.ins_name).catch(() => p);
  const rec: MigrationRecord = { ins_name: p.custins.ins_name, task_ids: tasks, role: o.role, status: last?.status ?? 'failed', from: `${moving.host}:${moving.port}`, to, master: after.master.host, standby: after.slave.host, duration_ms: Date.now() - t0, error: failed };
  return { rec, exitCode: failed ? (exit.code === ExitCode.OK ? ExitCode.REMOTE : exit.code) : ExitCode.OK };
}

export async function migrate(opts: Options, ctx: Context): Promise<number> {
  const p = await loadPair(ctx, opts.instance);
  const moving = opts.role === 'master' ? p.master : p.slave;
  const planned = await migratePrecheck(ctx, p, opts.toNc, opts.role);
  const target = await previewMigrateTarget(ctx, planned);
  const what = `${p.custins.ins_name}: migrate the ${opts.role} (instance ${moving.instanceId}) ${moving.host}:${moving.port} -> ${target.host.hostname}:${target.port}`;
  if (opts.flags.dryRun) {
    printPlan(
      ctx,
      {
        action: what,
        targets: [p.custins.ins_name, moving.host, target.host.hostname],
        sql: [
          { db: 'dbaas', statement: 'SELECT … FROM hostinfo ORDER BY id FOR UPDATE; INSERT INTO rds_port_reservation (hostinfo_id, port, custins_id, task_id, why) VALUES (?, ?, ?, ?, ?); UPDATE hostinfo SET cpu_allocated = cpu_allocated + ?, … WHERE id = ?', params: [target.host.id, target.port, p.custins.id, '<task id>', 'migrate target'] },
          { db: 'dbaas', statement: 'INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, ?, ?, ?, ?)', params: [p.custins.id, 'migrate', 'pending', '<moving node, master, target, old place, need>', ctx.osUser] },
        ],
        remote: [
          ...(opts.role === 'master' ? [{ host: p.master.host, command: `first the switchover flow: ${p.master.host} -> ${p.slave.host} (writes pause for it)` }] : []),
          ...MIGRATE_STEPS.map((s) => ({ host: s.role === 'old' ? moving.host : s.role === 'slave' ? target.host.hostname : s.role === 'metadb' ? 'metadb' : s.role, command: s.name })),
        ],
        notes: [`target chosen among online unlocked RDS NCs (zone ${p.custins.zone} first); port ${target.port}`, 'the old server is removed only after the new one replicates; its port stays reserved until then'],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  if (opts.role === 'master') await switchoverPrecheck(ctx, p);
  await confirm(ctx, `${what}${opts.role === 'master' ? ' (after a switchover: writes pause for it)' : ''}; the old server is removed from ${moving.host}`, opts.flags, [p.custins.ins_name, moving.host]);
  return audited(ctx, { command: 'instance migrate', targets: [p.custins.ins_name, moving.host, target.host.hostname], reason: opts.flags.reason, detail: { role: opts.role, instance_id: moving.instanceId, to_nc: opts.toNc } }, async () => {
    const { rec, exitCode } = await runMigration(ctx, p.custins.ins_name, { role: opts.role, toNc: opts.toNc, leaseTtlSec: opts.leaseTtlSec, reason: opts.flags.reason });
    if (opts.output === 'json') ctx.io.out(jsonText(rec));
    else ctx.io.out([rec.ins_name, 'migrate', rec.role, rec.status, `${rec.from} -> ${rec.to}`, `master ${rec.master}`, `standby ${rec.standby}`, `${rec.duration_ms} ms`].map(termSafe).join('\t') + '\n');
    if (rec.error) ctx.io.err(`rdsctl: ${termSafe(`${p.custins.ins_name}: migrate failed at ${rec.error}`)}; fix the cause, then \`rdsctl instance step ${p.custins.ins_name} resume\`\n`);
    return { value: exitCode, ok: rec.error === null, exitCode, detail: { task_ids: rec.task_ids, ...(rec.error ? { failed: rec.error } : {}) } };
  });
}
