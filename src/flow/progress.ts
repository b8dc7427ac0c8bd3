import type { IO } from '../core/io.js';
import { paint, termSafe } from '../core/output.js';
import type { Progress, StepEvent } from './engine.js';

// Progress of a running task on stderr: one line per step, "[n/80] step_name  host  took (elapsed)".

export function secondsText(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function formatStep(e: StepEvent): string {
  const n = `[${String(e.seq).padStart(String(e.total).length)}/${e.total}]`;
  const elapsed = `(${secondsText(e.elapsedMs)})`;
  if (e.status === 'skipped') return `${n} ${e.name}  skipped: ${e.detail ?? ''}  ${elapsed}`;
  if (e.status === 'failed') return `${n} ${e.name}  FAILED${e.host ? ` on ${e.host}` : ''}: ${e.detail ?? ''}  ${elapsed}`;
  return `${n} ${e.name}${e.host ? `  ${e.host}` : ''}  ${secondsText(e.ms)}  ${elapsed}`;
}

export function stderrProgress(io: IO, prefix = ''): Progress {
  return {
    step(e) {
      const tone = e.status === 'failed' ? 'bad' : e.status === 'skipped' ? 'dim' : undefined;
      io.err(prefix + paint(termSafe(formatStep(e)), tone, io.errPalette) + '\n');
    },
  };
}
