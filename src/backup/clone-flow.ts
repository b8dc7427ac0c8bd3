import { ConflictError, RdsctlError, RemoteError, UnhealthyError } from '../core/errors.js';
import { insertAfter, installFlow } from '../flow/install/index.js';
import { doIssueServerCert } from '../flow/install/tls.js';
import { nodesOf, pollUntil, withSu } from '../flow/install/context.js';
import * as a from '../flow/install/accounts.js';
import * as f from '../flow/install/host-files.js';
import * as h from '../flow/install/host-setup.js';
import * as n from '../flow/install/network.js';
import * as p from '../flow/install/prepare.js';
import * as r from '../flow/install/records.js';
import * as rep from '../flow/install/replication.js';
import * as srv from '../flow/install/server.js';
import type { FlowDef, FlowEnv, StepDef, StepScope } from '../flow/types.js';
import { REPLICATOR, SUPERUSER, secretOf } from '../rds/accounts.js';
import type { Node } from '../rds/layout.js';
import { sqlString } from '../rds/sql-text.js';
import { manifestOnStore } from './backup-flow.js';
import { mergeGtid, replayInputs, type ArchivedBinlog } from './binlogs.js';
import { loadBackupCtx, type BackupCtx } from './context.js';
import { encryptionOf, encryptionParams, keyFilePath, keySha256Script, pullKeyScript, pushKeyScript, tableKeyOf, type EncryptionRow } from './encryption.js';
import { checkList, type Manifest } from './manifest.js';
import { checkSumsScript, optionFile, RESTORE_SCRATCH, replayBinlogsScript, replayEncryptedBinlogsScript, restoreScript, workLock } from './scripts.js';
import { sh } from '../remote/quote.js';
import { getSet, type BackupSetRow } from './sets.js';
import { binlogDir, keyDir, setDir } from './store.js';
import { replicationTls } from '../rds/instance-tls.js';

// The clone flow (point-in-time recovery into a NEW instance): the install library's own steps,
// with restore in place of initialisation. The master is restored from the source's set
// (checksums verified first), started, and the source's archived binlogs are replayed up to the
// recovery point. The standby is restored from the same set at the same time and replicates
// from the new master, which sends it the replayed transactions: the standby is built from the
// set plus the new master's binlog, in parallel with the master instead of after it. Accounts,
// databases and time zones come with the data. The source instance is never touched: only its
// set and archived binlogs in the store are read.

export const CLONE_FLOW_NAME = 'clone';

export interface CloneParams {
  source_custins_id: number;
  source_ins: string;
  set_id: number;
  /** The recovery point (ISO, whole seconds), or null for the set as it is. */
  time: string | null;
  stop_datetime: string | null;
  binlog_ids: number[];
  clone_set_id?: number;
}

export type CloneCtx = BackupCtx & { cp: CloneParams; source: BackupSetRow; binlogs: ArchivedBinlog[]; sourceKey: EncryptionRow | null };

type Step = StepDef<CloneCtx, Node>;

async function loadCloneCtx(env: FlowEnv): Promise<CloneCtx> {
  const c = await loadBackupCtx(env);
  const cp = c.task.params as unknown as CloneParams;
  if (!Number.isInteger(cp.set_id) || !Number.isInteger(cp.source_custins_id)) throw new ConflictError(`task ${c.task.id}: clone parameters lack the source set`);
  const source = await getSet(c.db, cp.set_id);
  const ids = Array.isArray(cp.binlog_ids) ? cp.binlog_ids.filter((x) => Number.isInteger(x)) : [];
  const binlogs = ids.length
    ? await c.db.query<ArchivedBinlog>(
        `SELECT id, custins_id, host_name, file_name, store_path, size_bytes, sha256, start_gtid, last_gtid, first_event_time, last_event_time, encrypted
           FROM binlog_archive WHERE id IN (?) ORDER BY FIELD(id, ?)`,
        [ids, ids],
      )
    : [];
  // The key comes along when the set or any binlog to replay is encrypted (a set made before
  // `instance encrypt` with binlogs after it gives an encrypted clone too).
  const needsKey = Boolean(source.encrypted) || binlogs.some((b) => Boolean(b.encrypted));
  return Object.assign(c, { cp, source, binlogs, sourceKey: needsKey ? await encryptionOf(c.db, cp.source_custins_id) : null });
}

