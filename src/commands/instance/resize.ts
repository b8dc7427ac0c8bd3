import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UnavailableError, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, jsonText, parseOutput, termSafe, type OutputFormat } from '../../core/output.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun } from '../../flow/runner.js';
import { sqlStore } from '../../flow/store-sql.js';
import { loadPair, migratePrecheck, previewMigrateTarget } from '../../lifecycle/operate.js';
import { RESIZE_STEPS, type ResizeCtx } from '../../lifecycle/resize.js';
import { enqueueResize, planResize, type NodeCapacity, type ResizePlan } from '../../lifecycle/resize-plan.js';
import { switchoverPrecheck, type Pair } from '../../ha/operate.js';
import { runMigration } from './migrate.js';

// `rdsctl instance resize NAME --class CLASS [--storage GB] [--no-migrate]`: the resize flow
// (src/lifecycle/resize.ts) run in the foreground. A node whose NC has no room for the new class
// is migrated first (the migrate flow, its own task; a master through a switchover), unless
// --no-migrate, which refuses with the reason.

export interface Options {
  instance: string;
  classCode: string;
  storageGb: number | null;
  migrate: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

interface RawOptions {
  class?: string;
  storage?: string;
  migrate: boolean;
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
    .option('--class <class>', 'the new instance class (see `rdsctl instance classes`)')
    .option('--storage <gb>', 'the new storage size in GB (default: keep it)')
    .option('--no-migrate', 'refuse when an NC has no room for the new class, instead of migrating that node first')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText(
      'after',
      '\nThe parameters derived from the class are rewritten in mycnf_custinstance and my.cnf on both NCs;\n' +
        'the dynamic ones are set live (SET GLOBAL), the static ones by a rolling restart (standby, switchover,\n' +
        'old master: writes pause for the switchover only). Capacity is taken on both NCs when the task is\n' +
        'written (a smaller class gives it back at the end). custins.class_code and storage_gb follow when it\n' +
        'is done. An NC without room: its node is migrated first (--no-migrate: refused). --dry-run shows which\n' +
        'parameters change live or by restart and each NC\'s capacity before and after.\n' +
        'Exit 2 for an unknown class or storage size; 9 with an unfinished task, the same class, a locked or\n' +
        'offline NC, or storage below what the data uses; 8 when no NC has room; 4 when the master does not answer.\n' +
        examples('rdsctl instance resize rm-2ze1abcd --class rds.mysql.s2.large --dry-run', 'rdsctl instance resize rm-2ze1abcd --class rds.mysql.s2.large --storage 100 --yes --reason "CPU at 90%"', 'rdsctl instance resize rm-2ze1abcd --class rds.mysql.s1.small --no-migrate --yes'),
    )
    .action(async (instance: string, o: RawOptions) => run((ctx) => resize(parse(instance, o), ctx)));
}

export function parse(instance: string, o: RawOptions): Options {
  if (o.class === undefined) throw new UsageError('--class is required (see `rdsctl instance classes`)');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(o.class)) throw new UsageError(`--class ${JSON.stringify(o.class.slice(0, 80))}: a class code such as rds.mysql.s2.large`);
  if (o.storage !== undefined && (!/^\d{1,6}$/.test(o.storage) || Number(o.storage) < 1)) throw new UsageError(`--storage ${JSON.stringify(o.storage.slice(0, 40))}: a positive number of GB`);
  if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
  return { instance, classCode: o.class, storageGb: o.storage === undefined ? null : Number(o.storage), migrate: o.migrate !== false, leaseTtlSec: Number(o.leaseTtl), output: parseOutput(o.output), flags: parseMutationFlags(o) };
}

const cap = (n: { cpu: number; mem_mb: number; disk_gb: number }): string => `${n.cpu} cpu, ${n.mem_mb} MB, ${n.disk_gb} GB`;
const roomOf = (plan: ResizePlan): { cpu: number; memMb: number; diskGb: number } => ({ cpu: plan.params.need_to.cpu, memMb: plan.params.need_to.mem_mb, diskGb: plan.params.need_to.disk_gb });

