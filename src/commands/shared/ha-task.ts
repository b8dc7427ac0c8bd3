import type { Context } from '../../core/context.js';
import { ExitCode } from '../../core/errors.js';
import { audited, confirm, printPlan, type MutationFlags } from '../../core/mutation.js';
import type { OutputFormat } from '../../core/output.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, claimAndRun } from '../../flow/runner.js';
import { sqlStore } from '../../flow/store-sql.js';
import { FAILOVER_STEPS, SWITCHOVER_STEPS } from '../../ha/flows.js';
import { enqueueHaTask, type Pair } from '../../ha/operate.js';

// What `instance switchover` and `instance failover` share once their checks passed: the dry run,
// the confirmation, and the task run in the foreground under audit.

export interface HaTaskOptions {
  flow: 'switchover' | 'failover';
  noWait: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
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
  return audited(ctx, { command: `instance ${o.flow}`, targets: [p.custins.ins_name, p.master.host, p.slave.host], reason: o.flags.reason, detail: { from: p.master.host, to: p.slave.host, ...(o.acceptDataLoss ? { accept_data_loss: true } : {}) } }, async () => {
    const taskId = await enqueueHaTask(ctx.db('dbaas'), p, o.flow, { createdBy: ctx.osUser, reason: o.flags.reason, ...(o.acceptDataLoss ? { acceptDataLoss: true } : {}) });
    ctx.io.err(`${p.custins.ins_name}: ${o.flow} task ${taskId}\n`);
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
    const rec = { ins_name: p.custins.ins_name, task_id: taskId, flow: o.flow, status: task.status, old_master: p.master.host, new_master: p.slave.host, endpoint: `${p.route.route.ip}:${p.route.route.port}`, duration_ms: Date.now() - t0, error: failed };
    if (o.output === 'json') ctx.io.out(JSON.stringify(rec, null, 2) + '\n');
    else ctx.io.out(`${rec.ins_name}\t${rec.flow}\t${rec.status}\t${rec.old_master} -> ${rec.new_master}\t${rec.endpoint}\t${rec.duration_ms} ms\n`);
    if (failed) ctx.io.err(`rdsctl: ${p.custins.ins_name}: ${o.flow} failed at ${failed}; fix the cause, then \`rdsctl instance step ${p.custins.ins_name} resume\`\n`);
    return { value: exitCode, ok: failed === null, exitCode, detail: { task_id: taskId, ...(failed ? { failed } : {}) } };
  });
}
