import type { Context } from '../core/context.js';
import { ConflictError, RdsctlError, RemoteError } from '../core/errors.js';
import type { StepScope } from '../flow/types.js';
import { findCustins, instanceRows, type CustinsRow } from '../rds/custins.js';
import { superuserSession, type SqlRow } from '../rds/instance-sql.js';
import { toNode, type Node } from '../rds/layout.js';
import type { SshPool } from '../remote/ssh-types.js';
import { archivePass, type ArchiveDeps, type ArchiveResult } from './binlogs.js';
import { checkList, parseManifest, type Manifest } from './manifest.js';
import { checkSumsScript, prepareScratchScript, readManifestScript, removeSetScript } from './scripts.js';
import { getSet, lastGoodFull, type BackupSetRow } from './sets.js';
import { keyDir, setDir, storeOf, type Store } from './store.js';

// Backup operations that are not flows: verify a set, delete one, run one pass of the log plan.
// They return results; the commands print, confirm and audit.

export interface VerifyResult {
  id: number;
  set: string;
  store_host: string;
  manifest: 'ok' | 'missing' | 'bad';
  files: number;
  bad_files: string[];
  checksums: 'ok' | 'failed' | 'skipped';
  prepare: 'ok' | 'failed' | 'skipped';
  prepare_detail: string | null;
  verify_status: 'ok' | 'failed';
  error: string | null;
}

function scope(ctx: Context): StepScope {
  return { signal: ctx.signal, attempt: 0 };
}

async function onStore(ssh: SshPool, store: Store, command: string, ctx: Context, o: { stdin?: string; timeoutSec?: number } = {}): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await ssh.exec(store.target, command, { signal: ctx.signal, timeoutSec: o.timeoutSec ?? 600, ...(o.stdin === undefined ? {} : { stdin: o.stdin }) });
  if (r.category && r.category !== 'exit') throw new RemoteError(`backup store ${store.host}: ${r.error ?? r.category}`, { host: store.host });
  return { ok: r.exitCode === 0, out: r.stdout, err: r.stderr };
}

function storeSetDir(ctx: Context, set: BackupSetRow): { store: Store; dir: string } {
  if (!set.store_host) throw new ConflictError(`backup set ${set.id} is the install's copy on ${set.host_name}, not a set in the backup store`);
  const store = storeOf(ctx.profile());
  if (store.host !== set.store_host) throw new ConflictError(`backup set ${set.id} is on store ${set.store_host}; this profile's store is ${store.host}`);
  return { store, dir: setDir(store, set.ins_name, set.backup_set) };
}

export async function readManifest(ctx: Context, set: BackupSetRow): Promise<Manifest | null> {
  const { store, dir } = storeSetDir(ctx, set);
  const r = await onStore(await ctx.ssh(), store, readManifestScript(dir), ctx);
  return r.ok ? parseManifest(r.out, `${store.host}:${dir}`) : null;
}

/** Checksums of every file against the manifest, then mariadb-backup --prepare of a scratch copy on the store. */
export async function verifySet(ctx: Context, id: number, o: { prepare: boolean }): Promise<VerifyResult> {
  const db = ctx.db('dbaas');
  const set = await getSet(db, id);
  const { store, dir } = storeSetDir(ctx, set);
  const ssh = await ctx.ssh();
  const res: VerifyResult = { id, set: set.backup_set, store_host: store.host, manifest: 'ok', files: 0, bad_files: [], checksums: 'skipped', prepare: 'skipped', prepare_detail: null, verify_status: 'failed', error: null };
  let m: Manifest | null = null;
  try {
    m = await readManifest(ctx, set);
    if (!m) res.manifest = 'missing';
    else if (m.backup_id !== set.id || m.set !== set.backup_set) res.manifest = 'bad';
  } catch (e) {
    if (!(e instanceof RdsctlError) || e.exitCode !== 4) throw e;
    res.manifest = 'bad';
    res.error = e.message;
  }
  if (m && res.manifest === 'ok') {
    res.files = m.files.length;
    const r = await onStore(ssh, store, checkSumsScript(dir), ctx, { stdin: checkList(m), timeoutSec: 1800 });
    res.checksums = r.ok ? 'ok' : 'failed';
    if (!r.ok) res.bad_files = (r.out + r.err).split('\n').map((l) => /^\.?\/?(.+?): (FAILED|No such file|FAILED open or read)/.exec(l)?.[1] ?? '').filter(Boolean);
    if (r.ok && o.prepare) {
      const key = m.encrypted && m.key_id ? `${keyDir(store, set.ins_name)}/${m.key_id}` : null;
      const p = await onStore(ssh, store, prepareScratchScript(store.dir, dir, key), ctx, { timeoutSec: 3600 });
      res.prepare = p.ok ? 'ok' : 'failed';
      res.prepare_detail = (p.ok ? p.out : p.err).trim().split('\n').slice(-3).join(' | ') || null;
    }
  }
  const ok = res.manifest === 'ok' && res.checksums === 'ok' && res.prepare !== 'failed';
  res.verify_status = ok ? 'ok' : 'failed';
  if (!ok && !res.error) {
    res.error =
      res.manifest !== 'ok'
        ? `manifest ${res.manifest}: the set is incomplete and never restored`
        : res.checksums === 'failed'
          ? `checksum mismatch: ${res.bad_files.slice(0, 5).join(', ') || 'see the store'}`
          : `mariadb-backup --prepare failed: ${res.prepare_detail ?? ''}`;
  }
  await db.execute('UPDATE baklist SET verify_status = ?, verify_error = ?, gmt_verified = UTC_TIMESTAMP() WHERE id = ?', [res.verify_status, res.error ? res.error.slice(0, 1024) : null, id]);
  return res;
}

