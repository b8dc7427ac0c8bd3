import type { Command } from 'commander';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, jsonText, parseOutput, termSafe, type OutputFormat } from '../../core/output.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun } from '../../flow/runner.js';
import { sqlStore } from '../../flow/store-sql.js';
import { FAILOVER_STEPS, SWITCHOVER_STEPS } from '../../ha/flows.js';
import { enqueueHaTask, type Pair } from '../../ha/operate.js';

// What the HA verbs (switchover, failover, rebuild-standby, ha enable) share: their task flags,
// the enqueue-then-run-in-the-foreground under audit, and, for switchover and failover, the dry
// run and the confirmation.

/** The flags every HA verb takes, parsed. */
export interface TaskFlags {
  noWait: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

export interface RawTaskFlags {
  wait: boolean;
  leaseTtl: string;
  output: string;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
}

/** -o, --dry-run, --reason, --yes, --no-wait, --lease-ttl. */
export function addTaskOptions(cmd: Command): Command {
  addOutputOption(cmd);
  return addMutationOptions(cmd, { confirm: true })
    .option('--no-wait', 'write the task and return; `rdsctl worker` runs it')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner', String(DEFAULT_LEASE_TTL_SEC));
}

export function parseTaskFlags(o: RawTaskFlags): TaskFlags {
  if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
  return { noWait: !o.wait, leaseTtlSec: Number(o.leaseTtl), output: parseOutput(o.output), flags: parseMutationFlags(o) };
}

export interface TaskOutcome {
  taskId: number;
  status: string;
  exitCode: number;
  /** "step N name on host: error" when a step failed */
  failed: string | null;
  durationMs: number;
}

/**
 * Write the task (enqueue, in the caller's locking transaction) under audit, then run it in the
 * foreground unless --no-wait; `print` shows the record and is given the outcome.
 */
export async function runTask(
  ctx: Context,
  o: TaskFlags & { insName: string; verb: string; targets: string[]; detail: Record<string, unknown> },
  enqueue: () => Promise<number>,
  print: (r: TaskOutcome) => void,
): Promise<number> {
  return audited(ctx, { command: `instance ${o.verb}`, targets: o.targets, reason: o.flags.reason, detail: o.detail }, async () => {
    const taskId = await enqueue();
    ctx.io.err(`${o.insName}: ${o.verb} task ${taskId}\n`);
    let exitCode: number = ExitCode.OK;
    let failed: string | null = null;
    const t0 = Date.now();
    if (o.noWait) ctx.io.err(`task ${taskId} is queued: \`rdsctl worker\` will run it\n`);
    else {
      const { result } = await claimAndRun(ctx, taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: o.leaseTtlSec, progress: stderrProgress(ctx.io) });
      if (result.failed) {
        exitCode = result.failed.exitCode;
        failed = `step ${result.failed.seq} ${result.failed.name}${result.failed.host ? ` on ${result.failed.host}` : ''}: ${result.failed.error}`;
      }
    }
    const task = await sqlStore(ctx.db('dbaas')).getTask(taskId);
    print({ taskId, status: task.status, exitCode, failed, durationMs: Date.now() - t0 });
    if (failed) ctx.io.err(`rdsctl: ${o.insName}: ${o.verb} failed at ${termSafe(failed)}; fix the cause, then \`rdsctl instance step ${o.insName} resume\`\n`);
    return { value: exitCode, ok: failed === null, exitCode, detail: { task_id: taskId, ...(failed ? { failed } : {}) } };
  });
}

export interface HaTaskOptions extends TaskFlags {
  flow: 'switchover' | 'failover';
  acceptDataLoss?: boolean;
}

export async function runHaTask(ctx: Context, p: Pair, o: HaTaskOptions): Promise<number> {
  const steps = o.flow === 'switchover' ? SWITCHOVER_STEPS : FAILOVER_STEPS;
  const what = `${o.flow} of ${p.custins.ins_name}: ${p.master.host} -> ${p.slave.host}`;
  if (o.flags.dryRun) {
    printPlan(
      ctx,
      {
        action: what,
        targets: [p.custins.ins_name, p.master.host, p.slave.host, p.route.route.proxy.name],
        sql: [{ db: 'dbaas', statement: 'INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, ?, ?, ?, ?)', params: [p.custins.id, o.flow, 'pending', JSON.stringify({ from_instance_id: p.master.instanceId, to_instance_id: p.slave.instanceId }), ctx.osUser] }],
        remote: steps.flatMap((s) => {
          const nodes = s.role === 'master' ? [p.master] : s.role === 'slave' ? [p.slave] : s.role === 'both' ? [p.master, p.slave] : [];
          const plan = (n: typeof p.master) => ({ role: n.role, host: n.host, ip: n.ip, port: n.port, layout: n.layout });
          return s.plan ? nodes.flatMap((n) => s.plan!(plan(n), { insName: p.custins.ins_name, timeZone: 'SYSTEM', peer: plan(n === p.master ? p.slave : p.master) }).map((command) => ({ host: n.host, command }))) : [];
        }),
        notes: [`steps: ${steps.map((s) => s.name).join(', ')}`, `route ${p.route.route.ip}:${p.route.route.port} on ${p.route.route.proxy.name} will lead to ${p.slave.ip}:${p.slave.port}`],
      },
      o.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  await confirm(ctx, `${what}: writes stop for the switch, the route ${p.route.route.ip}:${p.route.route.port} moves to ${p.slave.host}`, o.flags, [p.custins.ins_name]);
  return runTask(
    ctx,
    { ...o, insName: p.custins.ins_name, verb: o.flow, targets: [p.custins.ins_name, p.master.host, p.slave.host], detail: { from: p.master.host, to: p.slave.host, ...(o.acceptDataLoss ? { accept_data_loss: true } : {}) } },
    () => enqueueHaTask(ctx.db('dbaas'), p, o.flow, { createdBy: ctx.osUser, reason: o.flags.reason, ...(o.acceptDataLoss ? { acceptDataLoss: true } : {}) }),
    (r) => {
      const rec = { ins_name: p.custins.ins_name, task_id: r.taskId, flow: o.flow, status: r.status, old_master: p.master.host, new_master: p.slave.host, endpoint: `${p.route.route.ip}:${p.route.route.port}`, duration_ms: r.durationMs, error: r.failed };
      if (o.output === 'json') ctx.io.out(jsonText(rec));
      else ctx.io.out(`${rec.ins_name}\t${rec.flow}\t${rec.status}\t${rec.old_master} -> ${rec.new_master}\t${rec.endpoint}\t${rec.duration_ms} ms\n`);
    },
  );
}