function sourceDir(c: CloneCtx): string {
  return setDir(c.store, c.cp.source_ins, c.source.backup_set);
}

const RESTORED = 'come with the restored data';

/** An install step that does not apply to a clone, with the reason recorded. */
function notForClone(s: StepDef<CloneCtx, Node>, why: string): Step {
  return { ...s, skipRule: `clone: ${why}`, skip: () => `clone: ${why}` };
}

export const doCheckCloneSource: Step = {
  name: 'do_check_clone_source',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const s = c.source;
    if (s.custins_id !== c.cp.source_custins_id) throw new ConflictError(`backup set ${s.id} belongs to custins ${s.custins_id}, not the source ${c.cp.source_ins}`);
    if (s.status !== 'success' || s.verify_status === 'failed' || !s.store_host) throw new ConflictError(`backup set ${s.id} of ${c.cp.source_ins} is ${s.status}${s.verify_status === 'failed' ? ', failed verification' : ''}: not restorable`);
    if (c.binlogs.length !== c.cp.binlog_ids.length) throw new ConflictError(`some archived binlogs of ${c.cp.source_ins} this clone needs are gone from binlog_archive`);
    return `from ${c.cp.source_ins} set ${s.id} (${s.backup_set}, gtid ${s.gtid ?? '-'})${c.cp.time ? ` + ${c.binlogs.length} binlogs to ${c.cp.time}` : ', no binlogs'}`;
  },
};

/**
 * A clone of an encrypted instance carries its key: each NC pulls the source's key from the
 * store, the master also files it under the clone's keys/ (for the clone's own backups and
 * clones), and the server options are added before my.cnf is rendered.
 */
export const doCarryEncryptionKey: Step = {
  name: 'do_carry_encryption_key',
  role: 'both',
  timeoutSec: 120,
  effect: 'remote',
  skipRule: 'applies when the source is encrypted at rest',
  skip: (c) => (c.sourceKey ? null : `${c.cp.source_ins} is not encrypted at rest`),
  plan: (nd) => [`on ${nd.host}: ssh <store> cat <source>/keys/<key id> > ${nd.layout.dbsDir}/keys/keyfile (0600, mysqld's user); master: then to <clone>/keys/<key id>`],
  async probe(c, nodes, s) {
    const k = c.sourceKey!;
    const shas = await Promise.all(nodes.map(async (nd) => (await c.remote(nd, keySha256Script(nd.layout), s)).trim()));
    return shas.every((x) => x === k.key_sha256) && (await encryptionOf(c.db, c.custins.id)) !== null;
  },
  async run(c, nodes, s) {
    const k = c.sourceKey!;
    const from = `${keyDir(c.store, c.cp.source_ins)}/${k.key_id}`;
    for (const nd of nodes) {
      const sha = (await c.remote(nd, pullKeyScript(c.store, nd.layout, from), s)).trim();
      if (sha !== k.key_sha256) throw new RemoteError(`${nd.host}: key ${k.key_id} of ${c.cp.source_ins} from the store does not match its fingerprint`, { host: nd.host });
    }
    await c.remote(c.master, pushKeyScript(c.store, c.master.layout, `${keyDir(c.store, c.custins.ins_name)}/${k.key_id}`), s);
    // The source's table key id comes along (after a --rotate-key new tables use the newest key).
    const rows = encryptionParams(c.master.port, await tableKeyOf(c.db, c.cp.source_custins_id));
    await c.tx(async (tx) => {
      await tx.execute("INSERT INTO custins_encryption (custins_id, key_id, key_sha256, status) VALUES (?, ?, ?, 'enabled') ON DUPLICATE KEY UPDATE key_id = VALUES(key_id), key_sha256 = VALUES(key_sha256)", [c.custins.id, k.key_id, k.key_sha256]);
      await tx.execute("INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES ? ON DUPLICATE KEY UPDATE value = VALUES(value), source = 'task'", [rows.map((p) => [c.custins.id, p.name, p.value, 'task'])]);
    });
    return `key ${k.key_id} of ${c.cp.source_ins} on ${nodes.map((nd) => nd.host).join(', ')} and ${c.store.host}:${c.custins.ins_name}/keys`;
  },
};

