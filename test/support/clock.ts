import type { Clock } from '../../src/core/clock.js';

/**
 * A clock that only moves when the test says so: sleepers wake in deadline order as advance()
 * passes their deadline, so lease expiry, renewal and step timeouts are tested without sleeping.
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly sleepers: Array<{ at: number; seq: number; wake: () => void }> = [];

  constructor(start = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.t = start;
  }

  now(): Date {
    return new Date(this.t);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const entry = { at: this.t + ms, seq: this.seq++, wake: () => resolve() };
      this.sleepers.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.sleepers.indexOf(entry);
          if (i >= 0) this.sleepers.splice(i, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Move time forward, waking every sleeper whose deadline is passed (and letting it run) on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.sleepers[0];
      if (!next || next.at > end) break;
      this.sleepers.shift();
      this.t = Math.max(this.t, next.at);
      next.wake();
    }
    this.t = end;
    await settle();
  }

  /** How many sleepers are waiting (a test can wait for a step to reach its sleep). */
  get waiting(): number {
    return this.sleepers.length;
  }
}

/** Let every pending promise callback run (a few macrotask turns). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}
