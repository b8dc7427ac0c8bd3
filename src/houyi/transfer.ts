import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import type { ExecResult } from '../remote/ssh-types.js';
import { planCopy, planRcopy, RCOPY_MARK, rcopyStatus, unpackRcopy } from './copy.js';
import type { RemoteRun } from './fanout.js';

// The fan-out's file options, shared by go2nc and go2vm: clush's --copy/--rcopy/--dest and pssh's
// --outdir/--errdir. Parsed and checked before any metadb or SSH work.

export interface TransferFlags {
  copy?: string[];
  rcopy?: string[];
  dest?: string;
  outdir?: string;
  errdir?: string;
}

/** Largest archive one host may send back with --rcopy (base64 text held until unpacked). */
export const MAX_RCOPY_BYTES = 256 * 1024 * 1024;

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

export function isTransfer(t: TransferFlags): boolean {
  return t.copy !== undefined || t.rcopy !== undefined;
}

/** What a copy changes in a fan-out: the command, the payload, the audit detail, the per-host step. */
export type TransferRun = Pick<RemoteRun, 'command' | 'stdin' | 'stdinIsPayload' | 'detail' | 'captureStdoutBytes' | 'onHost' | 'hiddenStderrPrefix' | 'outdir' | 'errdir'> & {
  /** Lines for --dry-run. */
  notes: string[];
};

export function transferRun(t: TransferFlags, command: string): TransferRun {
  const files = { ...(t.outdir ? { outdir: t.outdir } : {}), ...(t.errdir ? { errdir: t.errdir } : {}) };
  if (t.copy) {
    const plan = planCopy(t.copy, t.dest!);
    return {
      ...files,
      command: plan.command,
      stdin: plan.payload,
      stdinIsPayload: true,
      detail: { copy: plan.sources, dest: plan.dest, bytes: plan.bytes },
      notes: [`copies ${plan.sources.join(', ')} (${plan.bytes} bytes as tar) into ${plan.dest} on every host`],
    };
  }
  if (t.rcopy) {
    const dest = path.resolve(t.dest!);
    const plan = planRcopy(t.rcopy, dest);
    return {
      ...files,
      command: plan.command,
      detail: { rcopy: plan.sources, dest },
      captureStdoutBytes: MAX_RCOPY_BYTES,
      hiddenStderrPrefix: RCOPY_MARK,
      onHost: (r: ExecResult) => {
        const st = rcopyStatus(r.stderr);
        r.stderr = st.stderr.replace(/^\n$/, '');
        if (r.category === null && st.tarExit !== 0) {
          r.category = 'exit';
          r.exitCode = st.tarExit ?? 255;
          r.error = `tar on the host exited ${st.tarExit ?? '(unknown)'}`;
        }
        if (r.category === null) {
          try {
            if (r.truncated) throw new Error(`more than ${MAX_RCOPY_BYTES} bytes`);
            unpackRcopy(plan, r.host, r.stdout);
          } catch (e) {
            r.category = 'error';
            r.error = `rcopy: ${(e as Error).message}`;
          }
        }
        // The archive is data, not output: nothing of it is shown or kept.
        r.stdout = '';
      },
      notes: [`copies ${plan.sources.join(', ')} from every host into ${dest} as NAME.HOST`],
    };
  }
  return { ...files, command, notes: [] };
}
