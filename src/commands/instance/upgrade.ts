import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, jsonText, parseOutput, termSafe, type OutputFormat } from '../../core/output.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun } from '../../flow/runner.js';
import { sqlStore } from '../../flow/store-sql.js';
import { loadPair } from '../../lifecycle/operate.js';
import { UPGRADE_STEPS } from '../../lifecycle/upgrade.js';
import { enqueueUpgrade, planUpgrade, upgradePrecheck } from '../../lifecycle/upgrade-plan.js';

// `rdsctl instance upgrade NAME --minor-version V [--allow-downgrade]`: the upgrade flow
// (src/lifecycle/upgrade.ts) run in the foreground: rolling (standby, switchover, old master).

export interface Options {
  instance: string;
  minor: string;
  allowDowngrade: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

interface RawOptions {
  minorVersion?: string;
  allowDowngrade?: boolean;
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
    .option('--minor-version <version>', 'the minor version to run, x.y.z of the instance\'s version (see `rdsctl instance classes`)')
    .option('--allow-downgrade', 'allow a minor version older than the one the instance runs')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText(
      'after',
      '\nRolling: the version is checked against dbaas.engine_version and the server binaries on both NCs, my.cnf\n' +
        'is rewritten on both, the standby restarts first, then a switchover (writes pause for it), then the old\n' +
        'master; both must report the new version label before custins.minor_version follows. In the lab the\n' +
        'minor versions are labels over the one installed MariaDB (the server\'s version string, see README).\n' +
        'Exit 9 with an unfinished task, a version not offered, the same version, or a downgrade without\n' +
        '--allow-downgrade; 4 when a server does not answer or the switchover is not possible.\n' +
        examples('rdsctl instance upgrade rm-2ze1abcd --minor-version 8.0.36 --dry-run', 'rdsctl instance upgrade rm-2ze1abcd --minor-version 8.0.36 --yes --reason "CVE fix"'),
    )
    .action(async (instance: string, o: RawOptions) => run((ctx) => upgrade(parse(instance, o), ctx)));
}

export function parse(instance: string, o: RawOptions): Options {
  if (o.minorVersion === undefined) throw new UsageError('--minor-version is required');
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,4}$/.test(o.minorVersion)) throw new UsageError(`--minor-version ${JSON.stringify(o.minorVersion.slice(0, 40))}: x.y.z`);
  if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
  return { instance, minor: o.minorVersion, allowDowngrade: o.allowDowngrade === true, leaseTtlSec: Number(o.leaseTtl), output: parseOutput(o.output), flags: parseMutationFlags(o) };
}

export async function upgrade(opts: Options, ctx: Context): Promise<number> {
  const p = await loadPair(ctx, opts.instance);
  const up = await planUpgrade(ctx, p, opts.minor, opts.allowDowngrade);
  const what = `${p.custins.ins_name}: minor version ${up.minor_from ?? '-'} -> ${up.minor_to}`;
  const downtime = `rolling restart: writes pause for the switchover to ${p.slave.host}, which is the master afterwards`;
  if (opts.flags.dryRun) {
    const hostOf = (role: string): string => (role === 'master' ? p.master.host : role === 'slave' ? p.slave.host : role === 'both' ? `${p.master.host}, ${p.slave.host}` : 'metadb');
    const probe = { power: { scope: 'both', switchover: true } } as never;
    printPlan(
      ctx,
      {
        action: what,
        targets: [p.custins.ins_name, p.master.host, p.slave.host],
        sql: [
          { db: 'dbaas', statement: 'INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, ?, ?, ?, ?)', params: [p.custins.id, 'upgrade', 'pending', JSON.stringify({ upgrade: up }), ctx.osUser] },
          { db: 'dbaas', statement: "INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES (?, 'version', ?, 'task') ON DUPLICATE KEY UPDATE …", params: [p.custins.id, `<server binary version>-rds${up.minor_to}`] },
          { db: 'dbaas', statement: 'UPDATE custins SET minor_version = ? WHERE id = ?', params: [up.minor_to, p.custins.id] },
        ],
        remote: UPGRADE_STEPS.filter((s) => !s.skip || s.skip(probe) === null).map((s) => ({ host: hostOf(s.role), command: s.name })),
        notes: [`version label: the server reports "<binary version>-rds${up.minor_to}" (my.cnf option version)`, downtime],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  await upgradePrecheck(ctx, p);
  await confirm(ctx, `${what}: ${downtime}`, opts.flags, [p.custins.ins_name, p.master.host, p.slave.host]);
  const db = ctx.db('dbaas');
  return audited(ctx, { command: 'instance upgrade', targets: [p.custins.ins_name, p.master.host, p.slave.host], reason: opts.flags.reason, detail: { minor_version: opts.minor, allow_downgrade: opts.allowDowngrade } }, async () => {
    const t0 = Date.now();
    const taskId = await enqueueUpgrade(db, p, up, { createdBy: ctx.osUser, reason: opts.flags.reason });
    ctx.io.err(`${p.custins.ins_name}: upgrade task ${taskId}\n`);
    const { result } = await claimAndRun(ctx, taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: opts.leaseTtlSec, progress: stderrProgress(ctx.io) });
    const failed = result.failed ? `task ${taskId} step ${result.failed.seq} ${result.failed.name}${result.failed.host ? ` on ${result.failed.host}` : ''}: ${result.failed.error}` : null;
    const exitCode = result.failed?.exitCode ?? ExitCode.OK;
    const task = await sqlStore(db).getTask(taskId);
    const after = await loadPair(ctx, p.custins.ins_name).catch(() => p);
    const rec = { ins_name: p.custins.ins_name, task_id: taskId, minor_from: up.minor_from, minor_to: up.minor_to, status: task.status, minor_version: after.custins.minor_version, master: after.master.host, standby: after.slave.host, duration_ms: Date.now() - t0, error: failed };
    if (opts.output === 'json') ctx.io.out(jsonText(rec));
    else ctx.io.out([rec.ins_name, 'upgrade', `${rec.minor_from ?? '-'} -> ${rec.minor_to}`, rec.status, `master ${rec.master}`, `standby ${rec.standby}`, `${rec.duration_ms} ms`].map(termSafe).join('\t') + '\n');
    if (failed) ctx.io.err(`rdsctl: ${termSafe(`${p.custins.ins_name}: upgrade failed at ${failed}`)}; fix the cause, then \`rdsctl instance step ${p.custins.ins_name} resume\`\n`);
    return { value: exitCode, ok: failed === null, exitCode, detail: { task_id: taskId, ...(failed ? { failed } : {}) } };
  });
}
