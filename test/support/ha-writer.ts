import { openInstance, type InstanceSession } from '../../src/remote/mysql-instance.js';

// A client that writes through an endpoint and records every acknowledged write: the evidence for
// "no acknowledged write lost" across a switchover or failover. Each INSERT is autocommitted; an
// error closes the session and reconnects after 50 ms (as an application's pool would). It also
// records the longest gap between two acknowledgements (write unavailability).

export class AckedWriter {
  readonly acked: number[] = [];
  errors = 0;
  private next = 1;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private lastAck = 0;
  maxGapMs = 0;
  gaps: Array<{ from: number; to: number; ms: number }> = [];

  constructor(private readonly ep: { host: string; port: number; user: string; password: string; db: string; table: string }) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let s: InstanceSession | null = null;
    while (!this.stopped) {
      try {
        if (!s) s = await openInstance({ name: 'endpoint', host: this.ep.host, port: this.ep.port, user: this.ep.user, password: this.ep.password, connectTimeoutMs: 2000 });
        const id = this.next++;
        await s.query(`INSERT INTO \`${this.ep.db}\`.\`${this.ep.table}\` (id) VALUES (?)`, [id]);
        const now = Date.now();
        if (this.lastAck) {
          const gap = now - this.lastAck;
          if (gap > this.maxGapMs) this.maxGapMs = gap;
          if (gap > 200) this.gaps.push({ from: this.lastAck, to: now, ms: gap });
        }
        this.lastAck = now;
        this.acked.push(id);
      } catch {
        this.errors++;
        if (s) await s.close().catch(() => undefined);
        s = null;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (s) await s.close().catch(() => undefined);
  }

  async waitAcks(n: number, ms = 60_000): Promise<void> {
    const want = this.acked.length + n;
    const end = Date.now() + ms;
    while (this.acked.length < want) {
      if (Date.now() > end) throw new Error(`writer: only ${this.acked.length}/${want} acknowledged writes within ${ms} ms (${this.errors} errors)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
