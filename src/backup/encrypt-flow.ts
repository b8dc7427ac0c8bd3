import { ConflictError, RemoteError, UnhealthyError } from '../core/errors.js';
import { nodesOf, pollUntil, withSu } from '../flow/install/context.js';
import { waitAnswering, writeMyCnf } from '../flow/install/host-setup.js';
import { waitReplicating } from '../flow/install/replication.js';
import type { FlowDef, StepDef, StepScope } from '../flow/types.js';
import { script, startScript, stopBody } from '../rds/host-ops.js';
import type { Node } from '../rds/layout.js';
import { sqlIdent, sqlString } from '../rds/sql-text.js';
import { archivePass } from './binlogs.js';
import { loadBackupCtx, type BackupCtx } from './context.js';
import { appendKeyScript, encryptionOf, encryptionParams, keySha256Script, makeKeyScript, newKeyId, pullKeyScript, pushKeyScript, tableKeyOf } from './encryption.js';
import { keyDir } from './store.js';
import { REPLICATOR, secretOf } from '../rds/accounts.js';
import { superuserSession } from '../rds/instance-sql.js';
import type { HaCtx } from '../ha/context.js';
import { haNodesOf } from '../ha/context.js';
import { routeDriver } from '../ha/driver.js';
import { SWITCHOVER_STEPS } from '../ha/flows.js';
import { recordEvent } from '../ha/records.js';
import { loadRoute } from '../ha/route-store.js';
import { catchUpWithin, serverState, switchoverReadiness } from '../ha/server.js';
import { MAX_SWITCHOVER_LAG_SEC } from '../ha/steps.js';

// The encryption flow: data-at-rest encryption (file_key_management) of a running pair. The key
// is made on the master's NC, kept in the store's keys/ (so a clone can carry it) and installed
// on the standby's NC; never in the metadb, never on the jump host. Then the standby restarts
// with encryption on and encrypts its tablespaces; the HA switchover (src/ha's own steps, run
// inside this task) makes it the master; the old master, now the standby, restarts and encrypts
// its tablespaces; the binlogs and relay logs written before are archived and purged. The
// instance stays writable throughout except the switchover's pause (route blocked, old master
// read-only, standby caught up, promoted, route repointed), which the switchover step records.
//
// Roles: do_check_encrypt_instance records the pair as its step result (from = the master when
// the task ran first, to = the standby). 'master' steps act on `from`, 'slave' steps on `to`,
// whatever the metadb says after the switchover: a resumed task acts on the same servers.
// Version 1 (restart of the master, no switchover) stays runnable for tasks written before.

export const ENCRYPT_FLOW_NAME = 'encrypt';

type Step = StepDef<BackupCtx, Node>;

async function keyRow(c: BackupCtx): Promise<{ key_id: string; key_sha256: string }> {
  const r = await encryptionOf(c.db, c.custins.id);
  if (!r) throw new ConflictError(`${c.custins.ins_name}: no key yet (run do_create_encryption_key)`);
  return r;
}

/**
 * What do_check_encrypt_instance records: the pair, fixed by instance id at the first step, and
 * for --rotate-key the key the rotation starts from (the append is done once, against it).
 */
export interface EncryptPair {
  from_instance_id: number;
  to_instance_id: number;
  rotate?: { old_key_id: string; old_key_sha256: string };
}

export const ENCRYPT_CHECK_STEP = 'do_check_encrypt_instance';
export const ROTATE_STEP = 'do_add_rotated_key';

/** What do_add_rotated_key records: the new key's id (name in the store), its number in the key file, the file's sha256. */
interface RotatedKey {
  key_id: string;
  key_number: number;
  key_sha256: string;
}

function rotating(c: BackupCtx): boolean {
  return c.task.params.rotate_key === true;
}

function pairOf(c: BackupCtx): EncryptPair | undefined {
  return c.base.result<EncryptPair>(ENCRYPT_CHECK_STEP) ?? undefined;
}

function pick(c: BackupCtx, id: number): Node {
  const n = [c.master, c.slave].find((x) => x.instanceId === id);
  if (!n) throw new ConflictError(`instance ${c.custins.ins_name} has no live instance row ${id} (task ${c.task.id})`);
  return n;
}

