import { ConflictError, RemoteError } from '../core/errors.js';
import { sh } from '../remote/quote.js';
import { nodesOf } from '../flow/install/context.js';
import type { FlowDef, StepDef, StepScope } from '../flow/types.js';
import { SUPERUSER, secretOf } from '../rds/accounts.js';
import type { Node } from '../rds/layout.js';
import { archivePass } from './binlogs.js';
import { loadBackupCtx, type BackupCtx } from './context.js';
import { STREAM_DONE, MANIFEST_FORMAT, filesFrom, manifestSha256, parseBinlogInfo, parseManifest, renderManifest, type Manifest } from './manifest.js';
import { applyRetention } from './retention.js';
import { hashSetScript, optionFile, readManifestScript, streamBackupScript, writeManifestScript } from './scripts.js';
import { getSet, insertSetRow, setByTask, type BackupSetRow } from './sets.js';
import { setDir, setName } from './store.js';
import { encryptionOf } from './encryption.js';

// The backup flow: a full physical backup of one instance into the store. Taken from the
// standby when it is healthy (replicating, under 300 s behind), else from the master, and said
// so. The stream goes NC -> store directly (see store.ts); the manifest is written last.

export const BACKUP_FLOW_NAME = 'backup';
const MAX_LAG_SEC = 300;

type Step = StepDef<BackupCtx, Node>;

/**
 * What do_choose_backup_source decides, recorded as its step result (task_step.result) and read
 * by the later steps through base.result(): the task's parameters stay what the caller wrote.
 */
export interface SourceChoice {
  source_role: 'master' | 'slave';
  set_id: number;
  source_reason: string;
}

export const CHOOSE_STEP = 'do_choose_backup_source';

/** The choice of this task: the step result; for a task written before results existed, its parameters. */
export function choiceOf(c: BackupCtx): Partial<SourceChoice> {
  const r = c.base.result<SourceChoice>(CHOOSE_STEP);
  if (r && r.set_id) return r;
  const p = c.task.params as Partial<SourceChoice>;
  return { ...(p.source_role ? { source_role: p.source_role } : {}), ...(p.set_id ? { set_id: p.set_id } : {}), ...(p.source_reason ? { source_reason: p.source_reason } : {}) };
}

function source(c: BackupCtx): Node {
  const r = choiceOf(c).source_role;
  if (!r) throw new ConflictError(`task ${c.task.id}: no backup source chosen yet (run ${CHOOSE_STEP})`);
  return r === 'master' ? c.master : c.slave;
}

async function theSet(c: BackupCtx): Promise<BackupSetRow> {
  const id = choiceOf(c).set_id;
  if (!id) throw new ConflictError(`task ${c.task.id}: no backup set row yet (run ${CHOOSE_STEP})`);
  return getSet(c.db, id);
}

export function dirOf(c: BackupCtx, set: BackupSetRow): string {
  return setDir(c.store, set.ins_name, set.backup_set);
}

/** Why the standby cannot be the source, or null when it can. */
async function standbyProblem(c: BackupCtx): Promise<string | null> {
  try {
    const st = (await c.suSql(c.slave, ['SHOW SLAVE STATUS']))[0];
    if (!st) return 'replication is not configured';
    if (st.Slave_IO_Running !== 'Yes' || st.Slave_SQL_Running !== 'Yes') return `replication IO ${st.Slave_IO_Running}, SQL ${st.Slave_SQL_Running}`;
    const lag = st.Seconds_Behind_Master === null ? null : Number(st.Seconds_Behind_Master);
    if (lag === null || lag > MAX_LAG_SEC) return `${lag ?? 'unknown'} s behind the master (limit ${MAX_LAG_SEC} s)`;
    return null;
  } catch (e) {
    return `does not answer (${e instanceof Error ? e.message.slice(0, 120) : String(e)})`;
  }
}

