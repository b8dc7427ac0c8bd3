import net from 'node:net';

// "Does it answer?": a TCP connect to the node's service port, nothing sent. A refused or
// timed-out connect is "down"; the reason is kept for the operator.

export interface ProbeResult {
  live: 'up' | 'down';
  /** Connect time for up, time until giving up for down. */
  ms: number;
  /** Why it is down: ECONNREFUSED, timeout after 2000ms, EHOSTUNREACH … */
  error: string | null;
}

export function tcpProbe(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let done = false;
    const finish = (error: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve({ live: error === null ? 'up' : 'down', ms: Math.round(performance.now() - started), error });
    };
    const onAbort = (): void => finish('interrupted');
    const timer = setTimeout(() => finish(`timeout after ${timeoutMs}ms`), timeoutMs);
    sock.once('connect', () => finish(null));
    sock.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