/** 'master' = the master when the task began, 'slave' = its standby then (by instance id). */
export function encryptNodesOf(c: BackupCtx, role: 'master' | 'slave' | 'both' | 'metadb'): Node[] {
  const p = pairOf(c);
  if (!p) return nodesOf(c, role);
  const from = pick(c, p.from_instance_id);
  const to = pick(c, p.to_instance_id);
  return role === 'master' ? [from] : role === 'slave' ? [to] : role === 'both' ? [from, to] : [];
}

export const doCheckEncryptInstance: Step = {
  name: ENCRYPT_CHECK_STEP,
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    if (c.custins.status !== 'running') throw new ConflictError(`instance ${c.custins.ins_name} is ${c.custins.status}`);
    const r = await encryptionOf(c.db, c.custins.id);
    const before = pairOf(c);
    const pair: EncryptPair = before ?? { from_instance_id: c.master.instanceId, to_instance_id: c.slave.instanceId };
    if (rotating(c) && !pair.rotate) {
      if (!r || r.status !== 'enabled') throw new ConflictError(`instance ${c.custins.ins_name} is not encrypted at rest${r ? ` (key ${r.key_id} is ${r.status})` : ''}: encrypt it first (without --rotate-key)`);
      pair.rotate = { old_key_id: r.key_id, old_key_sha256: r.key_sha256 };
    }
    const from = pick(c, pair.from_instance_id);
    const to = pick(c, pair.to_instance_id);
    const what = pair.rotate ? `rotating key ${pair.rotate.old_key_id}` : r ? `key ${r.key_id} (${r.status}) already recorded: continuing` : 'not encrypted yet';
    return { detail: `${what}; ${to.host} restarts first, then becomes the master, then ${from.host} restarts`, result: { ...pair } };
  },
};

/** --rotate-key: a new key appended on the master's NC, filed in the store under a new id, recorded. */
export const doAddRotatedKey: Step = {
  name: ROTATE_STEP,
  role: 'master',
  timeoutSec: 120,
  effect: 'remote',
  skip: (c) => (rotating(c) ? null : 'no --rotate-key'),
  skipRule: 'runs only for --rotate-key',
  plan: (n) => [`on ${n.host}: append "<next id>;$(openssl rand -hex 32)" to ${n.layout.dbsDir}/keys/keyfile (0600, mysqld's user; the older keys stay); cat keyfile | ssh <store> 'cat > keys/<new key id>' (0600)`],
  // The append is guarded by the key file's sha256 at the start of the rotation: re-running it is safe.
  probe: async () => false,
  async run(c, [n], s) {
    const rot = pairOf(c)?.rotate;
    if (!rot) throw new ConflictError(`task ${c.task.id}: the rotation's starting key is not recorded (run ${ENCRYPT_CHECK_STEP})`);
    const [num, sha] = (await c.remote(n!, appendKeyScript(n!.layout, rot.old_key_sha256), s)).trim().split(' ');
    const keyNumber = Number(num);
    if (!Number.isInteger(keyNumber) || keyNumber < 2 || !/^[0-9a-f]{64}$/.test(sha ?? '')) throw new RemoteError(`${n!.host}: unexpected key file state: ${num} ${sha}`, { host: n!.host });
    if (sha === rot.old_key_sha256) throw new RemoteError(`${n!.host}: the key file did not change`, { host: n!.host });
    const before = c.base.result<RotatedKey>(ROTATE_STEP);
    const keyId = before?.key_sha256 === sha ? before.key_id : newKeyId(c.custins.id, c.base.now());
    const stored = (await c.remote(n!, pushKeyScript(c.store, n!.layout, `${keyDir(c.store, c.custins.ins_name)}/${keyId}`), s)).trim();
    if (stored !== sha) throw new RemoteError(`${c.store.host}: keys/${keyId} differs from ${n!.host}'s key file`, { host: c.store.host });
    await c.tx((tx) => tx.execute("UPDATE custins_encryption SET key_id = ?, key_sha256 = ?, status = 'rotating' WHERE custins_id = ?", [keyId, sha, c.custins.id]));
    const result: RotatedKey = { key_id: keyId, key_number: keyNumber, key_sha256: sha };
    return { detail: `key ${keyId} (id ${keyNumber} in the key file, after ${rot.old_key_id}) on ${n!.host} and ${c.store.host} (sha256 ${sha.slice(0, 12)}…)`, result: { ...result } };
  },
};