export const doChooseBackupSource: Step = {
  name: CHOOSE_STEP,
  role: 'metadb',
  timeoutSec: 60,
  effect: 'metadb',
  async run(c) {
    const before = choiceOf(c);
    if (before.source_role && before.set_id) {
      // A goto back to this step, or a task written before step results: keep its set.
      const set = await theSet(c);
      const why = before.source_reason ?? 'chosen before this run';
      return { detail: `set ${set.id} ${set.backup_set} ${why}`, result: { source_role: before.source_role, set_id: set.id, source_reason: why } };
    }
    // A run killed after the set row was written (before this step's result was) finds that
    // row by task id and keeps it, with the role recorded on it.
    const existing = await setByTask(c.db, c.task.id);
    let role: 'master' | 'slave';
    let why: string;
    if (existing?.source_role) {
      role = existing.source_role;
      const n = role === 'master' ? c.master : c.slave;
      why = `from the ${role === 'master' ? 'master' : 'standby'} ${n.host} (chosen before the runner stopped)`;
    } else {
      const problem = await standbyProblem(c);
      role = problem ? 'master' : 'slave';
      const n = role === 'master' ? c.master : c.slave;
      why = problem ? `from the master ${n.host}: the standby ${c.slave.host} ${problem}` : `from the standby ${n.host} (replicating, in time)`;
    }
    const n = role === 'master' ? c.master : c.slave;
    const startGtid = (await c.suSql(n, ['SELECT @@GLOBAL.gtid_current_pos AS g']))[0]?.g ?? null;
    const enc = await encryptionOf(c.db, c.custins.id);
    const id = await c.tx(async (tx) => {
      const again = await setByTask(tx, c.task.id);
      const id = again?.id ?? (await insertSetRow(tx, { custinsId: c.custins.id, instanceId: n.instanceId, host: n.host, storeHost: c.store.host, taskId: c.task.id, role, encrypted: enc !== null }));
      const started = (await tx.query<{ t: Date }>('SELECT gmt_started AS t FROM baklist WHERE id = ?', [id]))[0]!.t;
      const name = setName(id, started);
      await tx.execute('UPDATE baklist SET backup_set = ?, backup_dir = ?, start_gtid = ?, instance_id = ?, host_name = ?, source_role = ? WHERE id = ?', [
        name,
        `${c.profile.backup!.store_dir}/${c.custins.ins_name}/sets/${name}`,
        startGtid,
        n.instanceId,
        n.host,
        role,
        id,
      ]);
      return id;
    });
    const set = await getSet(c.db, id);
    const result: SourceChoice = { source_role: role, set_id: id, source_reason: why };
    return { detail: `set ${set.id} ${set.backup_set} ${why}`, result: { ...result } };
  },
};

async function streamedSet(c: BackupCtx, set: BackupSetRow, s: StepScope): Promise<boolean> {
  return (await c.tryOnStore(sh`test -f ${dirOf(c, set) + '/' + STREAM_DONE}`, s)).ok;
}

/**
 * Stream a set from node n to the store (skipped when the store has it whole already). The
 * store hashes the files in the same session, so the manifest is written at once from that
 * listing (do_write_backup_manifest then only confirms it, or hashes again after a kill).
 */
async function streamSet(c: BackupCtx, n: Node, set: BackupSetRow, s: StepScope): Promise<string> {
  const pw = await secretOf(c.db, c.custins.id, SUPERUSER);
  const t0 = Date.now();
  const out = (await c.remote(n, streamBackupScript(c.store, n.host, n.layout, dirOf(c, set)), s, { stdin: optionFile(n.layout, SUPERUSER, pw), timeoutSec: 3600 })).trim();
  if (out.endsWith('already')) return `${n.host} -> ${c.store.host}:${dirOf(c, set)} (already streamed)`;
  const took = ((Date.now() - t0) / 1000).toFixed(1);
  await c.tx((tx) => tx.execute('UPDATE baklist SET gmt_consistent = UTC_TIMESTAMP() WHERE id = ?', [set.id]));
  const m = await writeSetManifest(c, await getSet(c.db, set.id), s, out.replace(/\n?streamed$/, ''));
  return `${n.host} -> ${c.store.host}:${dirOf(c, set)} in ${took} s; manifest: ${m}`;
}

export const doStreamBackupToStore: Step = {
  name: 'do_stream_backup_to_store',
  role: 'metadb',
  timeoutSec: 3600,
  effect: 'remote',
  plan: (n) => [`on the source NC (${n.host} or its peer): mariadb-backup --backup --stream=xbstream | ssh <store> mbstream -x -C <store_dir>/<ins>/sets/<set>  # NC -> store directly, with the NC's backup key`],
  probe: async (c, _n, s) => streamedSet(c, await theSet(c), s),
  run: async (c, _n, s) => streamSet(c, source(c), await theSet(c), s),
};

export async function manifestOnStore(c: BackupCtx, set: BackupSetRow, s: StepScope): Promise<Manifest | null> {
  const r = await c.tryOnStore(readManifestScript(dirOf(c, set)), s);
  if (!r.ok) return null;
  return parseManifest(r.out, `${c.store.host}:${dirOf(c, set)}`);
}

export const doWriteBackupManifest: Step = {
  name: 'do_write_backup_manifest',
  role: 'metadb',
  timeoutSec: 1800,
  effect: 'remote',
  plan: () => ['on the store: find + openssl dgst -sha256 of every file of the set, then manifest.json written to a temporary name, fsynced and renamed (written last)'],
  async probe(c, _n, s) {
    const set = await theSet(c);
    const m = await manifestOnStore(c, set, s);
    return m !== null && m.backup_id === set.id;
  },
  async run(c, _n, s) {
    const set = await theSet(c);
    const m = await manifestOnStore(c, set, s);
    if (m && m.backup_id === set.id) return `written with the stream: ${m.files.length} files`;
    return writeSetManifest(c, set, s);
  },
};

