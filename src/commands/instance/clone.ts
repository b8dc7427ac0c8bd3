import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { CLONE_FLOW } from '../../backup/clone-flow.js';
import { parseTime, planClone, writeClone, type CloneRequest, type CloneSource } from '../../backup/clone.js';
import { parseBackupId } from '../../backup/sets.js';
import { iso, windowText } from '../../backup/window.js';
import { stderrProgress } from '../../flow/progress.js';
import { CLAIMABLE, DEFAULT_LEASE_TTL_SEC, claimAndRun } from '../../flow/runner.js';
import { findCustins } from '../../rds/custins.js';
import { checkInstanceName } from '../../rds/names.js';
import { instanceRecord } from '../../rds/record.js';
import { recordSection } from '../../rds/views.js';

// `rdsctl instance clone SOURCE (--to-time TIME | --backup ID | --latest)`: point-in-time
// recovery into a NEW instance, allocated like `instance create`. The source is never touched.

export interface Options {
  request: CloneRequest;
  noWait: boolean;
  leaseTtlSec: number;
  output: OutputFormat;
  flags: MutationFlags;
}

interface RawOptions {
  toTime?: string;
  backup?: string;
  latest?: boolean;
  name?: string;
  class?: string;
  zone?: string;
  wait: boolean;
  leaseTtl: string;
  output: string;
  dryRun?: boolean;
  reason?: string;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd)
    .argument('<source>', 'the instance to clone (name or custins id)')
    .option('--to-time <time>', 'recover to this moment: YYYY-MM-DDTHH:MM:SSZ (UTC), with an offset, or epoch seconds; whole seconds')
    .option('--backup <id>', 'restore this backup set as it is')
    .option('--latest', 'recover to the newest moment the binlog archive reaches')
    .option('--name <name>', 'name of the new instance (default: a generated rm-… name)')
    .option('--class <class>', 'class of the new instance (default: the source\'s)')
    .option('--zone <zone>', 'zone of the new instance (default: the source\'s)')
    .option('--no-wait', 'write the task and return; `rdsctl worker` runs it')
    .option('--lease-ttl <seconds>', 'lease of the foreground runner, renewed while it works', String(DEFAULT_LEASE_TTL_SEC))
    .addHelpText(
      'after',
      '\nThe newest full set consistent at or before TIME is restored on the new master (its sha256\n' +
        'checked first: a corrupted set fails and is marked), the archived binlogs are replayed up to\n' +
        'TIME (every transaction stamped at or before TIME, whole seconds, UTC), then the standby is\n' +
        'restored from a set of the new master and replicates. TIME outside the recoverable window is\n' +
        'refused (exit 2) with the window. Killed half-way: `rdsctl instance step NEW resume`.\n' +
        examples(
          'rdsctl instance clone rm-2ze1abcd --to-time 2026-12-03T10:42:07Z --name rm-restore1',
          'rdsctl instance clone rm-2ze1abcd --backup 12',
          'rdsctl instance clone rm-2ze1abcd --latest --dry-run',
        ),
    )
    .action(async (source: string, o: RawOptions) => {
      const opts = parse(source, o);
      return run((ctx) => clone(opts, ctx));
    });
}

function parse(source: string, o: RawOptions): Options {
  const given = [o.toTime !== undefined, o.backup !== undefined, Boolean(o.latest)].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one of --to-time TIME, --backup ID, --latest');
  const from: CloneSource = o.toTime !== undefined ? { kind: 'time', time: parseTime(o.toTime) } : o.backup !== undefined ? { kind: 'backup', id: parseBackupId(o.backup) } : { kind: 'latest' };
  if (!/^\d{1,6}$/.test(o.leaseTtl) || Number(o.leaseTtl) < 1) throw new UsageError(`--lease-ttl ${o.leaseTtl}: a positive number of seconds`);
  return {
    request: { source, from, ...(o.name !== undefined ? { name: checkInstanceName(o.name) } : {}), ...(o.class !== undefined ? { classCode: o.class } : {}), ...(o.zone !== undefined ? { zone: o.zone } : {}) },
    noWait: !o.wait,
    leaseTtlSec: Number(o.leaseTtl),
    output: parseOutput(o.output),
    flags: parseMutationFlags(o),
  };
}

export async function clone(opts: Options, ctx: Context): Promise<number> {
  const p = await planClone(ctx, opts.request);
  const what = `${p.source.ins_name} set ${p.recovery.set.id} (${p.recovery.set.backup_set})${p.recovery.time ? ` + ${p.recovery.files.length} archived binlogs to ${iso(p.recovery.time)}` : ' as it is'}`;
  if (opts.flags.dryRun) {
    printPlan(
      ctx,
      {
        action: 'clone instance',
        targets: [`${opts.request.name ?? '(new instance)'} from ${what}`],
        remote: CLONE_FLOW.filter((s) => s.plan && s.effect === 'remote' && /restore|apply_binlog|backup_new/.test(s.name)).map((s) => ({ host: s.role, command: s.name })),
        notes: [
          `recoverable window of ${p.source.ins_name}: ${windowText(p.window)}`,
          `new instance: ${p.spec.engine} ${p.spec.version} ${p.spec.cls.class_code}, ${p.spec.storageGb} GB ${p.spec.storageType}, zone ${p.spec.zone}; allocated like instance create`,
          `binlogs: ${p.recovery.files.map((f) => `${f.host_name}:${f.file_name}`).join(', ') || 'none'}`,
          `then the clone flow: ${CLONE_FLOW.length} steps (the install library with restore in place of initialisation)`,
        ],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  return audited(ctx, { command: 'instance clone', targets: [p.source.ins_name, opts.request.name ?? '(new instance)'], reason: opts.flags.reason, detail: { set_id: p.recovery.set.id, time: p.recovery.time ? iso(p.recovery.time) : null } }, async () => {
    const w = await writeClone(ctx, p);
    ctx.io.err(`${w.insName}: clone of ${what}; master ${w.alloc.master.hostname}, standby ${w.alloc.slave.hostname}, port ${w.alloc.port}; task ${w.taskId}\n`);
    let exitCode: number = ExitCode.OK;
    let failed: string | null = null;
    if (opts.noWait) ctx.io.err(`task ${w.taskId} is queued: \`rdsctl worker\` will run it\n`);
    else {
      const { result } = await claimAndRun(ctx, w.taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: opts.leaseTtlSec, progress: stderrProgress(ctx.io) });
      if (result.failed) {
        exitCode = result.failed.exitCode;
        failed = `step ${result.failed.seq} ${result.failed.name}${result.failed.host ? ` on ${result.failed.host}` : ''}: ${result.failed.error}`;
      }
    }
    const db = ctx.db('dbaas');
    const record = await instanceRecord(db, await findCustins(db, String(w.custinsId)));
    const out = { ...record, clone_of: { instance: p.source.ins_name, backup_id: p.recovery.set.id, time: p.recovery.time ? iso(p.recovery.time) : null, binlogs: p.recovery.files.length } };
    if (opts.output === 'json') ctx.io.out(JSON.stringify(out, null, 2) + '\n');
    else printSections(ctx.io, opts.output, [recordSection(record), { title: 'Clone of', fields: Object.entries(out.clone_of) as Array<[string, unknown]> }], out);
    if (failed) ctx.io.err(`rdsctl: ${w.insName}: clone failed at ${failed}; fix the cause, then \`rdsctl instance step ${w.insName} resume\`\n`);
    return { value: exitCode, ok: failed === null, exitCode, detail: { ins_name: w.insName, task_id: w.taskId, ...(failed ? { failed } : {}) } };
  });
}