export interface DeletePlan {
  set: BackupSetRow;
  store: Store;
  dir: string;
  /** This is the newest good full set of its instance. */
  lastGoodFull: boolean;
}

export async function deletePlan(ctx: Context, id: number): Promise<DeletePlan> {
  const db = ctx.db('dbaas');
  const set = await getSet(db, id);
  if (set.status === 'deleted') throw new ConflictError(`backup set ${id} is already deleted`);
  if (set.status === 'running' || set.status === 'pending') throw new ConflictError(`backup set ${id} is ${set.status} (task ${set.task_id}); let its task finish or fail first`);
  const { store, dir } = storeSetDir(ctx, set);
  const last = await lastGoodFull(db, set.custins_id);
  return { set, store, dir, lastGoodFull: last?.id === set.id };
}

export async function deleteSet(ctx: Context, p: DeletePlan, force: boolean): Promise<{ id: number; removed: string }> {
  if (p.lastGoodFull && !force) throw new ConflictError(`backup set ${p.set.id} is the newest good full set of ${p.set.ins_name}: without it nothing can be restored`, { hint: 'take a new backup first, or pass --force' });
  const r = await onStore(await ctx.ssh(), p.store, removeSetScript(p.dir), ctx);
  if (!r.ok) throw new RemoteError(`backup store ${p.store.host}: ${r.err.trim().split('\n').pop() ?? 'rm failed'}`, { host: p.store.host });
  await ctx.db('dbaas').execute("UPDATE baklist SET status = 'deleted' WHERE id = ?", [p.set.id]);
  return { id: p.set.id, removed: r.out.trim() };
}

/** A context for one log-plan pass outside a flow (no lease: the pass is idempotent and locked on the NC). */
export async function archiveDeps(ctx: Context, custins: CustinsRow): Promise<ArchiveDeps> {
  const db = ctx.db('dbaas');
  const profile = ctx.profile();
  const ssh = await ctx.ssh();
  const rows = await instanceRows(db, custins.id);
  const m = rows.find((r) => r.role === 'master');
  if (!m) throw new ConflictError(`instance ${custins.ins_name} has no master row`);
  const master: Node = toNode(profile, m);
  return {
    custins,
    master,
    db,
    profile,
    store: storeOf(profile),
    async suSql(n: Node, statements: string[]): Promise<SqlRow[]> {
      const su = await superuserSession(db, custins.id, n);
      try {
        let rows: Array<Record<string, unknown>> = [];
        for (const st of statements) rows = await su.query(st);
        return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null || v === undefined ? null : String(v)])));
      } finally {
        await su.close();
      }
    },
    remote: (n, command, s, o = {}) => ssh.run(n.target, command, { signal: s.signal, timeoutSec: o.timeoutSec ?? 120, ...(o.stdin === undefined ? {} : { stdin: o.stdin }) }),
    tx: (fn) => db.transaction(fn),
  } as ArchiveDeps;
}

export async function archiveNow(ctx: Context, ins: string, o: { rotate: boolean }): Promise<ArchiveResult> {
  const custins = await findCustins(ctx.db('dbaas'), ins);
  if (custins.status !== 'running') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}`);
  return archivePass(await archiveDeps(ctx, custins), scope(ctx), o);
}