function describe(p: Pair, plan: ResizePlan): { what: string; downtime: string } {
  const r = plan.params;
  const what = `${p.custins.ins_name}: resize ${r.class_from} ${r.storage_from} GB -> ${r.class_to} ${r.storage_to} GB`;
  const downtime = r.restart ? `static parameters change: rolling restart, writes pause for the switchover to ${p.slave.host}, which is the master afterwards` : 'no restart: every changed parameter is dynamic';
  return { what, downtime };
}

/** The nodes to migrate first, standby before master. */
const shortNodes = (plan: ResizePlan): NodeCapacity[] => [...plan.capacity].filter((c) => c.short).sort((a, b) => (a.role === 'slave' ? -1 : 1) - (b.role === 'slave' ? -1 : 1));

async function dryRun(ctx: Context, opts: Options, p: Pair, plan: ResizePlan): Promise<number> {
  const { what, downtime } = describe(p, plan);
  const r = plan.params;
  const moves: string[] = [];
  for (const n of shortNodes(plan)) {
    const mp = await migratePrecheck(ctx, p, null, n.role === 'master' ? 'master' : 'standby', roomOf(plan));
    const t = await previewMigrateTarget(ctx, mp);
    moves.push(`${n.short}: first migrate the ${n.role === 'master' ? 'master (after a switchover)' : 'standby'} ${n.host} -> ${t.host.hostname}:${t.port} (rdsctl instance migrate${n.role === 'master' ? ' --role master' : ''})`);
  }
  const probe = { rz: r, power: { scope: 'both', switchover: true } } as unknown as ResizeCtx;
  const steps = RESIZE_STEPS.filter((s) => !s.skip || s.skip(probe) === null);
  const hostOf = (role: string): string => (role === 'master' ? p.master.host : role === 'slave' ? p.slave.host : role === 'both' ? `${p.master.host}, ${p.slave.host}` : 'metadb');
  printPlan(
    ctx,
    {
      action: what,
      targets: [p.custins.ins_name, p.master.host, p.slave.host],
      sql: [
        ...plan.capacity.map((c) => ({ db: 'dbaas', statement: 'SELECT … FROM hostinfo WHERE id IN (?, ?) FOR UPDATE; UPDATE hostinfo SET cpu_allocated = cpu_allocated + ?, mem_allocated_mb = mem_allocated_mb + ?, disk_allocated_gb = disk_allocated_gb + ? WHERE id = ?', params: [c.after.cpu - c.before.cpu, c.after.mem_mb - c.before.mem_mb, c.after.disk_gb - c.before.disk_gb, c.hostinfo_id] })),
        { db: 'dbaas', statement: 'INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, ?, ?, ?, ?)', params: [p.custins.id, 'resize', 'pending', '<class, storage, parameter changes, nodes>', ctx.osUser] },
      ],
      remote: [...moves.map((m) => ({ host: 'migrate', command: m })), ...steps.map((s) => ({ host: hostOf(s.role), command: s.name }))],
      notes: [
        ...r.changes.map((c) => `parameter ${c.name}: ${c.from ?? '-'} -> ${c.to} (${c.live ? 'live, SET GLOBAL' : 'static, rolling restart'})`),
        ...(r.changes.length ? [] : ['no parameter derived from the class changes']),
        ...plan.capacity.map((c) => `capacity ${c.role === 'master' ? 'master' : 'standby'} NC ${c.host}: allocated ${cap(c.before)} -> ${cap(c.after)} of ${cap(c.total)}${c.short ? ` (${c.short})` : ''}`),
        `data uses ${plan.usedGb} GB`,
        downtime,
      ],
      extra: { changes: r.changes, capacity: plan.capacity, restart: r.restart },
    },
    opts.output === 'json' ? 'json' : 'text',
  );
  return ExitCode.OK;
}

