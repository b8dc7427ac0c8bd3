import path from 'node:path';
import type { ExecResult } from '../remote/ssh-types.js';
import { planCopy, planRcopy, RCOPY_MARK, rcopyStatus, unpackRcopy } from './copy.js';
import type { RemoteRun } from './fanout.js';

// The fan-out's file options, shared by go2nc and go2vm: clush's --copy/--rcopy/--dest and pssh's
// --outdir/--errdir (flags in commands/shared/transfer-flags.ts), turned into a fan-out's parts.

export interface TransferFlags {
  copy?: string[];
  rcopy?: string[];
  dest?: string;
  outdir?: string;
  errdir?: string;
}

/** Largest archive one host may send back with --rcopy (base64 text held until unpacked). */
export const MAX_RCOPY_BYTES = 256 * 1024 * 1024;

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
