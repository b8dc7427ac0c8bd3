import { ConflictError, RemoteError } from '../core/errors.js';
import { nodesOf, pollUntil } from '../flow/install/context.js';
import { waitAnswering, writeMyCnf } from '../flow/install/host-setup.js';
import { waitReplicating } from '../flow/install/replication.js';
import type { FlowDef, StepDef, StepScope } from '../flow/types.js';
import { script, startScript, stopBody } from '../rds/host-ops.js';
import type { Node } from '../rds/layout.js';
import { sqlString } from '../rds/sql-text.js';
import { archivePass } from './binlogs.js';
import { loadBackupCtx, type BackupCtx } from './context.js';
import { encryptionOf, encryptionParams, keySha256Script, makeKeyScript, newKeyId, pullKeyScript, pushKeyScript } from './encryption.js';
import { keyDir } from './store.js';

// The encryption flow: data-at-rest encryption (file_key_management) of a running pair. The key
// is made on the master's NC, kept in the store's keys/ (so a clone can carry it) and installed
// on the standby's NC; never in the metadb, never on the jump host. Then the standby restarts
// with encryption on and encrypts its tablespaces, then the master (a short restart: the
// switchover of the HA issue is not on main yet, so the master is down for the time stated in
// the step's detail), and the binlogs and relay logs written before are archived and purged.

export const ENCRYPT_FLOW_NAME = 'encrypt';

type Step = StepDef<BackupCtx, Node>;

async function keyRow(c: BackupCtx): Promise<{ key_id: string; key_sha256: string }> {
  const r = await encryptionOf(c.db, c.custins.id);
  if (!r) throw new ConflictError(`${c.custins.ins_name}: no key yet (run do_create_encryption_key)`);
  return r;
}

export const doCheckEncryptInstance: Step = {
  name: 'do_check_encrypt_instance',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    if (c.custins.status !== 'running') throw new ConflictError(`instance ${c.custins.ins_name} is ${c.custins.status}`);
    const r = await encryptionOf(c.db, c.custins.id);
    return r ? `key ${r.key_id} (${r.status}) already recorded: continuing` : 'not encrypted yet';
  },
};

export const doCreateEncryptionKey: Step = {
  name: 'do_create_encryption_key',
  role: 'master',
  timeoutSec: 120,
  effect: 'remote',
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
    const stored = (await c.remote(n!, pushKeyScript(c.profile, c.store, n!.host, n!.layout, `${keyDir(c.store, c.custins.ins_name)}/${keyId}`), s)).trim();
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
    const sha = (await c.remote(n!, pullKeyScript(c.profile, c.store, n!.host, n!.layout, `${keyDir(c.store, c.custins.ins_name)}/${k.key_id}`), s)).trim();
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
    const rows = encryptionParams(c.master.port);
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
    probe: async (c, [n]) => (await c.suSql(n!, ['SELECT @@GLOBAL.encrypt_binlog AS b']))[0]?.b === '1',
    async run(c, [n], s) {
      const ms = await restart(c, n!, s);
      const rep = await waitReplicating(c, n!, s, 120_000);
      return `${n!.host} restarted with encryption on: ${role === 'master' ? `the master was down ${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(1)} s, the master stayed writable`}; replicating from ${rep.Master_Host}:${rep.Master_Port}`;
    },
  };
}

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
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port}: FLUSH BINARY LOGS; (master: archive closed binlogs to the store); PURGE BINARY LOGS TO <the new file>; FLUSH RELAY LOGS`],
  async run(c, nodes, s) {
    for (const n of nodes) await c.suSql(n, ['FLUSH BINARY LOGS', 'FLUSH RELAY LOGS']);
    const a = await archivePass(c, s, { rotate: false });
    const out: string[] = [`archived ${a.archived.length} binlogs of ${a.host}`];
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

export const doEnableEncryptionRecord: Step = {
  name: 'do_enable_encryption_record',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) => tx.execute("UPDATE custins_encryption SET status = 'enabled' WHERE custins_id = ?", [c.custins.id]));
    return `${c.custins.ins_name}: encrypted at rest`;
  },
};

export const ENCRYPT_FLOW: ReadonlyArray<Step> = [
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

export const encryptFlow: FlowDef<BackupCtx, Node> = {
  name: ENCRYPT_FLOW_NAME,
  version: 1,
  targetKind: 'instance',
  roles: ['master', 'slave', 'both', 'metadb'],
  steps: ENCRYPT_FLOW,
  load: loadBackupCtx,
  nodesOf,
  hostName: (n) => n.host,
  // The instance stays running throughout; custins_encryption records the progress.
  async onDone() {},
};

