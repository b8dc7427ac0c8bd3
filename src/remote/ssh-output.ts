// Output gathering for one remote command (ClusterShell's MsgTree side, per stream): bounded
// sinks, the filter that takes the remote-kill marker off stderr, and the line splitter that
// feeds per-line callbacks. Pure byte handling: no ssh2, no timers but PgidFilter.known's.

/** The marker line the exec wrapper prints on stderr before the command runs (see ssh-exec.ts). */
export const PGID_MARKER = Buffer.from('\x1eRDSCTL-PGID ');
/** A partial line longer than this is handed on as a line, so a flood without newlines stays bounded. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Bytes held while waiting for the marker; past this, the marker is given up on. */
const MAX_HELD_BYTES = 4096;

/** Collects one output stream up to `max` bytes; the rest is counted and dropped. */
export class Sink {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  dropped = 0;
  constructor(
    private readonly max: number,
    private readonly onChunk?: (b: Buffer) => void,
  ) {}

  push(b: Buffer): void {
    this.onChunk?.(b);
    const room = this.max - this.bytes;
    if (b.length <= room) {
      this.chunks.push(b);
      this.bytes += b.length;
      return;
    }
    if (room > 0) {
      // A copy, so the rest of the chunk is not kept alive by the slice.
      this.chunks.push(Buffer.from(b.subarray(0, room)));
      this.bytes += room;
    }
    this.dropped += b.length - Math.max(room, 0);
  }

  text(): string {
    return this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks, this.bytes).toString('utf8');
  }
}

/** Takes the remote shell's PID marker off stderr; every other byte passes through in order. */
export class PgidFilter {
  pgid: number | undefined;
  /** Bytes before the marker; null once it has been seen or given up on. */
  private held: Buffer | null = Buffer.alloc(0);
  private waiters: Array<(id: number | undefined) => void> = [];

  constructor(private readonly pass: (b: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.held === null) return this.pass(chunk);
    let buf = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    // Lines before the marker (a chatty .bashrc) pass through; the marker line itself is dropped.
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
      if (buf.subarray(0, PGID_MARKER.length).equals(PGID_MARKER)) {
        const id = Number(buf.subarray(PGID_MARKER.length, nl).toString('latin1'));
        this.settle(Number.isInteger(id) && id > 1 ? id : undefined);
        if (buf.length > nl + 1) this.pass(buf.subarray(nl + 1));
        return;
      }
      this.pass(buf.subarray(0, nl + 1));
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > MAX_HELD_BYTES) {
      this.settle(undefined);
      this.pass(buf);
      return;
    }
    this.held = buf;
  }

  end(): void {
    if (this.held?.length) this.pass(this.held);
    this.settle(undefined);
  }

  /** The PGID once the marker arrives, or undefined after `ms`. */
  known(ms: number): Promise<number | undefined> {
    if (this.held === null) return Promise.resolve(this.pgid);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(undefined), ms);
      this.waiters.push((id) => {
        clearTimeout(t);
        resolve(id);
      });
    });
  }

  private settle(id: number | undefined): void {
    if (this.held === null) return;
    this.held = null;
    this.pgid = id;
    for (const w of this.waiters.splice(0)) w(id);
  }
}

/** Complete lines from a byte stream, decoded as UTF-8 only once whole. */
export class LineSplitter {
  private partial: Buffer | null = null;
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      this.onLine(buf.toString('utf8', start, nl > start && buf[nl - 1] === 13 ? nl - 1 : nl));
      start = nl + 1;
    }
    buf = buf.subarray(start);
    if (buf.length > MAX_LINE_BYTES) {
      this.onLine(buf.toString('utf8'));
      buf = buf.subarray(buf.length);
    }
    this.partial = buf.length ? Buffer.from(buf) : null;
  }

  end(): void {
    if (this.partial) this.onLine(this.partial.toString('utf8'));
    this.partial = null;
  }
}

/** The last non-blank line of a stream, cut to 200 characters: what an error message quotes. */
export function lastLine(s: string): string {
  const lines = s.split('\n').filter((l) => l.trim() !== '');
  const l = lines[lines.length - 1] ?? '';
  return l.length > 200 ? `${l.slice(0, 197)}...` : l;
}