/** The InnoDB key id the servers end with: the rotated key's number, else what the instance has. */
async function tableKey(c: BackupCtx): Promise<number> {
  return c.base.result<RotatedKey>(ROTATE_STEP)?.key_number ?? (await tableKeyOf(c.db, c.custins.id));
}

export const doCreateEncryptionKey: Step = {
  name: 'do_create_encryption_key',
  role: 'master',
  timeoutSec: 120,
  effect: 'remote',
  skip: (c) => (rotating(c) ? '--rotate-key: the instance has its key' : null),
  skipRule: 'skipped for --rotate-key',
  plan: (n) => [`on ${n.host}: openssl rand -hex 32 (x2) > ${n.layout.dbsDir}/keys/keyfile (0600, mysqld's user); cat keyfile | ssh <store> 'cat > keys/<key id>' (0600)`],
  async probe(c, [n], s) {
    const r = await encryptionOf(c.db, c.custins.id);
    return r !== null && (await c.remote(n!, keySha256Script(n!.layout), s)).trim() === r.key_sha256;
  },
  async run(c, [n], s) {
    const existing = await encryptionOf(c.db, c.custins.id);
    const keyId = existing?.key_id ?? newKeyId(c.custins.id, new Date());
    const sha = (await c.remote(n!, makeKeyScript(n!.layout), s)).trim();
    if (existing && existing.key_sha256 !== sha) throw new RemoteError(`${n!.host}: the key file's sha256 ${sha.slice(0, 12)}… is not the recorded key ${existing.key_id}'s`, { host: n!.host });
    const stored = (await c.remote(n!, pushKeyScript(c.store, n!.layout, `${keyDir(c.store, c.custins.ins_name)}/${keyId}`), s)).trim();
    if (stored !== sha) throw new RemoteError(`${c.store.host}: keys/${keyId} differs from ${n!.host}'s key file`, { host: c.store.host });
    await c.tx((tx) => tx.execute("INSERT INTO custins_encryption (custins_id, key_id, key_sha256, status) VALUES (?, ?, ?, 'enabling') ON DUPLICATE KEY UPDATE key_id = key_id", [c.custins.id, keyId, sha]));
    return `key ${keyId} on ${n!.host} and ${c.store.host} (sha256 ${sha.slice(0, 12)}…)`;
  },
};

export const doInstallEncryptionKey: Step = {
  name: 'do_install_encryption_key',
  role: 'slave',
  timeoutSec: 120,
  effect: 'remote',
  plan: (n) => [`on ${n.host}: ssh <store> cat keys/<key id> > ${n.layout.dbsDir}/keys/keyfile (0600, mysqld's user)`],
  probe: async (c, [n], s) => (await c.remote(n!, keySha256Script(n!.layout), s)).trim() === (await keyRow(c)).key_sha256,
  async run(c, [n], s) {
    const k = await keyRow(c);
    const sha = (await c.remote(n!, pullKeyScript(c.store, n!.layout, `${keyDir(c.store, c.custins.ins_name)}/${k.key_id}`), s)).trim();
    if (sha !== k.key_sha256) throw new RemoteError(`${n!.host}: key ${k.key_id} from the store does not match its fingerprint`, { host: n!.host });
    return `key ${k.key_id} on ${n!.host}`;
  },
};

export const doAddEncryptionParams: Step = {
  name: 'do_add_encryption_params',
  role: 'both',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [`mycnf_custinstance += ${encryptionParams(n.port).map((p) => `${p.name}=${p.value}`).join(', ')}; my.cnf re-rendered on ${n.host} (read at the next start)`],
  async run(c, nodes, s) {
    const rows = encryptionParams(c.master.port, await tableKey(c));
    await c.tx((tx) => tx.execute("INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES ? ON DUPLICATE KEY UPDATE value = VALUES(value), source = 'task'", [rows.map((p) => [c.custins.id, p.name, p.value, 'task'])]));
    await Promise.all(nodes.map((n) => writeMyCnf(c, n, s)));
    return `${rows.length} options in my.cnf of ${nodes.map((n) => n.host).join(', ')}`;
  },
};

