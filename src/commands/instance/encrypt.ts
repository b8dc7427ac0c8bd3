import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, jsonText, parseOutput, printSections, termSafe, type OutputFormat } from '../../core/output.js';
import { ENCRYPT_FLOW, encryptFlow } from '../../backup/encrypt-flow.js';
import { encryptionOf, encryptionParams } from '../../backup/encryption.js';
import { enqueueFlow } from '../../backup/enqueue.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun, taskStore } from '../../flow/runner.js';
import { findCustins } from '../../rds/custins.js';

// `rdsctl instance encrypt NAME`: MariaDB data-at-rest encryption of a running pair, as a task of
// the encrypt flow. The master restarts once (short downtime, stated), after the standby.

export interface Options {
  instance: string;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner, renewed while it works', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText(
      'after',
      '\nfile_key_management: a key made on the master\'s NC (openssl, 0600, owned by mysqld\'s user), kept in\n' +
        'the backup store\'s keys/ for clones, installed on the standby; never in the metadb or on this host.\n' +
        'Encrypts InnoDB tablespaces, redo, undo, temporary tables and files, Aria tables, binlogs and relay\n' +
        'logs. The standby restarts first and encrypts its tablespaces; then the master restarts (a short\n' +
        'downtime, stated in the output: the HA switchover is not used yet); then the binlogs written\n' +
        'before are archived to the store and purged. Asks first (or --yes). Resume with `instance step`.\n' +
        examples('rdsctl instance encrypt rm-2ze1abcd --reason "ticket 9012" --yes', 'rdsctl instance encrypt rm-2ze1abcd --dry-run'),
    )
    .action(async (instance: string, o: { output: string; leaseTtl: string; dryRun?: boolean; yes?: boolean; reason?: string }) => {
      if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
      const opts: Options = { instance, leaseTtlSec: Number(o.leaseTtl), output: parseOutput(o.output), flags: parseMutationFlags(o) };
      return run((ctx) => encrypt(opts, ctx));
    });
}

export async function encrypt(opts: Options, ctx: Context): Promise<number> {
  const db = ctx.db('dbaas');
  const custins = await findCustins(db, opts.instance);
  const enc = await encryptionOf(db, custins.id);
  if (enc?.status === 'enabled') throw new UsageError(`instance ${custins.ins_name} is already encrypted (key ${enc.key_id})`);
  if (opts.flags.dryRun) {
    printPlan(
      ctx,
      {
        action: 'encrypt instance',
        targets: [custins.ins_name],
        sql: [{ db: 'dbaas', statement: 'INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES …', params: encryptionParams(custins.conn_port ?? 0).map((p) => `${p.name}=${p.value}`) }],
        remote: ENCRYPT_FLOW.filter((s) => s.plan).map((s) => ({ host: s.role, command: s.name })),
        notes: [`steps: ${ENCRYPT_FLOW.map((s) => s.name).join(', ')}`, 'the master restarts once: the instance is not writable for those seconds'],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  await confirm(ctx, `Encrypt ${custins.ins_name} at rest? The standby restarts, then the master (a few seconds without writes).`, opts.flags, [custins.ins_name]);
  return audited(ctx, { command: 'instance encrypt', targets: [custins.ins_name], reason: opts.flags.reason }, async () => {
    const taskId = await db.transaction((tx) => enqueueFlow(tx, custins, encryptFlow, { createdBy: ctx.osUser, params: { requested_by: ctx.osUser, ...(opts.flags.reason ? { reason: opts.flags.reason } : {}) } }));
    ctx.io.err(`${custins.ins_name}: encrypt task ${taskId}\n`);
    const { result } = await claimAndRun(ctx, taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: opts.leaseTtlSec, progress: stderrProgress(ctx.io) });
    const steps = await taskStore(ctx).loadSteps(taskId);
    const after = await encryptionOf(db, custins.id);
    const out = { ins_name: custins.ins_name, task_id: taskId, status: result.status, key_id: after?.key_id ?? null, encryption: after?.status ?? null, steps: steps.map((s) => ({ step: s.step_name, role: s.role, status: s.status, detail: s.detail })) };
    if (opts.output === 'json') ctx.io.out(jsonText(out));
    else printSections(ctx.io, opts.output, [{ title: `Encryption of ${custins.ins_name}`, fields: [['task', taskId], ['status', result.status], ['key', out.key_id], ['state', out.encryption], ...steps.map((s): [string, unknown] => [s.step_name, s.detail ?? s.status])] }], out);
    if (result.failed) ctx.io.err(`rdsctl: ${termSafe(`${custins.ins_name}: encryption failed at step ${result.failed.seq} ${result.failed.name}: ${result.failed.error}`)}; fix the cause, then \`rdsctl instance step ${custins.ins_name} resume\`\n`);
    const exitCode = result.failed?.exitCode ?? ExitCode.OK;
    return { value: exitCode, ok: !result.failed, exitCode, detail: { task_id: taskId, status: result.status } };
  });
}
