import type { Readable } from 'node:stream';
import type { StdinSource } from '../remote/ssh-types.js';

// clush's stdin forwarding: what rdsctl reads on its stdin goes to every host's command, including
// hosts that start later in the fan-out window (they get everything read so far first). Input is
// kept in memory up to a cap; each channel is written at its own pace ('drain'), so one slow host
// does not make rdsctl buffer the input once per host. Reading starts with the first host, and a
// command that never reads its stdin (uptime) finishes without waiting for local EOF, as with ssh.

/** Most input one fan-out forwards; a bigger payload is a file to --copy. */
export const MAX_STDIN_BYTES = 64 * 1024 * 1024;

interface Sink {
  w: NodeJS.WritableStream;
  next: number;
  waiting: boolean;
  ended: boolean;
}

export class StdinFeed implements StdinSource {
  private readonly chunks: Buffer[] = [];
  private readonly sinks = new Set<Sink>();
  private bytes = 0;
  private ended = false;
  private started = false;
  /** Set when the input went past MAX_STDIN_BYTES: the hosts got EOF early, the run must fail. */
  overflow = false;

  constructor(
    private readonly src: Readable,
    private readonly max = MAX_STDIN_BYTES,
  ) {}

  private readonly onData = (b: Buffer): void => {
    this.bytes += b.length;
    if (this.bytes > this.max) {
      this.overflow = true;
      this.finishInput();
      return;
    }
    this.chunks.push(b);
    for (const s of this.sinks) this.pump(s);
  };

  private readonly onEnd = (): void => this.finishInput();

  private finishInput(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopReading();
    for (const s of this.sinks) this.pump(s);
  }

  private stopReading(): void {
    this.src.removeListener('data', this.onData);
    this.src.removeListener('end', this.onEnd);
    this.src.removeListener('error', this.onEnd);
    this.src.pause();
  }

  private pump(s: Sink): void {
    if (s.waiting || s.ended) return;
    while (s.next < this.chunks.length) {
      const ok = s.w.write(this.chunks[s.next++]!);
      if (!ok) {
        s.waiting = true;
        s.w.once('drain', () => {
          s.waiting = false;
          this.pump(s);
        });
        return;
      }
    }
    if (this.ended) {
      s.ended = true;
      s.w.end();
      this.sinks.delete(s);
    }
  }

  attach(w: NodeJS.WritableStream): () => void {
    if (!this.started) {
      this.started = true;
      this.src.on('data', this.onData);
      this.src.once('end', this.onEnd);
      this.src.once('error', this.onEnd);
      this.src.resume();
    }
    const s: Sink = { w, next: 0, waiting: false, ended: false };
    this.sinks.add(s);
    this.pump(s);
    return () => {
      s.ended = true;
      this.sinks.delete(s);
    };
  }

  /** Stop reading local stdin (the run is over). */
  close(): void {
    if (this.started && !this.ended) this.stopReading();
  }
}

/** Read all of a stream, up to `max` bytes (a script for `bash` on the hosts, checked before it is sent). */
export async function readAll(src: Readable, max = MAX_STDIN_BYTES): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c as string);
    n += b.length;
    if (n > max) return null;
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