async function encrypted(c: BackupCtx, n: Node): Promise<{ done: boolean; detail: string }> {
  const rows = await c.suSql(n, [
    `SELECT (SELECT COUNT(*) FROM information_schema.INNODB_TABLESPACES_ENCRYPTION) AS total,
            (SELECT COUNT(*) FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE ENCRYPTION_SCHEME = 1 AND ROTATING_OR_FLUSHING = 0 AND MIN_KEY_VERSION > 0) AS done,
            @@GLOBAL.innodb_encrypt_tables AS on_tables, @@GLOBAL.encrypt_binlog AS on_binlog, @@GLOBAL.innodb_encrypt_log AS on_log`,
  ]);
  const r = rows[0]!;
  const on = r.on_tables === 'ON' && r.on_binlog === '1' && r.on_log === '1';
  return { done: on && r.total !== '0' && r.total === r.done, detail: `${r.done}/${r.total} tablespaces encrypted; tables ${r.on_tables}, binlog ${r.on_binlog}, redo ${r.on_log}` };
}

/**
 * Has the server been restarted into this task's configuration? Encryption on, and the table key
 * id in use (file_key_management reads its key file at startup only: a rotated key needs a restart).
 */
async function restartedWithKey(c: BackupCtx, n: Node): Promise<boolean> {
  const r = (await c.suSql(n, ['SELECT @@GLOBAL.encrypt_binlog AS b, @@GLOBAL.innodb_default_encryption_key_id AS k']))[0];
  return r?.b === '1' && Number(r?.k) === (await tableKey(c));
}

async function restart(c: BackupCtx, n: Node, s: StepScope): Promise<number> {
  const t0 = Date.now();
  await c.remote(n, script(stopBody(n.layout)), s, { timeoutSec: 120 });
  await c.remote(n, startScript(n.layout), s);
  await waitAnswering(c, n, s);
  return Date.now() - t0;
}

function restartFor(role: 'master' | 'slave'): Step {
  return {
    name: `do_restart_${role}_for_encryption`,
    role,
    timeoutSec: 600,
    effect: 'remote',
    plan: (n) => [`on ${n.host}: stop mysqld (TERM, wait), start it with the new my.cnf, wait until it answers${role === 'master' ? ' (the instance is not writable meanwhile: the downtime is recorded)' : ''}`],
    probe: async (c, [n]) => restartedWithKey(c, n!),
    async run(c, [n], s) {
      const ms = await restart(c, n!, s);
      const rep = await waitReplicating(c, n!, s, 120_000);
      return `${n!.host} restarted with encryption on: ${role === 'master' ? `the master was down ${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(1)} s, the master stayed writable`}; replicating from ${rep.Master_Host}:${rep.Master_Port}`;
    },
  };
}

/** After the switchover: the old master, now the standby, restarts; the new master takes the writes. */
export const restartOldMaster: Step = {
  name: 'do_restart_old_master_for_encryption',
  role: 'master',
  timeoutSec: 600,
  effect: 'remote',
  plan: (n) => [`on ${n.host} (the standby since the switchover): stop mysqld (TERM, wait), start it with the new my.cnf, wait until it answers and replicates from the new master`],
  probe: async (c, [n]) => restartedWithKey(c, n!),
  async run(c, [n], s) {
    const ms = await restart(c, n!, s);
    const rep = await waitReplicating(c, n!, s, 120_000);
    return `${n!.host} restarted with encryption on in ${(ms / 1000).toFixed(1)} s as the standby (the new master took the writes); replicating from ${rep.Master_Host}:${rep.Master_Port}`;
  },
};

function waitEncrypted(role: 'master' | 'slave'): Step {
  return {
    name: `do_wait_tablespaces_encrypted_${role}`,
    role,
    timeoutSec: 1800,
    effect: 'check',
    async run(c, [n], s) {
      let last = '';
      await pollUntil(c, s, 250, async () => {
        const e = await encrypted(c, n!);
        last = e.detail;
        return e.done ? true : undefined;
      });
      return `${n!.host}: ${last}`;
    },
  };
}