/** Marks the source set failed (so no later clone picks it) and fails the step. */
async function badSet(c: CloneCtx, why: string): Promise<never> {
  await c.tx((tx) => tx.execute("UPDATE baklist SET verify_status = 'failed', verify_error = ?, gmt_verified = UTC_TIMESTAMP() WHERE id = ?", [why.slice(0, 1024), c.source.id]));
  throw new UnhealthyError(`backup set ${c.source.id} of ${c.cp.source_ins}: ${why}; it is marked failed and no clone uses it (clone again: an older set is chosen)`);
}

async function sourceManifest(c: CloneCtx, s: StepScope): Promise<Manifest> {
  const m = await manifestOnStore(c, c.source, s).catch((e: unknown) => {
    if (e instanceof RdsctlError && e.exitCode === 4) return null;
    throw e;
  });
  if (!m || m.backup_id !== c.source.id) return badSet(c, 'no valid manifest.json in the store');
  return m;
}

/**
 * The set must have its manifest (the files' sha256 are checked by each NC on what it received,
 * in do_restore_backup_*), and every archived binlog the replay needs its recorded sha256.
 */
export const doCheckBackupSetManifest: Step = {
  name: 'do_check_backup_set_manifest',
  role: 'metadb',
  timeoutSec: 600,
  effect: 'check',
  // At the same time as the two restores (which read the manifest themselves and check every
  // file they receive): the binlogs' hashing on the store is off the critical path, and nothing
  // after the restores runs unless this check passed.
  group: 'restore',
  async run(c, _n, s) {
    const m = await sourceManifest(c, s);
    if (c.binlogs.length) {
      const want = c.binlogs.map((b) => `${b.sha256}  ${b.store_path}\n`).join('');
      const r = await c.tryOnStore(checkSumsScript(null), s, { stdin: want, timeoutSec: 600 });
      if (!r.ok) throw new UnhealthyError(`archived binlogs of ${c.cp.source_ins} on ${c.store.host} do not match their sha256: ${(r.out + r.err).trim().split('\n').slice(0, 3).join('; ')}`);
    }
    return `manifest of set ${c.source.id}: ${m.files.length} files (checked on each NC as they arrive); ${c.binlogs.length} binlogs match their sha256`;
  },
};

function restoreOn(role: 'master' | 'slave'): Step {
  return {
    name: `do_restore_backup_${role}`,
    role,
    timeoutSec: 3600,
    effect: 'remote',
    group: 'restore',
    plan: (nd) => [`ssh <store> tar -cf - <source set> | tar -xf - -C ${nd.layout.dataDir}/${RESTORE_SCRATCH}; openssl dgst -sha256 of every file = the manifest; mariadb-backup --prepare; mariadb-backup --move-back --force-non-empty-directories --datadir=${nd.layout.dataDir} (a rename: the scratch dir is inside the datadir)  # NC pulls from the store with its own key`],
    probe: (c, [nd], s) => c.test(nd!, `test -f '${nd!.layout.installDoneMarker}'`, s),
    async run(c, [nd], s) {
      const m = await sourceManifest(c, s);
      let out: string;
      try {
        out = await c.remote(nd!, restoreScript(c.store, nd!.layout, sourceDir(c), nd!.layout.installDoneMarker), s, { timeoutSec: 3600, stdin: checkList(m) });
      } catch (e) {
        if (e instanceof RemoteError && /checksum mismatch/.test(e.message)) return badSet(c, `${nd!.host}: ${e.message.slice(e.message.indexOf('checksum mismatch'))}`);
        throw e;
      }
      return `${nd!.host}: ${out.trim()} from ${c.cp.source_ins} set ${c.source.id} (every file matched the manifest)`;
    },
  };
}

