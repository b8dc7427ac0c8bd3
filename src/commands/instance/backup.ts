import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { BACKUP_FLOW, CHOOSE_STEP, type SourceChoice } from '../../backup/backup-flow.js';
import { enqueueBackup, unfinishedTask } from '../../backup/enqueue.js';
import { setByTask } from '../../backup/sets.js';
import { storeOf } from '../../backup/store.js';
import { BACKUP_COLUMNS, backupRecord } from '../../backup/view.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun, taskStore } from '../../flow/runner.js';
import { findCustins } from '../../rds/custins.js';

// `rdsctl instance backup NAME [--full]`: a full physical backup into the backup store, as a
// task of the backup flow run in the foreground (progress on stderr) unless --no-wait.

export interface Options {
  instance: string;
  noWait: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

interface RawOptions {
  full?: boolean;
  wait: boolean;
  leaseTtl: string;
  output: string;
  dryRun?: boolean;
  reason?: string;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd)
    .argument('<instance>', 'instance name (rm-…) or custins id')
    .option('--full', 'a full backup (every set rdsctl takes is full; the flag is accepted for runbooks that say so)')
    .option('--no-wait', 'write the task and return; `rdsctl worker` runs it')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner, renewed while it works', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText(
      'after',
      '\nTaken from the standby when it replicates and is under 300 s behind, else from the master (said on\n' +
        'stderr and in the task). The NC streams mariadb-backup --stream=xbstream over SSH straight to the\n' +
        'backup store (profile backup.store_host), where mbstream extracts it; nothing passes through this\n' +
        'host. The set\'s manifest (instance, GTIDs, binlog position, times, size, sha256 of every file) is\n' +
        'written last. Then closed binlogs are archived and retention is applied. Exit 9 when the instance\n' +
        'has an unfinished task. Killed half-way: `rdsctl instance step NAME resume`.\n' +
        examples('rdsctl instance backup rm-2ze1abcd', 'rdsctl instance backup rm-2ze1abcd --full -o json', 'rdsctl instance backup rm-2ze1abcd --dry-run'),
    )
    .action(async (instance: string, o: RawOptions) => {
      const opts = parse(instance, o);
      return run((ctx) => backup(opts, ctx));
    });
}

function parse(instance: string, o: RawOptions): Options {
  if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
  return { instance, noWait: !o.wait, leaseTtlSec: Number(o.leaseTtl), output: parseOutput(o.output), flags: parseMutationFlags(o) };
}

export async function backup(opts: Options, ctx: Context): Promise<number> {
  const db = ctx.db('dbaas');
  const custins = await findCustins(db, opts.instance);
  const store = storeOf(ctx.profile());
  if (opts.flags.dryRun) {
    const busy = await unfinishedTask(db, custins.id);
    printPlan(
      ctx,
      {
        action: 'back up instance',
        targets: [`${custins.ins_name} -> ${store.host}:${store.dir}/${custins.ins_name}/sets/<set>`],
        sql: [{ db: 'dbaas', statement: 'INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (?, ?, ?, ?, ?)', params: [custins.id, 'backup', 'pending', '{"kind":"full",…}', ctx.osUser] }],
        remote: [
          { host: '<source NC>', command: `mariadb-backup --backup --stream=xbstream | ssh ${store.user}@${store.address} 'mbstream -x -C ${store.dir}/${custins.ins_name}/sets/<set>'  # the NC's own backup key` },
          { host: store.host, command: 'find + openssl dgst -sha256 of every file; manifest.json.tmp, sync, mv manifest.json (last)' },
          { host: '<master NC>', command: `for each closed binlog not archived: cat FILE | ssh ${store.host} 'cat > ${store.dir}/${custins.ins_name}/binlogs/FILE.tmp && openssl dgst -sha256 && mv'` },
          { host: store.host, command: 'rm -rf sets older than the backup plan\'s retention (never the newest good full set)' },
        ],
        notes: [
          `steps: ${BACKUP_FLOW.map((s) => s.name).join(', ')}`,
          'the source is the standby when it replicates under 300 s behind, else the master',
          ...(busy ? [`refused now: the instance has an unfinished ${busy.flow} task ${busy.id} (${busy.status})`] : []),
        ],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  return audited(ctx, { command: 'instance backup', targets: [custins.ins_name, store.host], reason: opts.flags.reason, detail: { kind: 'full' } }, async () => {
    const q = await db.transaction((tx) => enqueueBackup(tx, custins, { createdBy: ctx.osUser, reason: opts.flags.reason, scheduled: false }));
    ctx.io.err(`${custins.ins_name}: backup task ${q.taskId}\n`);
    let exitCode: number = ExitCode.OK;
    let failed: string | null = null;
    if (opts.noWait) {
      ctx.io.err(`task ${q.taskId} is queued: \`rdsctl worker\` will run it\n`);
    } else {
      const { result } = await claimAndRun(ctx, q.taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: opts.leaseTtlSec, progress: stderrProgress(ctx.io) });
      if (result.failed) {
        exitCode = result.failed.exitCode;
        failed = `step ${result.failed.seq} ${result.failed.name}${result.failed.host ? ` on ${result.failed.host}` : ''}: ${result.failed.error}`;
      }
    }
    const choice = (await taskStore(ctx).loadSteps(q.taskId)).find((s) => s.step_name === CHOOSE_STEP)?.result as Partial<SourceChoice> | null | undefined;
    const set = await setByTask(db, q.taskId);
    if (typeof choice?.source_reason === 'string') ctx.io.err(`${custins.ins_name}: backup ${choice.source_reason}\n`);
    if (set && opts.output === 'json') ctx.io.out(JSON.stringify(backupRecord(set), null, 2) + '\n');
    else if (set) printRecords(ctx.io, opts.output, BACKUP_COLUMNS, [backupRecord(set)]);
    if (failed) ctx.io.err(`rdsctl: ${custins.ins_name}: backup failed at ${failed}; fix the cause, then \`rdsctl instance step ${custins.ins_name} resume\`\n`);
    return { value: exitCode, ok: failed === null, exitCode, detail: { task_id: q.taskId, set_id: set?.id ?? null, ...(failed ? { failed } : {}) } };
  });
}