/**
 * Binlogs and relay logs written before the restart hold data in clear: the master's are first
 * archived (the log plan: they stay recoverable, in the store), then every server rotates and
 * purges up to its new, encrypted file.
 */
export const doPurgeClearLogs: Step = {
  name: 'do_purge_clear_logs',
  role: 'both',
  timeoutSec: 1800,
  effect: 'remote',
  skip: (c) => (rotating(c) ? '--rotate-key: the logs are encrypted already' : null),
  skipRule: 'skipped for --rotate-key',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port}: FLUSH BINARY LOGS; FLUSH RELAY LOGS; archive its closed binlogs to the store; PURGE BINARY LOGS TO <the new file>`],
  async run(c, nodes, s) {
    for (const n of nodes) await c.suSql(n, ['FLUSH BINARY LOGS', 'FLUSH RELAY LOGS']);
    // Both servers' closed binlogs go to the store first: after a switchover the old master's last
    // files and the new master's own run are both needed for recovery to a point in time.
    const out: string[] = [];
    for (const n of nodes) {
      const a = await archivePass(c, s, { rotate: false, node: n });
      out.push(`archived ${a.archived.length} binlogs of ${a.host}`);
    }
    for (const n of nodes) {
      const logs = await c.suSql(n, ['SHOW BINARY LOGS']);
      const current = logs[logs.length - 1]?.Log_name;
      if (!current) continue;
      await c.suSql(n, [`PURGE BINARY LOGS TO ${sqlString(current)}`]);
      out.push(`${n.host}: binlogs before ${current} purged`);
    }
    return out.join('; ');
  },
};

/** The InnoDB tables of the instance's own schemas that do not use `key` yet (schema, table). */
async function tablesOffKey(c: BackupCtx, n: Node, key: number): Promise<Array<{ s: string; t: string }>> {
  const rows = await c.suSql(n, [
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, CREATE_OPTIONS AS o FROM information_schema.TABLES
      WHERE ENGINE = 'InnoDB' AND TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')`,
  ]);
  // CREATE_OPTIONS reads "`ENCRYPTION_KEY_ID`='3'" (quoting differs between versions).
  const on = new RegExp(`(^|\\s)\`?ENCRYPTION_KEY_ID\`?='?${key}'?(\\s|$)`);
  return rows.filter((r) => !on.test(r.o ?? '')).map((r) => ({ s: r.s!, t: r.t! }));
}

/**
 * --rotate-key, once both servers run with the new key: every InnoDB table of the instance's
 * schemas re-encrypted with it (ALTER TABLE … ENCRYPTION_KEY_ID, online, on the master; the
 * standby does the same through replication), then both servers checked.
 */
export const doReencryptTables: Step = {
  name: 'do_reencrypt_tables_with_new_key',
  role: 'slave',
  timeoutSec: 7200,
  effect: 'remote',
  skip: (c) => (rotating(c) ? null : 'no --rotate-key: new tables get the key at creation'),
  skipRule: 'runs only for --rotate-key',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} (the master since the switchover): ALTER TABLE <each InnoDB table of the instance's schemas> ENCRYPTION_KEY_ID = <new id>; the standby replays it`],
  async probe(c, nodes) {
    const key = await tableKey(c);
    for (const n of encryptNodesOf(c, 'both')) if ((await tablesOffKey(c, n, key)).length) return false;
    return nodes.length > 0;
  },
  async run(c, [n], s) {
    const key = await tableKey(c);
    const todo = await tablesOffKey(c, n!, key);
    for (const t of todo) await c.suSql(n!, [`ALTER TABLE ${sqlIdent(t.s)}.${sqlIdent(t.t)} ENCRYPTION_KEY_ID = ${key}`]);
    const peer = encryptNodesOf(c, 'both').find((x) => x.instanceId !== n!.instanceId)!;
    let left = 0;
    const deadline = Date.now() + 1_800_000;
    await pollUntil(c, s, 500, async () => {
      left = (await tablesOffKey(c, peer, key)).length;
      if (left && Date.now() > deadline) throw new UnhealthyError(`${peer.host}: ${left} tables still not on key id ${key} 30 min after the master's ALTERs (is it replicating?)`);
      return left === 0 ? true : undefined;
    });
    return `${todo.length} tables re-encrypted with key id ${key} on ${n!.host}; ${peer.host} followed through replication`;
  },
};