/**
 * The new master's binlog continues the source's GTID history from the set: RESET MASTER and
 * gtid_binlog_state = the set's GTID, once, before anything is replayed (a re-run finds the
 * position set and leaves it). Without it mariadb-backup of the new master would record the
 * restored server's stale slave position, and the standby would ask for the wrong events.
 */
export const doSetGtidFromBackupSet: Step = {
  name: 'do_set_gtid_from_backup_set',
  role: 'both',
  timeoutSec: 60,
  effect: 'remote',
  plan: (nd) => [`SQL over TCP to ${nd.ip}:${nd.port} as ${SUPERUSER}: SET GLOBAL gtid_binlog_state = <the set's GTID> (RESET MASTER first if the new binlog logged anything; only while it holds no transaction)`],
  async probe(c, nodes) {
    const pos = await Promise.all(nodes.map(async (nd) => (await c.suSql(nd, ['SELECT @@GLOBAL.gtid_binlog_pos AS b']))[0]?.b ?? ''));
    return pos.every((b) => b !== '') || !c.source.gtid;
  },
  async run(c, nodes) {
    const g = c.source.gtid ?? '';
    const out = await Promise.all(
      nodes.map(async (nd) => {
        return withSu(c, nd, async (su) => {
          const b = String((await su.query<{ b: string }>('SELECT @@GLOBAL.gtid_binlog_pos AS b'))[0]?.b ?? '');
          if (b !== '') return `${nd.host}: binlog already at ${b}`;
          if (!g) return `${nd.host}: the set has no GTID position; the binlog starts empty`;
          // A fresh binlog with no transaction takes the state as it is; RESET MASTER only if something was logged.
          await su.query('SET GLOBAL gtid_binlog_state = ?', [g]).catch(async () => {
            await su.query('RESET MASTER');
            await su.query('SET GLOBAL gtid_binlog_state = ?', [g]);
          });
          return `${nd.host}: binlog continues from ${g}`;
        });
      }),
    );
    return out.join('; ');
  },
};

/** The GTID position the clone master has reached: the set's, plus what replay already applied. */
async function reached(c: CloneCtx, nd: Node): Promise<string> {
  const pos = (await c.suSql(nd, ['SELECT @@GLOBAL.gtid_binlog_pos AS p']))[0]?.p ?? '';
  return mergeGtid(c.source.gtid, pos);
}

export const doApplyBinlogUntilTime: Step = {
  name: 'do_apply_binlog_until_time',
  role: 'master',
  timeoutSec: 3600,
  effect: 'remote',
  skipRule: 'applies to a clone to a point in time (--to-time, --latest)',
  skip: (c) => (c.cp.time && c.binlogs.length ? null : c.cp.time ? 'no archived binlog after the set reaches the recovery point: the set itself is the point' : 'clone from a backup set (--backup): no binlogs to replay'),
  plan: (nd) => [
    `ssh <store> cat binlogs/FILE > ${nd.layout.backupDir}/replay/FILE; TZ=UTC mariadb-binlog --start-position=<set GTID, or what was applied> --stop-datetime=<TIME+1s> FILE | mariadb --socket=${nd.layout.socket} (as ${SUPERUSER}, option file on stdin)`,
    `encrypted binlogs: the files as they are (encrypted) into ${nd.layout.backupDir}/replay/b; a local mariadbd (no network, the instance's key file) serves them; TZ=UTC mariadb-binlog --read-from-remote-server --to-last-log --start-position=<GTID> --stop-datetime=<TIME+1s> | mariadb --socket=${nd.layout.socket}`,
  ],
  async run(c, [nd], s) {
    // Resumable exactly: each run starts after the GTIDs the master already has, counted once
    // the replay of a killed runner (still running on the NC) has released the lock.
    await c.remote(nd!, sh`exec 9>>${workLock(nd!.layout)}; flock -w 1800 9`, s, { timeoutSec: 1900 });
    const start = await reached(c, nd!);
    const inputs = replayInputs(c.binlogs, start);
    if (!inputs.length) return `nothing after ${start || 'the set'} in the ${c.binlogs.length} archived binlogs up to ${c.cp.time}`;
    // Encrypted binlogs (any of them) are read through a local reader server with the key; clear ones with mariadb-binlog directly.
    const names = new Set(inputs.map((x) => x.name));
    const encrypted = c.binlogs.some((b) => names.has(b.file_name) && Boolean(b.encrypted));
    if (encrypted && !c.sourceKey) throw new ConflictError(`${c.cp.source_ins}: encrypted archived binlogs and no key recorded for it`);
    const script = encrypted
      ? replayEncryptedBinlogsScript(c.store, nd!.layout, binlogDir(c.store, c.cp.source_ins), inputs.map((x) => x.name), inputs[0]!.startPos, c.cp.stop_datetime, keyFilePath(nd!.layout))
      : replayBinlogsScript(c.store, nd!.layout, binlogDir(c.store, c.cp.source_ins), inputs, c.cp.stop_datetime);
    const pw = await secretOf(c.db, c.custins.id, SUPERUSER);
    const out = await c.remote(nd!, script, s, { stdin: optionFile(nd!.layout, SUPERUSER, pw), timeoutSec: 3600 });
    return `${out.trim()} from ${start || 'the start'} to ${c.cp.stop_datetime} UTC (exclusive); now at ${await reached(c, nd!)}`;
  },
};