export async function resize(opts: Options, ctx: Context): Promise<number> {
  let p = await loadPair(ctx, opts.instance);
  let plan = await planResize(ctx, p, { classCode: opts.classCode, storageGb: opts.storageGb });
  const short = shortNodes(plan);
  if (short.length && !opts.migrate) throw new UnavailableError(`resize of ${p.custins.ins_name} refused: ${short.map((n) => n.short).join('; ')} (--no-migrate)`);
  if (opts.flags.dryRun) return dryRun(ctx, opts, p, plan);
  // the rolling restart's switchover must be possible before anything changes
  if (plan.params.restart && !short.length) await switchoverPrecheck(ctx, p);
  const { what, downtime } = describe(p, plan);
  const moving = short.map((n) => `the ${n.role === 'master' ? 'master' : 'standby'} is migrated off ${n.host} first (no room there)`);
  await confirm(ctx, `${what}: ${[...moving, downtime].join('; ')}`, opts.flags, [p.custins.ins_name, p.master.host, p.slave.host]);
  const db = ctx.db('dbaas');
  return audited(ctx, { command: 'instance resize', targets: [p.custins.ins_name, p.master.host, p.slave.host], reason: opts.flags.reason, detail: { class: opts.classCode, storage_gb: opts.storageGb, migrate: opts.migrate } }, async () => {
    const t0 = Date.now();
    const tasks: number[] = [];
    const migrated: string[] = [];
    let failed: string | null = null;
    let exitCode: number = ExitCode.OK;
    for (const n of short) {
      const m = await runMigration(ctx, p.custins.ins_name, { role: n.role === 'master' ? 'master' : 'standby', toNc: null, leaseTtlSec: opts.leaseTtlSec, reason: opts.flags.reason, room: roomOf(plan) });
      tasks.push(...m.rec.task_ids);
      if (m.rec.error) {
        failed = `migrate of the ${m.rec.role}: ${m.rec.error}`;
        exitCode = m.exitCode;
        break;
      }
      migrated.push(`${m.rec.from} -> ${m.rec.to}`);
    }
    if (!failed && short.length) {
      p = await loadPair(ctx, p.custins.ins_name);
      plan = await planResize(ctx, p, { classCode: opts.classCode, storageGb: opts.storageGb });
      if (plan.params.restart) await switchoverPrecheck(ctx, p);
    }
    if (!failed) {
      const taskId = await enqueueResize(db, p, plan, { createdBy: ctx.osUser, reason: opts.flags.reason });
      tasks.push(taskId);
      ctx.io.err(`${p.custins.ins_name}: resize task ${taskId}\n`);
      const { result } = await claimAndRun(ctx, taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: opts.leaseTtlSec, progress: stderrProgress(ctx.io) });
      if (result.failed) {
        exitCode = result.failed.exitCode;
        failed = `task ${taskId} step ${result.failed.seq} ${result.failed.name}${result.failed.host ? ` on ${result.failed.host}` : ''}: ${result.failed.error}`;
      }
    }
    const last = tasks.length ? await sqlStore(db).getTask(tasks[tasks.length - 1]!) : null;
    const after = await loadPair(ctx, p.custins.ins_name).catch(() => p);
    const r = plan.params;
    const rec = {
      ins_name: p.custins.ins_name,
      task_ids: tasks,
      class_from: r.class_from,
      class_to: r.class_to,
      storage_from: r.storage_from,
      storage_to: r.storage_to,
      live: r.changes.filter((c) => c.live).map((c) => c.name),
      restart: r.changes.filter((c) => !c.live).map((c) => c.name),
      migrated,
      status: last?.status ?? 'failed',
      class_code: after.custins.class_code,
      master: after.master.host,
      standby: after.slave.host,
      duration_ms: Date.now() - t0,
      error: failed,
    };
    if (opts.output === 'json') ctx.io.out(jsonText(rec));
    else ctx.io.out([rec.ins_name, 'resize', `${rec.class_from} -> ${rec.class_to}`, `${rec.storage_from} -> ${rec.storage_to} GB`, rec.status, `master ${rec.master}`, `standby ${rec.standby}`, `${rec.duration_ms} ms`].map(termSafe).join('\t') + '\n');
    if (failed) ctx.io.err(`rdsctl: ${termSafe(`${p.custins.ins_name}: resize failed at ${failed}`)}; fix the cause, then \`rdsctl instance step ${p.custins.ins_name} resume\`\n`);
    return { value: exitCode === ExitCode.OK && failed ? ExitCode.REMOTE : exitCode, ok: failed === null, exitCode: exitCode === ExitCode.OK && failed ? ExitCode.REMOTE : exitCode, detail: { task_ids: tasks, ...(failed ? { failed } : {}) } };
  });
}
