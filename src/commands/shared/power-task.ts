import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, jsonText, parseOutput, termSafe, type OutputFormat } from '../../core/output.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun } from '../../flow/runner.js';
import { sqlStore } from '../../flow/store-sql.js';
import type { PlanNode } from '../../flow/types.js';
import { enqueuePower, loadPair, powerPrecheck } from '../../lifecycle/operate.js';
import { plannedSteps, type PowerParams, type PowerScope, type PowerVerb } from '../../lifecycle/power.js';
import type { Node } from '../../rds/layout.js';

// What `instance start`, `instance stop` and `instance restart` share: options, the refusals,
// the dry run (the steps this task would run, with their commands), the confirmation, and the
// task run in the foreground under audit.

export interface PowerOptions {
  verb: PowerVerb;
  instance: string;
  params: PowerParams;
  noWait: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

interface RawOptions {
  role: string;
  switchover?: boolean;
  wait: boolean;
  leaseTtl: string;
  output: string;
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
}

const HELP: Record<PowerVerb, string> = {
  start:
    '\nStarts the server(s) through /etc/init.d/mysql<port> start and waits until each answers SQL; with both,\n' +
    "the standby replicates again and the master's semi-sync waiting is back on. HA (ha watch) is enabled\n" +
    'again once both servers run. instance.status follows what the NCs say.',
  stop:
    "\nStops the server(s) through /etc/init.d/mysql<port> stop. A stopped standby: the master's semi-sync\n" +
    'waiting is switched off first (no commit waits for it). A stopped master: the instance takes no writes\n' +
    'until it is started, and HA is suspended (aurora_ha added) so ha watch does not fail it over.\n' +
    'instance.status follows what the NCs say.',
  restart:
    '\nRolling by default: the standby is restarted first (the master does not wait for it meanwhile), then\n' +
    'a switchover (writes pause for it), then the old master restarts as the standby. --role standby\n' +
    'restarts the standby only; --role master switches over and restarts the old master. --no-switchover\n' +
    'restarts the master in place: no writes for the restart (stated in the confirmation).',
};

const EXAMPLES: Record<PowerVerb, string[]> = {
  start: ['rdsctl instance start rm-2ze1abcd --yes', 'rdsctl instance start rm-2ze1abcd --role standby --yes'],
  stop: ['rdsctl instance stop rm-2ze1abcd --role standby --yes --reason "NC memory test"', 'rdsctl instance stop rm-2ze1abcd --dry-run'],
  restart: ['rdsctl instance restart rm-2ze1abcd --yes --reason "apply static parameters"', 'rdsctl instance restart rm-2ze1abcd --role standby --yes', 'rdsctl instance restart rm-2ze1abcd --no-switchover --dry-run'],
};

export function registerPower(verb: PowerVerb, cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--role <role>', 'master, standby or both', 'both');
  if (verb === 'restart') cmd.option('--no-switchover', 'restart the master in place (downtime) instead of switching over first');
  cmd
    .option('--no-wait', 'write the task and return; `rdsctl worker` runs it')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText('after', `${HELP[verb]}\nExit 9 when the instance has an unfinished task or a node marked failed; 4 when a server it needs does not answer.\n${examples(...EXAMPLES[verb])}`)
    .action(async (instance: string, o: RawOptions) => run((ctx) => runPower(parsePower(verb, instance, o), ctx)));
}

export function parsePower(verb: PowerVerb, instance: string, o: RawOptions): PowerOptions {
  if (o.role !== 'master' && o.role !== 'standby' && o.role !== 'both') throw new UsageError(`--role ${JSON.stringify(o.role.slice(0, 40))}: master, standby or both`);
  if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
  const scope: PowerScope = o.role;
  return {
    verb,
    instance,
    params: { scope, switchover: verb === 'restart' && scope !== 'standby' && o.switchover !== false },
    noWait: !o.wait,
    leaseTtlSec: Number(o.leaseTtl),
    output: parseOutput(o.output),
    flags: parseMutationFlags(o),
  };
}

function describe(verb: PowerVerb, p: PowerParams, master: Node, slave: Node): { action: string; downtime: string } {
  const who = p.scope === 'both' ? `master ${master.host} and standby ${slave.host}` : p.scope === 'master' ? `master ${master.host}` : `standby ${slave.host}`;
  if (verb === 'restart' && p.switchover) return { action: `rolling restart of ${who}`, downtime: `writes pause for the switchover to ${slave.host}; ${slave.host} is the master afterwards` };
  if (verb === 'restart' && p.scope !== 'standby') return { action: `restart of ${who} in place`, downtime: `NO WRITES while the master ${master.host} restarts (--no-switchover)` };
  if (verb === 'stop' && p.scope !== 'standby') return { action: `stop of ${who}`, downtime: 'the instance takes NO WRITES until it is started again' };
  return { action: `${verb} of ${who}`, downtime: verb === 'start' ? 'no downtime' : 'the master keeps taking writes (asynchronously replicated meanwhile)' };
}

export async function runPower(opts: PowerOptions, ctx: Context): Promise<number> {
  const p = await loadPair(ctx, opts.instance);
  const { action, downtime } = describe(opts.verb, opts.params, p.master, p.slave);
  const what = `${p.custins.ins_name}: ${action}`;
  if (opts.flags.dryRun) {
    const steps = plannedSteps(opts.verb, opts.params);
    const plan = (n: Node): PlanNode => ({ role: n.role, host: n.host, ip: n.ip, port: n.port, layout: n.layout });
    printPlan(
      ctx,
      {
        action: what,
        targets: [p.custins.ins_name, p.master.host, p.slave.host],
        sql: [{ db: 'dbaas', statement: 'INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, ?, ?, ?, ?)', params: [p.custins.id, opts.verb, 'pending', JSON.stringify({ from_instance_id: p.master.instanceId, to_instance_id: p.slave.instanceId, ...opts.params }), ctx.osUser] }],
        remote: steps.flatMap((s) => {
          const nodes = s.role === 'master' ? [p.master] : s.role === 'slave' ? [p.slave] : s.role === 'both' ? [p.master, p.slave] : [];
          return s.plan ? nodes.flatMap((n) => s.plan!(plan(n), { insName: p.custins.ins_name, timeZone: 'SYSTEM', peer: plan(n === p.master ? p.slave : p.master) }).map((command) => ({ host: n.host, command }))) : [];
        }),
        notes: [`steps: ${steps.map((s) => s.name).join(', ')}`, downtime],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  await powerPrecheck(ctx, opts.verb, p, opts.params);
  await confirm(ctx, `${what}: ${downtime}`, opts.flags, [p.custins.ins_name]);
  const db = ctx.db('dbaas');
  return audited(ctx, { command: `instance ${opts.verb}`, targets: [p.custins.ins_name, p.master.host, p.slave.host], reason: opts.flags.reason, detail: { ...opts.params } }, async () => {
    const taskId = await enqueuePower(db, opts.verb, p, opts.params, { createdBy: ctx.osUser, reason: opts.flags.reason });
    ctx.io.err(`${p.custins.ins_name}: ${opts.verb} task ${taskId}\n`);
    let exitCode: number = ExitCode.OK;
    let failed: string | null = null;
    const t0 = Date.now();
    if (opts.noWait) ctx.io.err(`task ${taskId} is queued: \`rdsctl worker\` will run it\n`);
    else {
      const { result } = await claimAndRun(ctx, taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: opts.leaseTtlSec, progress: stderrProgress(ctx.io) });
      if (result.failed) {
        exitCode = result.failed.exitCode;
        failed = `step ${result.failed.seq} ${result.failed.name}${result.failed.host ? ` on ${result.failed.host}` : ''}: ${result.failed.error}`;
      }
    }
    const task = await sqlStore(db).getTask(taskId);
    const after = await loadPair(ctx, p.custins.ins_name).catch(() => p);
    const rec = {
      ins_name: p.custins.ins_name,
      task_id: taskId,
      flow: opts.verb,
      role: opts.params.scope,
      switchover: opts.params.switchover,
      status: task.status,
      master: after.master.host,
      standby: after.slave.host,
      duration_ms: Date.now() - t0,
      error: failed,
    };
    if (opts.output === 'json') ctx.io.out(jsonText(rec));
    else ctx.io.out([rec.ins_name, rec.flow, rec.role, rec.status, `master ${rec.master}`, `standby ${rec.standby}`, `${rec.duration_ms} ms`].map(termSafe).join('\t') + '\n');
    if (failed) ctx.io.err(`rdsctl: ${termSafe(`${p.custins.ins_name}: ${opts.verb} failed at ${failed}`)}; fix the cause, then \`rdsctl instance step ${p.custins.ins_name} resume\`\n`);
    return { value: exitCode, ok: failed === null, exitCode, detail: { task_id: taskId, ...(failed ? { failed } : {}) } };
  });
}