async function changeMaster(c: CloneCtx, replica: Node, peer: Node): Promise<string> {
  const pw = await secretOf(c.db, c.custins.id, REPLICATOR);
  return `CHANGE MASTER TO MASTER_HOST=${sqlString(peer.ip)}, MASTER_PORT=${peer.port}, MASTER_USER=${sqlString(REPLICATOR)}, MASTER_PASSWORD=${sqlString(pw)}, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, ${await replicationTls(c.db, c.custins.id, replica.layout)}`;
}

/**
 * The maintenance accounts and the replicator come with the restored data, bound to the source
 * pair's addresses: here they are bound to the clone's own (created where missing, the source's
 * hosts dropped; unlogged on each server), before the two replicate from each other.
 */
export const doCloneBindSystemAccounts: Step = {
  name: 'do_initialize_mysql_account_by_master',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  plan: (nd, v) => [`SQL over TCP to ${nd.ip}:${nd.port} and ${v.peer.ip}:${v.peer.port} as ${SUPERUSER}: SET SESSION sql_log_bin = 0; CREATE USER … IDENTIFIED BY <masked> / GRANT for the clone's addresses, DROP USER for the source's`],
  async probe(c) {
    return (await a.pairAccountsBound(c, c.master)) && (await a.pairAccountsBound(c, c.slave));
  },
  async run(c) {
    return a.bindPairAccounts(c, [c.master, c.slave]);
  },
};

/** The standby, restored from the same set, replicates from the set's GTID position: it gets the replay from the new master. */
export const doCloneInstallDuallmasterSlave: Step = {
  name: 'do_install_duallmaster_slave',
  role: 'slave',
  timeoutSec: 60,
  effect: 'remote',
  plan: (nd, v) => [`SQL over TCP to ${nd.ip}:${nd.port} as ${SUPERUSER}: STOP SLAVE; SET GLOBAL gtid_slave_pos = <the set's GTID>; CHANGE MASTER TO MASTER_HOST=${sqlString(v.peer.ip)}, … MASTER_USE_GTID=slave_pos; START SLAVE`],
  async probe(c, [nd]) {
    const st = (await c.suSql(nd!, ['SHOW SLAVE STATUS']))[0];
    return !!st && st.Master_Host === c.master.ip && st.Slave_SQL_Running === 'Yes';
  },
  async run(c, [nd]) {
    const g = c.source.gtid ?? '';
    await c.suSql(nd!, ['STOP SLAVE', `SET GLOBAL gtid_slave_pos = ${sqlString(g)}`, await changeMaster(c, nd!, c.master), 'START SLAVE']);
    return `${nd!.host} replicates from ${c.master.ip}:${c.master.port} after ${g || 'nothing'} (the replayed transactions come through the new master's binlog)`;
  },
};

