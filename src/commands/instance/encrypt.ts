import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, jsonText, parseOutput, printSections, termSafe, type OutputFormat } from '../../core/output.js';
import { encryptFlow, encryptSteps } from '../../backup/encrypt-flow.js';
import { encryptionOf, encryptionParams } from '../../backup/encryption.js';
import { enqueueFlow } from '../../backup/enqueue.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun, taskStore } from '../../flow/runner.js';
import { findCustins } from '../../rds/custins.js';
import { loadPair, switchoverPrecheck } from '../../ha/operate.js';

// `rdsctl instance encrypt NAME`: MariaDB data-at-rest encryption of a running pair, as a task of
// the encrypt flow: the standby restarts first, the HA switchover makes it the master, then the
// old master restarts as the standby. Writable throughout but for the switchover's pause.

export interface Options {
  instance: string;
  /** --rotate-key: a new key for an encrypted instance (see the help text). */
  rotateKey: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--rotate-key', 'an encrypted instance: a new key for its tables (see below)')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner, renewed while it works', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText(
      'after',
      '\nfile_key_management: a key made on the master\'s NC (openssl, 0600, owned by mysqld\'s user), kept in\n' +
        'the backup store\'s keys/ for clones, installed on the standby; never in the metadb or on this host.\n' +
        'Encrypts InnoDB tablespaces, redo, undo, temporary tables and files, Aria tables, binlogs and relay\n' +
        'logs. The standby restarts first and encrypts its tablespaces; the HA switchover (the same steps as\n' +
        '`instance switchover`) makes it the master; the old master restarts as the standby and encrypts its\n' +
        'tablespaces; then the binlogs written before are archived to the store and purged. The instance\n' +
        'stays writable except the switchover\'s pause (stated in the output); the roles end swapped.\n' +
        'Refused like a switchover when the standby is not ready. Asks first (or --yes). Resume with\n' +
        '`instance step`.\n' +
        '\n--rotate-key (an encrypted instance): a new 256-bit key is appended to the key file under the next\n' +
        'id (the older keys stay: the system tablespace, redo log, binlogs and every older backup set need\n' +
        'them), filed in the store under a new key id, installed on the standby; file_key_management reads\n' +
        'keys at startup only, so the same rolling restart with one switchover follows; then every InnoDB\n' +
        'table of the instance\'s schemas is re-encrypted with the new key (ALTER TABLE … ENCRYPTION_KEY_ID,\n' +
        'online, replicated) and new tables get it (innodb_default_encryption_key_id). file_key_management\n' +
        'has no key versions: redo, binlogs and the system tablespace keep key id 1.\n' +
        examples('rdsctl instance encrypt rm-2ze1abcd --reason "ticket 9012" --yes', 'rdsctl instance encrypt rm-2ze1abcd --dry-run', 'rdsctl instance encrypt rm-2ze1abcd --rotate-key --reason "yearly rotation" --yes'),
    )
    .action(async (instance: string, o: { output: string; leaseTtl: string; rotateKey?: boolean; dryRun?: boolean; yes?: boolean; reason?: string }) => {
      if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
      const opts: Options = { instance, rotateKey: o.rotateKey === true, leaseTtlSec: Number(o.leaseTtl), output: parseOutput(o.output), flags: parseMutationFlags(o) };
      return run((ctx) => encrypt(opts, ctx));
    });
}

export async function encrypt(opts: Options, ctx: Context): Promise<number> {
  const db = ctx.db('dbaas');
  const custins = await findCustins(db, opts.instance);
  const enc = await encryptionOf(db, custins.id);
  if (!opts.rotateKey && enc?.status === 'enabled') throw new UsageError(`instance ${custins.ins_name} is already encrypted (key ${enc.key_id}); a new key: --rotate-key`);
  if (opts.rotateKey && enc?.status !== 'enabled') throw new UsageError(`instance ${custins.ins_name} is not encrypted at rest${enc ? ` (key ${enc.key_id} is ${enc.status})` : ''}: encrypt it first, without --rotate-key`);
  const steps = encryptSteps(opts.rotateKey);
  if (opts.flags.dryRun) {
    printPlan(
      ctx,
      {
        action: opts.rotateKey ? 'rotate the encryption key of instance' : 'encrypt instance',
        targets: [custins.ins_name],
        sql: [{ db: 'dbaas', statement: 'INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES …', params: encryptionParams(custins.conn_port ?? 0).map((p) => `${p.name}=${p.name === 'innodb_default_encryption_key_id' && opts.rotateKey ? '<the new key id>' : p.value}`) }],
        remote: steps.filter((s) => s.plan).map((s) => ({ host: s.role, command: s.name })),
        notes: [`steps: ${steps.map((s) => s.name).join(', ')}`, 'one switchover: the instance is not writable during its pause (route blocked until repointed); the roles end swapped'],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  // Refused like a switchover (nothing changed yet) when the pair could not switch over.
  await switchoverPrecheck(ctx, await loadPair(ctx, custins.ins_name));
  const what = opts.rotateKey ? `Rotate the encryption key of ${custins.ins_name} (now ${enc?.key_id})?` : `Encrypt ${custins.ins_name} at rest?`;
  await confirm(ctx, `${what} The standby restarts, a switchover makes it the master (a pause of writes), then the old master restarts.`, opts.flags, [custins.ins_name]);
  return audited(ctx, { command: 'instance encrypt', targets: [custins.ins_name], reason: opts.flags.reason, detail: { rotate_key: opts.rotateKey } }, async () => {
    const taskId = await db.transaction((tx) =>
      enqueueFlow(tx, custins, encryptFlow, { createdBy: ctx.osUser, params: { requested_by: ctx.osUser, ...(opts.rotateKey ? { rotate_key: true } : {}), ...(opts.flags.reason ? { reason: opts.flags.reason } : {}) } }),
    );
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