export const doEnableEncryptionRecord: Step = {
  name: 'do_enable_encryption_record',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) => tx.execute("UPDATE custins_encryption SET status = 'enabled' WHERE custins_id = ?", [c.custins.id]));
    const k = await encryptionOf(c.db, c.custins.id);
    return `${c.custins.ins_name}: encrypted at rest, key ${k?.key_id ?? '-'}${rotating(c) ? ' (rotated)' : ''}`;
  },
};

// ---- the switchover, with src/ha's own steps ----

const HA_CTX = Symbol('haCtx');

/** The switchover steps' context, built from this task's: from/to are the pair of step 1. */
async function haCtxOf(c: BackupCtx): Promise<HaCtx> {
  const cached = (c as BackupCtx & { [HA_CTX]?: HaCtx })[HA_CTX];
  if (cached) return cached;
  const p = pairOf(c);
  if (!p) throw new ConflictError(`task ${c.task.id}: no pair recorded (run ${ENCRYPT_CHECK_STEP})`);
  const h: HaCtx = {
    base: c,
    params: { from_instance_id: p.from_instance_id, to_instance_id: p.to_instance_id, ...(typeof c.task.params.requested_by === 'string' ? { requested_by: c.task.params.requested_by } : {}) },
    from: pick(c, p.from_instance_id),
    to: pick(c, p.to_instance_id),
    route: await loadRoute(c.db, c.custins.id, c.custins.ins_name),
    driver: routeDriver(c.ssh),
    session: (n, fn) => withSu(c, n, fn),
    async sessionWithin(n, connectMs, fn) {
      c.lease.assertHeld();
      const su = await superuserSession(c.db, c.custins.id, n, connectMs);
      try {
        return await fn(su);
      } finally {
        await su.close();
      }
    },
    replicatorPassword: () => secretOf(c.db, c.custins.id, REPLICATOR),
  };
  (c as BackupCtx & { [HA_CTX]?: HaCtx })[HA_CTX] = h;
  return h;
}

type HaStep = (typeof SWITCHOVER_STEPS)[number];

/** One of src/ha's switchover steps, unchanged, run on this task's pair. */
function haStep(st: HaStep): Step {
  const role = st.role as 'master' | 'slave' | 'both' | 'metadb';
  const { probe } = st;
  return {
    name: st.name,
    role,
    timeoutSec: st.timeoutSec,
    effect: st.effect,
    ...(st.plan ? { plan: st.plan } : {}),
    ...(probe
      ? {
          probe: async (c: BackupCtx, _n: Node[], s: StepScope) => {
            const h = await haCtxOf(c);
            return probe(h, haNodesOf(h, role), s);
          },
        }
      : {}),
    async run(c, _n, s) {
      const h = await haCtxOf(c);
      return st.run(h, haNodesOf(h, role), s);
    },
  };
}

/**
 * Before the switchover: the standby that just restarted with encryption on has to be back in
 * step with the master (the switchover's own check refuses more than 5 s of lag).
 */
export const doWaitStandbyReadyForSwitchover: Step = {
  name: 'do_wait_standby_ready_for_switchover',
  role: 'slave',
  timeoutSec: 900,
  effect: 'check',
  async run(c, _n, s) {
    const h = await haCtxOf(c);
    let why: string | null = 'not checked';
    await pollUntil(c, s, 500, async () => {
      const [from, to] = await Promise.all([h.session(h.from, serverState), h.session(h.to, serverState)]);
      why = switchoverReadiness(to, { ip: h.from.ip, port: h.from.port }, MAX_SWITCHOVER_LAG_SEC) ?? (await h.session(h.to, (su) => catchUpWithin(su, from.gtidBinlogPos, MAX_SWITCHOVER_LAG_SEC)));
      return why === null ? true : undefined;
    }).catch((e: unknown) => {
      throw new UnhealthyError(`${h.to.host} is not ready to become the master: ${why ?? (e as Error).message}`);
    });
    return `${h.to.host} replicates from ${h.from.host} within ${MAX_SWITCHOVER_LAG_SEC} s`;
  },
};