/**
 * The master replicates from the standby only what the standby itself writes: its slave
 * position starts at its own binlog position, so the replayed transactions (which carry the
 * source's server id) are not sent back and applied twice.
 */
export const doCloneCheckSlaveMaster: Step = {
  name: 'do_check_slave_master',
  role: 'master',
  timeoutSec: 120,
  effect: 'remote',
  plan: (nd) => [`SQL over TCP to ${nd.ip}:${nd.port} as ${SUPERUSER}: STOP SLAVE; SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos; START SLAVE; SHOW SLAVE STATUS until IO and SQL run`],
  async probe(c, [nd]) {
    const st = (await c.suSql(nd!, ['SHOW SLAVE STATUS']))[0];
    return !!st && st.Slave_IO_Running === 'Yes' && st.Slave_SQL_Running === 'Yes';
  },
  async run(c, [nd], s) {
    const pos = (await c.suSql(nd!, ['SELECT @@GLOBAL.gtid_binlog_pos AS p']))[0]?.p ?? '';
    const waited = (await c.suSql(c.slave, [`SELECT MASTER_GTID_WAIT(${sqlString(pos)}, 60) AS r`]))[0]?.r;
    if (pos && waited !== '0') throw new RemoteError(`${c.slave.host} did not apply the master's binlog up to ${pos} within 60s`, { host: c.slave.host });
    await c.suSql(nd!, ['STOP SLAVE', `SET GLOBAL gtid_slave_pos = ${sqlString(pos)}`, 'START SLAVE']);
    const st = await waitRunning(c, nd!, s);
    return `${nd!.host}: IO Yes, SQL Yes from ${st.Master_Host}:${st.Master_Port}, slave pos ${pos || '-'}`;
  },
};

async function waitRunning(c: CloneCtx, nd: Node, s: StepScope): Promise<Record<string, string | null>> {
  const deadline = Date.now() + 100_000;
  return pollUntil(c, s, 50, async () => {
    const st = (await c.suSql(nd, ['SHOW SLAVE STATUS']))[0];
    if (st && st.Slave_IO_Running === 'Yes' && st.Slave_SQL_Running === 'Yes') return st;
    if (st?.Last_SQL_Errno && st.Last_SQL_Errno !== '0') throw new RemoteError(`${nd.host}: replication SQL thread stopped: ${st.Last_SQL_Errno} ${st.Last_SQL_Error ?? ''}`, { host: nd.host });
    if (Date.now() > deadline) throw new RemoteError(`${nd.host}: replication not running: ${st?.Last_IO_Error || st?.Last_SQL_Error || 'no error reported'}`, { host: nd.host });
    return undefined;
  });
}

