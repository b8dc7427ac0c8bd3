import { RemoteError } from '../core/errors.js';
import type { InstallCtx } from '../flow/install/context.js';
import type { StepScope } from '../flow/types.js';
import { SUPERUSER, secretOf } from '../rds/accounts.js';
import type { Node } from '../rds/layout.js';
import type { Db } from '../remote/mysql.js';
import type { StoreScope } from './context.js';
import { BINLOG_NAME, archiveBinlogsScript, optionFile } from './scripts.js';
import { binlogDir } from './store.js';

// The log plan: closed binlogs of the master copied to the store, one binlog_archive row each,
// with the GTID position before the file, its last GTID and its first and last event times.
// Together with the full sets they make the recoverable window.

export interface ArchivedBinlog {
  id: number;
  custins_id: number;
  host_name: string;
  file_name: string;
  store_path: string;
  size_bytes: number;
  sha256: string;
  start_gtid: string | null;
  last_gtid: string | null;
  first_event_time: Date | null;
  last_event_time: Date | null;
  encrypted: number;
}

export async function archivedBinlogs(db: Db, custinsId: number): Promise<ArchivedBinlog[]> {
  return db.query<ArchivedBinlog>(
    `SELECT id, custins_id, host_name, file_name, store_path, size_bytes, sha256, start_gtid, last_gtid, first_event_time, last_event_time, encrypted
       FROM binlog_archive WHERE custins_id = ? AND status = 'archived' ORDER BY first_event_time, host_name, file_name`,
    [custinsId],
  );
}

export function binlogSeq(name: string): number {
  return Number(name.slice(name.lastIndexOf('.') + 1));
}

export interface ArchiveResult {
  host: string;
  archived: string[];
  /** Closed binlogs already in the store. */
  present: number;
  active: string | null;
}

/**
 * One pass of the log plan on the master: optionally rotate (FLUSH BINARY LOGS, so the window
 * reaches now), then copy every closed binlog not yet archived. Idempotent: a file already
 * recorded is skipped; a copy cut off half-way is redone (the store keeps it under .tmp until
 * its sha256 matched).
 */
/** What an archive pass needs: a flow's step context has it, and so does `backup archive`. */
export type ArchiveDeps = Pick<InstallCtx, 'custins' | 'master' | 'db' | 'profile' | 'suSql' | 'remote' | 'tx'> & Pick<StoreScope, 'store'>;

export async function archivePass(c: ArchiveDeps, s: StepScope, o: { rotate: boolean; node?: Node }): Promise<ArchiveResult> {
  const n = o.node ?? c.master;
  const pre = o.rotate ? ['FLUSH BINARY LOGS'] : [];
  const logs = await c.suSql(n, [...pre, 'SHOW BINARY LOGS']);
  const names = logs.map((r) => r.Log_name ?? '').filter((x) => BINLOG_NAME.test(x));
  const active = names[names.length - 1] ?? null;
  const closed = names.slice(0, -1);
  const have = new Set((await c.db.query<{ file_name: string }>('SELECT file_name FROM binlog_archive WHERE custins_id = ? AND host_name = ?', [c.custins.id, n.host])).map((r) => r.file_name));
  const todo = closed.filter((x) => !have.has(x));
  if (!todo.length) return { host: n.host, archived: [], present: closed.length, active };
  const enc = (await c.suSql(n, ['SELECT @@GLOBAL.encrypt_binlog AS e']))[0]?.e === '1';
  const dir = binlogDir(c.store, c.custins.ins_name);
  const pw = await secretOf(c.db, c.custins.id, SUPERUSER);
  const out = await c.remote(n, archiveBinlogsScript(c.profile, c.store, n.host, n.layout, dir, todo, { viaServer: enc, ip: n.ip, port: n.port }), s, { stdin: optionFile(n.layout, SUPERUSER, pw), timeoutSec: 1800 });
  const rows = out.split('\n').filter(Boolean).map((line) => {
    const [name, size, sha, startGtid, lastGtid, first, last, encrypted] = line.split('\t');
    if (!name || !BINLOG_NAME.test(name) || !/^[0-9a-f]{64}$/.test(sha ?? '')) throw new RemoteError(`${n.host}: unexpected archive line: ${line.slice(0, 120)}`);
    return [c.custins.id, n.instanceId, n.host, name, c.store.host, `${dir}/${name}`, Number(size), sha, startGtid || null, lastGtid || null, first || null, last || null, encrypted === '1' ? 1 : 0];
  });
  if (rows.length) {
    await c.tx((tx) =>
      tx.execute(
        `INSERT INTO binlog_archive (custins_id, instance_id, host_name, file_name, store_host, store_path, size_bytes, sha256, start_gtid, last_gtid, first_event_time, last_event_time, encrypted) VALUES ?
         ON DUPLICATE KEY UPDATE size_bytes = VALUES(size_bytes), sha256 = VALUES(sha256), start_gtid = VALUES(start_gtid), last_gtid = VALUES(last_gtid),
           first_event_time = VALUES(first_event_time), last_event_time = VALUES(last_event_time), encrypted = VALUES(encrypted), status = 'archived'`,
        [rows],
      ),
    );
  }
  return { host: n.host, archived: rows.map((r) => String(r[3])), present: closed.length - todo.length, active };
}

/** Merge GTID positions ("0-1-5,1-2-7"): per domain the higher sequence number wins. */
export function mergeGtid(a: string | null, b: string | null): string {
  const m = new Map<string, { server: string; seq: number }>();
  for (const list of [a, b]) {
    for (const g of (list ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
      const p = /^(\d+)-(\d+)-(\d+)$/.exec(g);
      if (!p) continue;
      const cur = m.get(p[1]!);
      if (!cur || Number(p[3]) > cur.seq) m.set(p[1]!, { server: p[2]!, seq: Number(p[3]) });
    }
  }
  return [...m.entries()].sort((x, y) => Number(x[0]) - Number(y[0])).map(([d, v]) => `${d}-${v.server}-${v.seq}`).join(',');
}

function parseGtids(list: string | null): Map<string, number> {
  const m = new Map<string, number>();
  for (const g of (list ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const p = /^(\d+)-(\d+)-(\d+)$/.exec(g);
    if (p) m.set(p[1]!, Math.max(m.get(p[1]!) ?? 0, Number(p[3])));
  }
  return m;
}

/** Every domain of `a` is at or before its position in `b` (an empty `a` is before anything). */
export function gtidAtOrBefore(a: string | null, b: string | null): boolean {
  const bm = parseGtids(b);
  for (const [d, seq] of parseGtids(a)) if (seq > (bm.get(d) ?? 0)) return false;
  return true;
}

/**
 * What to feed mariadb-binlog to apply everything after GTID position `from`: files that hold
 * nothing after it are left out (mariadb-binlog refuses a start position a file never reaches),
 * a file that begins at or after it is read from its start, and the one it falls inside gets
 * --start-position.
 */
export function replayInputs(files: ArchivedBinlog[], from: string): Array<{ name: string; startPos: string | null }> {
  const out: Array<{ name: string; startPos: string | null }> = [];
  for (const f of files) {
    if (!f.last_gtid || gtidAtOrBefore(f.last_gtid, from)) continue;
    out.push({ name: f.file_name, startPos: from && !gtidAtOrBefore(from, f.start_gtid) ? from : null });
  }
  return out;
}
