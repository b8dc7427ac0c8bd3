import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { TransferFlags } from '../../houyi/transfer.js';

// go2nc/go2vm file flags, parsed and checked before any metadb or SSH work.

export function addTransferOptions(cmd: Command): Command {
  return cmd
    .option('--copy <src...>', 'copy local files or directories to every host (into --dest), like clush --copy')
    .option('--rcopy <src...>', 'copy files or directories from every host into local --dest as NAME.HOST, like clush --rcopy')
    .option('--dest <dir>', 'with --copy: the directory on the hosts; with --rcopy: the local directory')
    .option('--outdir <dir>', "write each host's stdout to DIR/HOST as well (pssh -o)")
    .option('--errdir <dir>', "write each host's stderr to DIR/HOST as well (pssh -e)");
}

export function parseTransfer(o: Record<string, unknown>, command: string[]): TransferFlags {
  const list = (v: unknown): string[] | undefined => (Array.isArray(v) ? (v as string[]) : undefined);
  const out: TransferFlags = {};
  const copy = list(o.copy);
  const rcopy = list(o.rcopy);
  if (copy && rcopy) throw new UsageError('--copy and --rcopy do not combine: run them one after the other');
  if ((copy || rcopy) && command.length > 0) throw new UsageError(`--${copy ? 'copy' : 'rcopy'} takes no command after --`);
  if ((copy || rcopy) && typeof o.dest !== 'string') throw new UsageError(`--${copy ? 'copy' : 'rcopy'} needs --dest DIR`);
  if (!copy && !rcopy && o.dest !== undefined) throw new UsageError('--dest goes with --copy or --rcopy');
  if (copy) out.copy = copy;
  if (rcopy) out.rcopy = rcopy;
  if (typeof o.dest === 'string') out.dest = o.dest;
  for (const k of ['outdir', 'errdir'] as const) {
    const v = o[k];
    if (typeof v === 'string') {
      if (v.trim() === '') throw new UsageError(`--${k}: empty directory name`);
      out[k] = path.resolve(v);
    }
  }
  return out;
}