/** Hash every file of a streamed set on the store and write its manifest, last. */
async function writeSetManifest(c: BackupCtx, set: BackupSetRow, s: StepScope, listing?: string): Promise<string> {
  const dir = dirOf(c, set);
  const listed = listing ?? (await c.onStore(hashSetScript(dir), s, { timeoutSec: 1800 }));
  const [sizes = '', sums = '', info = ''] = listed.split(/^--$/m).map((x) => x.replace(/^\n/, ''));
  const files = filesFrom(sizes, sums);
  if (!files.some((f) => f.path === 'xtrabackup_checkpoints')) throw new RemoteError(`${c.store.host}:${dir} has no xtrabackup_checkpoints: not a complete mariadb-backup set`, { host: c.store.host });
  const bi = parseBinlogInfo(info);
  const consistent = (await c.db.query<{ t: Date }>('SELECT COALESCE(gmt_consistent, UTC_TIMESTAMP()) AS t FROM baklist WHERE id = ?', [set.id]))[0]!.t;
  const enc = await encryptionOf(c.db, c.custins.id);
  const m: Manifest = {
    format: MANIFEST_FORMAT,
    set: set.backup_set,
    backup_id: set.id,
    instance: c.custins.ins_name,
    custins_id: c.custins.id,
    kind: 'full',
    tool: 'mariadb-backup --backup --stream=xbstream',
    source_host: set.host_name,
    source_role: set.source_role ?? 'master',
    start_gtid: set.start_gtid,
    end_gtid: bi.gtid,
    binlog_file: bi.file,
    binlog_pos: bi.pos,
    start_time: (set.gmt_started ?? set.gmt_created).toISOString(),
    end_time: consistent.toISOString(),
    size_bytes: files.reduce((a, f) => a + f.size, 0),
    encrypted: enc !== null,
    key_id: enc?.key_id ?? null,
    files,
  };
  const text = renderManifest(m);
  await c.onStore(writeManifestScript(dir), s, { stdin: text });
  await c.tx((tx) =>
    tx.execute('UPDATE baklist SET gmt_consistent = ?, size_bytes = ?, gtid = ?, binlog_file = ?, binlog_pos = ?, manifest_sha256 = ? WHERE id = ?', [consistent, m.size_bytes, m.end_gtid, m.binlog_file, m.binlog_pos, manifestSha256(text), set.id]),
  );
  return `${files.length} files, ${(m.size_bytes / 1048576).toFixed(1)} MB, gtid ${m.end_gtid ?? '-'}`;
}

export const doFinishBaklist: Step = {
  name: 'do_finish_baklist',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  run: async (c, _n, s) => finishSet(c, await theSet(c), s),
};

async function finishSet(c: BackupCtx, set: BackupSetRow, s: StepScope): Promise<string> {
  const m = await manifestOnStore(c, set, s);
  if (!m || m.backup_id !== set.id) throw new ConflictError(`set ${set.id} has no manifest on ${c.store.host}: its manifest step has not run`);
  await c.tx((tx) => tx.execute("UPDATE baklist SET status = 'success', error = NULL, gmt_finished = UTC_TIMESTAMP() WHERE id = ?", [set.id]));
  return `set ${set.id} success`;
}

export const doArchiveBinlogs: Step = {
  name: 'do_archive_binlogs',
  role: 'master',
  timeoutSec: 1800,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port}: SHOW BINARY LOGS; then for each closed binlog not archived: mariadb-binlog (metadata) and cat FILE | ssh <store> 'cat > binlogs/FILE.tmp && openssl dgst -sha256 && mv'`],
  async run(c, _n, s) {
    const r = await archivePass(c, s, { rotate: false });
    return `${r.host}: ${r.archived.length} binlogs archived (${r.archived.join(', ') || 'none new'}), ${r.present} already in the store, ${r.active ?? '-'} active`;
  },
};

export const doApplyBackupRetention: Step = {
  name: 'do_apply_backup_retention',
  role: 'metadb',
  timeoutSec: 600,
  effect: 'remote',
  plan: () => ['on the store: rm -rf the sets (and binlogs only they need) older than the plan\'s retention, never the newest good full set'],
  async run(c, _n, s) {
    const r = await applyRetention(c, s);
    return r.summary;
  },
};

export const BACKUP_FLOW: ReadonlyArray<Step> = [doChooseBackupSource, doStreamBackupToStore, doWriteBackupManifest, doFinishBaklist, doArchiveBinlogs, doApplyBackupRetention];

export const backupFlow: FlowDef<BackupCtx, Node> = {
  name: BACKUP_FLOW_NAME,
  version: 1,
  targetKind: 'instance',
  roles: ['master', 'slave', 'both', 'metadb'],
  steps: BACKUP_FLOW,
  load: loadBackupCtx,
  nodesOf,
  hostName: (n) => n.host,
  async onRun(c, tx) {
    await tx.execute("UPDATE baklist SET status = 'running', error = NULL WHERE task_id = ? AND status = 'failed'", [c.task.id]);
  },
  // The set row is finished by do_finish_baklist, inside the flow, before archive and retention.
  async onDone() {},
  async onFail(c, tx, error) {
    await tx.execute("UPDATE baklist SET status = 'failed', error = ?, gmt_finished = UTC_TIMESTAMP() WHERE task_id = ? AND status = 'running'", [error.slice(0, 2000), c.task.id]);
  },
};
