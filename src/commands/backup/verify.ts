import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { ExitCode } from '../../core/errors.js';
import { addMutationOptions, audited, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { verifySet } from '../../backup/ops.js';
import { getSet, parseBackupId } from '../../backup/sets.js';

// `rdsctl backup verify ID`: every file against the manifest's sha256, then mariadb-backup
// --prepare on a scratch copy on the store. A failed set is marked and never used by a clone.

export interface Options {
  id: number;
  prepare: boolean;
  output: OutputFormat;
  flags: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd);
  addMutationOptions(cmd)
    .argument('<id>', 'backup set id')
    .option('--no-prepare', 'checksums only (skip the scratch prepare)')
    .addHelpText(
      'after',
      '\nExit 0 when the manifest is there, every checksum matches and the prepare completed; exit 4\n' +
        'otherwise (the set is marked verify failed and no clone uses it). JSON: {id, set, store_host,\n' +
        'manifest (ok|missing|bad), files, bad_files[], checksums, prepare, prepare_detail, verify_status, error}.\n' +
        examples('rdsctl backup verify 12', 'rdsctl backup verify 12 --no-prepare -o json'),
    )
    .action(async (id: string, o: { output: string; prepare: boolean; dryRun?: boolean; reason?: string }) => {
      const opts: Options = { id: parseBackupId(id), prepare: o.prepare, output: parseOutput(o.output), flags: parseMutationFlags(o) };
      return run((ctx) => verify(opts, ctx));
    });
}

export async function verify(opts: Options, ctx: Context): Promise<number> {
  if (opts.flags.dryRun) {
    const set = await getSet(ctx.db('dbaas'), opts.id);
    printPlan(
      ctx,
      {
        action: 'verify backup set',
        targets: [`backup ${set.id} (${set.ins_name} ${set.backup_set} on ${set.store_host ?? set.host_name})`],
        sql: [{ db: 'dbaas', statement: 'UPDATE baklist SET verify_status = ?, verify_error = ?, gmt_verified = UTC_TIMESTAMP() WHERE id = ?', params: ['<ok|failed>', '<error>', set.id] }],
        remote: [
          { host: set.store_host ?? set.host_name, command: `cd ${set.backup_dir} && <each listed file: openssl dgst -sha256, compared with its line; fails on any mismatch, missing file or bad line>  # stdin: the manifest's checksums` },
          ...(opts.prepare ? [{ host: set.store_host ?? set.host_name, command: 'cp -a <set> <scratch>; mariadb-backup --prepare --target-dir=<scratch>; rm -rf <scratch>' }] : []),
        ],
      },
      opts.output === 'json' ? 'json' : 'text',
    );
    return ExitCode.OK;
  }
  // Audited: it writes the verdict into baklist.
  const r = await audited(ctx, { command: 'backup verify', targets: [`backup ${opts.id}`], reason: opts.flags.reason }, async () => {
    const v = await verifySet(ctx, opts.id, { prepare: opts.prepare });
    return { value: v, ok: v.verify_status === 'ok', exitCode: v.verify_status === 'ok' ? 0 : ExitCode.UNHEALTHY, detail: { verify_status: v.verify_status, error: v.error } };
  });
  printSections(
    ctx.io,
    opts.output,
    [
      {
        title: `Backup set ${r.id}`,
        fields: [['set', r.set], ['store', r.store_host], ['manifest', r.manifest], ['files', r.files], ['checksums', r.checksums], ['bad files', r.bad_files.join(', ') || null], ['prepare', r.prepare], ['prepare detail', r.prepare_detail], ['verdict', r.verify_status], ['error', r.error]],
      },
    ],
    r,
  );
  if (r.verify_status !== 'ok') ctx.io.err(`rdsctl: backup set ${r.id} failed verification: ${r.error}\n`);
  return r.verify_status === 'ok' ? ExitCode.OK : ExitCode.UNHEALTHY;
}
