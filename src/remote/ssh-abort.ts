// Abort and timeout plumbing shared by the connection, exec and fan-out parts of the ssh2 pool.
import { setMaxListeners } from 'node:events';
import type { FailureCategory } from './ssh-types.js';

/** A failure of ssh itself (not of the remote command), with its category. */
export class HopFailure extends Error {
  constructor(
    readonly category: FailureCategory,
    message: string,
  ) {
    super(message);
  }
}

/** Listen on several signals at once; returns the function that stops listening. */
export function onAbort(signals: AbortSignal[], fn: () => void): () => void {
  if (signals.length === 0) return () => undefined;
  const handler = (): void => fn();
  // One listener per command in flight is by design (bounded by the fan-out window), not a leak.
  for (const s of signals) {
    setMaxListeners(0, s);
    s.addEventListener('abort', handler, { once: true });
  }
  if (signals.some((s) => s.aborted)) queueMicrotask(fn);
  return () => {
    for (const s of signals) s.removeEventListener('abort', handler);
  };
}

/** `p`, or a HopFailure('interrupted') as soon as one of the signals fires. */
export function raceAbort<T>(p: Promise<T>, signals: AbortSignal[]): Promise<T> {
  if (signals.length === 0) return p;
  return new Promise<T>((resolve, reject) => {
    const off = onAbort(signals, () => reject(new HopFailure('interrupted', 'interrupted before it started')));
    p.then(
      (v) => {
        off();
        resolve(v);
      },
      (e: unknown) => {
        off();
        reject(e);
      },
    );
  });
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
