import type { Clock } from '../core/clock.js';
import { describeError, RemoteError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import { openInstance, type InstanceSession } from '../remote/mysql-instance.js';
import type { SshPool } from '../remote/ssh-types.js';
import { SUPERUSER, secretOf } from '../rds/accounts.js';
import { hostReadScript, parseHostRead } from './host.js';
import { computeMetrics, emptyMetrics, STATUS_VARS, type HostReading, type Reading, type StatusVar } from './metrics.js';
import type { DbSizeRow, SampleRow } from './store.js';
import type { MonitorTarget } from './targets.js';
import { instanceTrust } from '../rds/instance-tls.js';

// Reads instances and keeps what a reading needs between samples: one MySQL connection per
// physical instance (opened on first use, kept across samples, dropped after a failure and opened
// again on the next sample), the previous reading for the rates, and the SSH pool's one cached
// connection per NC. No process is started per sample.

export interface CollectorOptions {
  dbaas: Db;
  clock: Clock;
  /** null: no host metrics (CPU, memory, disk). */
  ssh: SshPool | null;
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
  /** Instances read at once. */
  concurrency?: number;
  signal?: AbortSignal;
}

interface Conn {
  session: InstanceSession;
  statements: number;
  /** Handler reads this connection's status reads cost the server (rows + 1 each). */
  statusRows: number;
}

const STATUS_SQL = `SELECT VARIABLE_NAME AS n, VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN (${STATUS_VARS.map((v) => `'${v}'`).join(', ')})`;

const SYSTEM_DBS = ['mysql', 'information_schema', 'performance_schema', 'sys'];
// Every user database, also an empty one (no row in TABLES).
const DB_SIZE_SQL = `SELECT s.SCHEMA_NAME AS db, COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0) AS bytes, COUNT(t.TABLE_NAME) AS tables
  FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME
 WHERE s.SCHEMA_NAME NOT IN (${SYSTEM_DBS.map((d) => `'${d}'`).join(', ')}) GROUP BY s.SCHEMA_NAME`;

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new RemoteError(`${what}: no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class Collector {
  private readonly conns = new Map<number, Promise<Conn>>();
  private readonly prev = new Map<number, Reading>();
  private readonly prevHost = new Map<number, HostReading>();
  private readonly passwords = new Map<number, string>();
  /** Logins so far: with every connection kept, this stays at the number of instances round after round. */
  opened = 0;

  constructor(private readonly o: CollectorOptions) {}

  private async conn(t: MonitorTarget): Promise<Conn> {
    let p = this.conns.get(t.instanceId);
    if (!p) {
      p = (async () => {
        let password = this.passwords.get(t.custinsId);
        if (password === undefined) {
          password = await secretOf(this.o.dbaas, t.custinsId, SUPERUSER);
          this.passwords.set(t.custinsId, password);
        }
        const session = await openInstance({ name: `${t.insName} ${t.role} on ${t.host}`, host: t.ip, port: t.port, user: SUPERUSER, password, tls: await instanceTrust(this.o.dbaas, t.custinsId, t.insName), connectTimeoutMs: this.o.connectTimeoutMs ?? 3000 });
        this.opened++;
        return { session, statements: 0, statusRows: 0 };
      })();
      this.conns.set(t.instanceId, p);
      p.catch(() => {
        // A changed password must be read again; the next sample retries the login.
        this.passwords.delete(t.custinsId);
        if (this.conns.get(t.instanceId) === p) this.conns.delete(t.instanceId);
      });
    }
    return p;
  }

  private drop(id: number): void {
    const p = this.conns.get(id);
    this.conns.delete(id);
    this.prev.delete(id);
    if (p) void p.then((c) => c.session.close(), () => undefined);
  }

  /** A query on the instance's kept connection, counted (the server counts it in Questions too). */
  private async q<T>(t: MonitorTarget, sql: string): Promise<T[]> {
    const c = await this.conn(t);
    c.statements++;
    return withTimeout(c.session.query<T>(sql), this.o.queryTimeoutMs ?? 5000, `${t.insName} ${t.role} ${t.ip}:${t.port}`, () => this.drop(t.instanceId));
  }

  /** One reading of the server's counters and replication state. Throws on failure (the connection is dropped). */
  async read(t: MonitorTarget): Promise<Reading> {
    try {
      const rows = await this.q<{ n: string; v: string }>(t, STATUS_SQL);
      const c = await this.conn(t);
      const at = this.o.clock.now().getTime();
      const own = c.statements;
      c.statusRows += rows.length + 1;
      const ownRows = c.statusRows;
      const status: Reading['status'] = {};
      for (const r of rows) status[String(r.n).toUpperCase() as StatusVar] = String(r.v);
      const st = (await this.q<Record<string, unknown>>(t, 'SHOW SLAVE STATUS'))[0];
      const replica = st
        ? {
            io: String(st.Slave_IO_Running ?? ''),
            sql: String(st.Slave_SQL_Running ?? ''),
            lagSec: st.Seconds_Behind_Master === null || st.Seconds_Behind_Master === undefined || st.Seconds_Behind_Master === '' ? null : Number(st.Seconds_Behind_Master),
          }
        : null;
      return { at, status, replica, ownStatements: own, ownRows };
    } catch (e) {
      this.drop(t.instanceId);
      throw e;
    }
  }

  /** Host readings of these targets, one SSH command per NC. Failures leave instances out (their host metrics are null). */
  async readHosts(targets: MonitorTarget[], sizes: boolean): Promise<Map<number, HostReading>> {
    const out = new Map<number, HostReading>();
    if (!this.o.ssh || targets.length === 0) return out;
    const byNc = new Map<string, MonitorTarget[]>();
    for (const t of targets) {
      const k = `${t.ssh.address}:${t.ssh.port ?? ''}`;
      const list = byNc.get(k);
      if (list) list.push(t);
      else byNc.set(k, [t]);
    }
    const ssh = this.o.ssh;
    await mapLimit([...byNc.values()], 16, async (list) => {
      const r = await ssh.exec(list[0]!.ssh, hostReadScript(list.map((t) => ({ instanceId: t.instanceId, layout: t.layout })), { sizes }), { timeoutSec: 20, maxOutputBytes: 1 << 20, ...(this.o.signal ? { signal: this.o.signal } : {}) });
      if (r.category !== null && r.category !== 'exit') return;
      for (const [id, h] of parseHostRead(r.stdout, this.o.clock.now().getTime())) out.set(id, h);
    });
    return out;
  }

  /** Sample every target: a row each, ok with metrics or a gap with the error. */
  /** `sizes`: also du the datadirs and binlogs this round (the monitor does it every --disk-interval). */
  async sample(targets: MonitorTarget[], o: { sizes: boolean }): Promise<SampleRow[]> {
    const hostP = this.readHosts(targets, o.sizes);
    const readings = await mapLimit(targets, this.o.concurrency ?? 32, async (t) => {
      try {
        return { t, reading: await this.read(t), error: null };
      } catch (e) {
        return { t, reading: null, error: describeError(e).message };
      }
    });
    const hosts = await hostP;
    return readings.map(({ t, reading, error }) => {
      const ts = new Date(reading?.at ?? this.o.clock.now().getTime());
      if (!reading) {
        this.prev.delete(t.instanceId);
        return { instanceId: t.instanceId, custinsId: t.custinsId, ts, ok: false, error, intervalMs: null, metrics: emptyMetrics() };
      }
      const prev = this.prev.get(t.instanceId) ?? null;
      const host = hosts.get(t.instanceId) ?? null;
      const metrics = computeMetrics(reading, prev, host, this.prevHost.get(t.instanceId) ?? null);
      this.prev.set(t.instanceId, reading);
      if (host) this.prevHost.set(t.instanceId, host);
      else this.prevHost.delete(t.instanceId);
      return { instanceId: t.instanceId, custinsId: t.custinsId, ts, ok: true, error: null, intervalMs: prev ? reading.at - prev.at : null, metrics };
    });
  }

  /** Read counters only, to have a previous reading for the first sample's rates. */
  async prime(targets: MonitorTarget[]): Promise<void> {
    await this.sample(targets, { sizes: false });
  }

  /** Sizes of the user databases, read on masters. Failures are skipped (the next round tries again). */
  async dbSizes(masters: MonitorTarget[]): Promise<DbSizeRow[]> {
    const rows = await mapLimit(masters, this.o.concurrency ?? 32, async (t) => {
      try {
        const r = await this.q<{ db: string; bytes: number | string; tables: number | string }>(t, DB_SIZE_SQL);
        const ts = this.o.clock.now();
        return r.map((x) => ({ custinsId: t.custinsId, dbName: String(x.db), ts, sizeBytes: Number(x.bytes), tables: Number(x.tables) }));
      } catch {
        return [];
      }
    });
    return rows.flat();
  }

  /** Keep connections only for these instances (after shards moved to another monitor). */
  retain(ids: Set<number>): void {
    for (const id of [...this.conns.keys()]) if (!ids.has(id)) this.drop(id);
    for (const id of [...this.prevHost.keys()]) if (!ids.has(id)) this.prevHost.delete(id);
  }

  connections(): number {
    return this.conns.size;
  }

  async close(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(all.map((p) => p.then((c) => c.session.close(), () => undefined)));
  }
}