/** Version 1, kept for clone tasks written before version 2. */
export const CLONE_FLOW_V1: ReadonlyArray<Step> = [
  p.doInit,
  doCheckCloneSource,
  p.doEnsureMinorVersion,
  p.doBuildParams,
  p.doCalculateMaintainUserList,
  p.doInitReplicatorIntoMeta,
  h.doCheckPortAndDirExistsAndMakesureNotExist,
  h.doRmInstanceDirExists,
  h.doMakeDirMaster,
  h.doMakeDirSlave,
  doCarryEncryptionKey,
  h.doBuildMysqlParams,
  p.doUpdateMinorVersionInMetadb,
  doCheckBackupSetManifest,
  restoreOn('master'),
  restoreOn('slave'),
  n.doAddRdsEcsSgRel,
  n.doFlushAdminWhitelist,
  n.doFlushUserWhitelist,
  h.doCheckMysqlInitDbSuccessMaster,
  h.doCheckMysqlInitDbSuccessSlave,
  h.doStartInstanceNoblockByMaster,
  h.doStartInstanceNoblockBySlave,
  h.doCheckStartInstnaceSuccessMaster,
  h.doCheckStartInstanceSuccessSlave,
  doSetGtidFromBackupSet,
  doApplyBinlogUntilTime,
  doCloneBindSystemAccounts,
  notForClone(a.doGrantMasterByMaster, `their grants ${RESTORED}`),
  a.doInstallPluginFor55Master,
  a.doInstallPluginFor55Slave,
  a.doAddFlashbackPrivilegeFor55Master,
  a.doAddFlashbackPrivilegeFor55Slave,
  rep.doInstallDuallmasterMaster,
  doCloneInstallDuallmasterSlave,
  doCloneCheckSlaveMaster,
  rep.doCheckSlaveSlave,
  a.doCheckAccountsAndDbs,
  a.doCreateAccounts,
  a.doCreateDbs,
  n.doCreateSlbIns4vpc,
  n.doCreateSingleTenantInsAndWaitFinish,
  n.doWaitForCreatingMaxscaleTaskFinish,
  n.doRefreshMaxscaleLinkTopology,
  n.doWaitForRefreshingMaxscaleTaskFinish,
  n.doCreateRdsDataRoute,
  n.doValidateRdsDataRoute,
  n.doCreateVpcCustinsMappingAddress,
  notForClone(srv.doInsertTimeZoneTables, `the time zone tables ${RESTORED}`),
  srv.doResetNamedTimezoneConfigMaster,
  srv.doResetNamedTimezoneConfigSlave,
  notForClone(r.doInsertBaklist, 'its first set in the store is taken by `instance backup` or the backup plan, not on the standby'),
  r.doInsertLogplan,
  r.doActiveInstanceForInstall,
  r.doUpdateInsAccountStatus,
  r.doAddAurora,
  f.doAddPortToInstanceConfigMaster,
  f.doAddPortToInstanceConfigSlave,
  r.doEnableAurora,
  a.doResetRootPasswordMaster,
  a.doDropRootAccountMaster,
  a.doResetRootPasswordSlave,
  a.doDropRootAccountSlave,
  srv.doCreateTriggerByMaster,
  srv.doCreateViewByMaster,
  r.doUpdateAuroraToReadonlyForGuardIns,
  srv.doSetServerReadonlyForGuardInsMaster,
  srv.doSetServerReadonlyForGuardInsSlave,
  f.doRebuildInitdMaster,
  f.doRebuildInitdSlave,
  f.doConfigResourceMaster,
  f.doPersistResourceConfigMaster,
  f.doConfigResourceSlave,
  f.doPersistResourceConfigSlave,
  f.doWriteInsnameToFileMaster,
  f.doWriteInsnameToFileSlave,
  n.doSwitchNglbIfNeeded,
  f.doFlushInsinfoFile,
  a.doAddKillOptionForApiCreatedSuperuserMaster,
  a.doAddKillOptionForApiCreatedSuperuserSlave,
  r.doPersisCustinsParam,
  r.doInsertInstancePerfTable,
  r.doInsertDbPerf,
  notForClone(srv.doStartCreateNewBackup, 'its first set in the store is taken by `instance backup` or the backup plan, not on the standby'),
  n.doAddReadinsToMaxscaleConfig,
];

/** Version 2 (#16): the clone's nodes get server certificates as an install's do (do_issue_server_cert). */
export const CLONE_FLOW: ReadonlyArray<Step> = insertAfter(CLONE_FLOW_V1, h.doMakeDirSlave as Step, doIssueServerCert as Step);

export const cloneFlow: FlowDef<CloneCtx, Node> = {
  name: CLONE_FLOW_NAME,
  version: 2,
  targetKind: 'instance',
  roles: ['master', 'slave', 'both', 'metadb'],
  steps: CLONE_FLOW,
  previous: { 1: CLONE_FLOW_V1 },
  load: loadCloneCtx,
  nodesOf,
  hostName: (nd) => nd.host,
  onRun: (c, tx) => installFlow.onRun!(c, tx),
  onDone: (c, tx) => installFlow.onDone(c, tx),
  onFail: (c, tx, e) => installFlow.onFail!(c, tx, e),
};
