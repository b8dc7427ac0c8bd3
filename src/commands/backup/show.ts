import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import type { Manifest } from '../../backup/manifest.js';
import { readManifest } from '../../backup/ops.js';
import { getSet, parseBackupId } from '../../backup/sets.js';
import { backupRecord } from '../../backup/view.js';

// `rdsctl backup show ID`: the set's record, its manifest from the store (files and checksums)
// and its last verification.

export interface Options {
  id: number;
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<id>', 'backup set id (see `rdsctl backup list`)')
    .addHelpText('after', '\nJSON: {backup: <set record>, manifest: <manifest.json from the store> | null, manifest_error}.\n' + examples('rdsctl backup show 12', 'rdsctl backup show 12 -o json'))
    .action(async (id: string, o: { output: string }) => {
      const opts: Options = { id: parseBackupId(id), output: parseOutput(o.output) };
      return run((ctx) => show(opts, ctx));
    });
}

export async function show(opts: Options, ctx: Context): Promise<void> {
  const set = await getSet(ctx.db('dbaas'), opts.id);
  const rec = backupRecord(set);
  let manifest: Manifest | null = null;
  let manifestError: string | null = null;
  if (set.store_host && set.status !== 'deleted') {
    try {
      manifest = await readManifest(ctx, set);
      if (!manifest) manifestError = 'no manifest.json in the store: the set is incomplete and is never restored';
    } catch (e) {
      manifestError = e instanceof Error ? e.message : String(e);
    }
  }
  printSections(
    ctx.io,
    opts.output,
    [
      { title: 'Backup set', fields: Object.entries(rec) as Array<[string, unknown]> },
      {
        title: 'Manifest',
        fields: manifest
          ? [['format', manifest.format], ['kind', manifest.kind], ['source', `${manifest.source_role} ${manifest.source_host}`], ['start_time', manifest.start_time], ['end_time', manifest.end_time], ['start_gtid', manifest.start_gtid], ['end_gtid', manifest.end_gtid], ['binlog', `${manifest.binlog_file ?? '-'}:${manifest.binlog_pos ?? '-'}`], ['size_bytes', manifest.size_bytes], ['encrypted', manifest.encrypted], ['files', manifest.files.length]]
          : [['error', manifestError ?? 'not in the store']],
      },
      { title: 'Files', table: { headers: ['PATH', 'SIZE', 'SHA256'], rows: (manifest?.files ?? []).map((f) => [f.path, f.size, f.sha256]) }, empty: '(none)' },
    ],
    { backup: rec, manifest, manifest_error: manifestError },
  );
}