/** The switchover recorded as the HA flow records its own (ha_event), and this run's roles follow it. */
export const doRecordEncryptSwitchover: Step = {
  name: 'do_record_encrypt_switchover',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const h = await haCtxOf(c);
    const pause = await switchoverPause(c);
    await c.tx(async (tx) => {
      const had = await tx.query<{ id: number }>("SELECT id FROM ha_event WHERE task_id = ? AND kind = 'switchover'", [c.task.id]);
      if (had.length) return;
      await recordEvent(tx, {
        custinsId: c.custins.id,
        kind: 'switchover',
        oldMaster: h.from.instanceId,
        newMaster: h.to.instanceId,
        taskId: c.task.id,
        actor: h.params.requested_by ?? c.task.created_by ?? null,
        detail: `${h.from.host} -> ${h.to.host}; route ${h.route.route.ip}:${h.route.route.port} -> ${h.to.ip}:${h.to.port}; cause: instance encrypt${pause === null ? '' : `; writes paused ${(pause / 1000).toFixed(1)} s`}`,
      });
    });
    // The metadb roles swapped in do_switch_roles_in_metadb: this run's view follows (a resumed run loads them so).
    if (c.master.instanceId === h.from.instanceId) {
      const [m, sl] = [c.slave, c.master];
      c.master = { ...m, role: 'master' };
      c.slave = { ...sl, role: 'slave' };
    }
    return `${h.from.host} -> ${h.to.host}${pause === null ? '' : `: writes paused ${(pause / 1000).toFixed(1)} s (route blocked to route repointed)`}`;
  },
};

/** Milliseconds from the route's block to its repoint (the switchover's write pause), from the step rows. */
async function switchoverPause(c: BackupCtx): Promise<number | null> {
  const rows = await c.base.store.loadSteps(c.task.id);
  const t = (name: string, k: 'started' | 'finished'): number | null => {
    const r = rows.find((x) => x.step_name === name);
    const v = k === 'started' ? r?.gmt_started : r?.gmt_finished;
    return v ? new Date(v).getTime() : null;
  };
  const a = t('do_block_data_route', 'started');
  const b = t('do_repoint_data_route', 'finished');
  return a !== null && b !== null && b >= a ? b - a : null;
}

/** Version 1: the master restarted in place (a few seconds without writes), no switchover. */
export const ENCRYPT_FLOW_V1: ReadonlyArray<Step> = [
  doCheckEncryptInstance,
  doCreateEncryptionKey,
  doInstallEncryptionKey,
  doAddEncryptionParams,
  restartFor('slave'),
  waitEncrypted('slave'),
  restartFor('master'),
  waitEncrypted('master'),
  doPurgeClearLogs,
  doEnableEncryptionRecord,
];

export const ENCRYPT_FLOW: ReadonlyArray<Step> = [
  doCheckEncryptInstance,
  doCreateEncryptionKey,
  doAddRotatedKey,
  doInstallEncryptionKey,
  doAddEncryptionParams,
  restartFor('slave'),
  waitEncrypted('slave'),
  doWaitStandbyReadyForSwitchover,
  ...SWITCHOVER_STEPS.map(haStep),
  doRecordEncryptSwitchover,
  restartOldMaster,
  waitEncrypted('master'),
  doReencryptTables,
  doPurgeClearLogs,
  doEnableEncryptionRecord,
];

/** The steps a task runs (the others are skipped by rule), for --dry-run. */
export function encryptSteps(rotate: boolean): Step[] {
  const probe = { task: { params: rotate ? { rotate_key: true } : {} } } as unknown as BackupCtx;
  return ENCRYPT_FLOW.filter((s) => !s.skip || s.skip(probe) === null);
}

export const encryptFlow: FlowDef<BackupCtx, Node> = {
  name: ENCRYPT_FLOW_NAME,
  version: 2,
  previous: { 1: ENCRYPT_FLOW_V1 },
  targetKind: 'instance',
  roles: ['master', 'slave', 'both', 'metadb'],
  steps: ENCRYPT_FLOW,
  load: loadBackupCtx,
  nodesOf: encryptNodesOf,
  hostName: (n) => n.host,
  // The instance stays running throughout; custins_encryption records the progress.
  async onDone() {},
};
