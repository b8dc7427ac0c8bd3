import { script } from '../rds/host-ops.js';
import type { HostLayout } from '../rds/layout.js';
import type { Db } from '../remote/mysql.js';
import { sh, shq } from '../remote/quote.js';
import { RemoteError } from '../core/errors.js';
import type { InstallCtx } from '../flow/install/context.js';
import type { StepScope } from '../flow/types.js';
import { keyDir, ncToStore, storeOf, type Store } from './store.js';

// Data-at-rest encryption state of an instance, as the metadb records it (the key itself never).

export interface EncryptionRow {
  custins_id: number;
  key_id: string;
  key_sha256: string;
  status: 'enabling' | 'enabled' | 'rotating';
}

export async function encryptionOf(db: Db, custinsId: number): Promise<EncryptionRow | null> {
  return (await db.query<EncryptionRow>('SELECT custins_id, key_id, key_sha256, status FROM custins_encryption WHERE custins_id = ?', [custinsId]))[0] ?? null;
}

// ---- the key and the server options (file_key_management) ----

/**
 * The key file lives beside the binlogs (not in the datadir, so mariadb-backup never copies it
 * into a set). my.cnf names it relative to the datadir, mariadbd's working directory: the same
 * value then holds on every host whatever its filesystem root.
 */
export function keyFilePath(l: HostLayout): string {
  return `${l.dbsDir}/keys/keyfile`;
}

export function keyFileFromDatadir(port: number): string {
  return `../../../mysqldata/dbs${port}/keys/keyfile`;
}

/**
 * InnoDB tablespaces, redo, undo and temporary tables, Aria, binlogs and relay logs, temporary
 * files. `tableKey` is the key id new InnoDB tables are encrypted with (1 until a rotation).
 */
export function encryptionParams(port: number, tableKey = 1): Array<{ name: string; value: string }> {
  return [
    { name: 'innodb_default_encryption_key_id', value: String(tableKey) },
    { name: 'plugin_load_add', value: 'file_key_management' },
    { name: 'file_key_management_filename', value: keyFileFromDatadir(port) },
    { name: 'file_key_management_encryption_algorithm', value: 'AES_CTR' },
    { name: 'innodb_encrypt_tables', value: 'ON' },
    { name: 'innodb_encrypt_log', value: 'ON' },
    { name: 'innodb_encrypt_temporary_tables', value: 'ON' },
    { name: 'innodb_encryption_threads', value: '4' },
    { name: 'innodb_encryption_rotate_key_age', value: '1' },
    { name: 'aria_encrypt_tables', value: 'ON' },
    { name: 'encrypt_tmp_disk_tables', value: 'ON' },
    { name: 'encrypt_tmp_files', value: 'ON' },
    { name: 'encrypt_binlog', value: 'ON' },
  ];
}

/**
 * On an NC: make the key file unless it exists (two 256-bit keys from openssl, "id;hex" lines),
 * 0600 and owned by the user mysqld runs as, in a 0700 directory. Prints its sha256. The key is
 * made here and never leaves NCs and the store: rdsctl sees its fingerprint only.
 */
export function makeKeyScript(l: HostLayout): string {
  const dir = `${l.dbsDir}/keys`;
  const file = keyFilePath(l);
  return script(
    sh`u=$(stat -c %U ${l.dbsDir}); mkdir -p ${dir}; chmod 700 ${dir}; ` +
      sh`if [ ! -s ${file} ]; then umask 077; printf '1;%s\\n2;%s\\n' "$(openssl rand -hex 32)" "$(openssl rand -hex 32)" > ${file + '.tmp'}; mv -f ${file + '.tmp'} ${file}; fi; ` +
      sh`chown "$u": ${dir} ${file}; chmod 600 ${file}; sha256sum ${file} | cut -d" " -f1`,
  );
}

/** On an NC: its key file to the store's keys/<key_id> (0600), unless the store has it. */
export function pushKeyScript(s: Store, l: HostLayout, storeKey: string): string {
  return script(`${ncToStore(s, sh`umask 077; mkdir -p "$(dirname ${storeKey})"; test -s ${storeKey} || { cat > ${storeKey + '.tmp'} && mv -f ${storeKey + '.tmp'} ${storeKey}; }; sha256sum ${storeKey} | cut -d" " -f1`)} < ${shq(keyFilePath(l))}`);
}

/** On an NC: the store's keys/<key_id> as this instance's key file, 0600, owned by mysqld's user. */
export function pullKeyScript(s: Store, l: HostLayout, storeKey: string): string {
  const dir = `${l.dbsDir}/keys`;
  const file = keyFilePath(l);
  return script(
    sh`u=$(stat -c %U ${l.dbsDir}); mkdir -p ${dir}; chmod 700 ${dir}; umask 077; ` +
      `${ncToStore(s, sh`cat ${storeKey}`)} > ${shq(file + '.tmp')}; ` +
      sh`test -s ${file + '.tmp'} || { echo "the store's key "${storeKey}" is empty or missing" >&2; exit 1; }; mv -f ${file + '.tmp'} ${file}; chown "$u": ${dir} ${file}; chmod 600 ${file}; sha256sum ${file} | cut -d" " -f1`,
  );
}

/** The key id an instance's InnoDB tables use (innodb_default_encryption_key_id in its parameters; 1 before any rotation). */
export async function tableKeyOf(db: Db, custinsId: number): Promise<number> {
  const v = (await db.query<{ value: string }>("SELECT value FROM mycnf_custinstance WHERE custins_id = ? AND name = 'innodb_default_encryption_key_id'", [custinsId]))[0]?.value;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/**
 * On an NC, --rotate-key: a new key appended to the key file (the next id, 256 bits from
 * openssl) unless the file is no longer the one the rotation began with (`oldSha`: a re-run
 * after the append appends nothing). Old keys stay: the system tablespace, redo log, binlogs,
 * relay logs and every backup set made before still need them. Prints "<newest id> <sha256>".
 */
export function appendKeyScript(l: HostLayout, oldSha: string): string {
  if (!/^[0-9a-f]{64}$/.test(oldSha)) throw new Error('appendKeyScript: oldSha is not a sha256');
  const file = keyFilePath(l);
  return script(
    sh`test -s ${file} || { echo "no key file at "${file} >&2; exit 1; }; u=$(stat -c %U ${l.dbsDir}); ` +
      sh`if [ "$(sha256sum ${file} | cut -d" " -f1)" = ${oldSha} ]; then ` +
      sh`n=$(($(cut -d";" -f1 ${file} | sort -n | tail -n 1) + 1)); umask 077; { cat ${file}; printf '%s;%s\n' "$n" "$(openssl rand -hex 32)"; } > ${file + '.tmp'}; ` +
      sh`chown "$u": ${file + '.tmp'}; chmod 600 ${file + '.tmp'}; mv -f ${file + '.tmp'} ${file}; fi; ` +
      sh`printf '%s %s\n' "$(cut -d";" -f1 ${file} | sort -n | tail -n 1)" "$(sha256sum ${file} | cut -d" " -f1)"`,
  );
}

export function keySha256Script(l: HostLayout): string {
  return sh`sha256sum ${keyFilePath(l)} 2>/dev/null | cut -d" " -f1`;
}

export function newKeyId(custinsId: number, now: Date): string {
  return `k${custinsId}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/**
 * instance create --encrypt (from do_build_mysql_params): the key made on the master's NC (kept
 * when it exists), filed in the store, installed on the standby, recorded (id and fingerprint).
 */
export async function ensureInstanceKey(c: InstallCtx, s: StepScope): Promise<string> {
  const store = storeOf(c.profile);
  const existing = await encryptionOf(c.db, c.custins.id);
  const keyId = existing?.key_id ?? newKeyId(c.custins.id, new Date());
  const storeKey = `${keyDir(store, c.custins.ins_name)}/${keyId}`;
  const sha = (await c.remote(c.master, makeKeyScript(c.master.layout), s)).trim();
  if (existing && existing.key_sha256 !== sha) throw new RemoteError(`${c.master.host}: its key file is not the recorded key ${existing.key_id}`, { host: c.master.host });
  const stored = (await c.remote(c.master, pushKeyScript(store, c.master.layout, storeKey), s)).trim();
  if (stored !== sha) throw new RemoteError(`${store.host}: keys/${keyId} differs from ${c.master.host}'s key`, { host: store.host });
  const slaveSha = (await c.remote(c.slave, pullKeyScript(store, c.slave.layout, storeKey), s)).trim();
  if (slaveSha !== sha) throw new RemoteError(`${c.slave.host}: the key from the store does not match its fingerprint`, { host: c.slave.host });
  await c.tx((tx) => tx.execute("INSERT INTO custins_encryption (custins_id, key_id, key_sha256, status) VALUES (?, ?, ?, 'enabled') ON DUPLICATE KEY UPDATE key_id = key_id", [c.custins.id, keyId, sha]));
  return `encryption key ${keyId} on ${c.master.host}, ${c.slave.host} and ${store.host}`;
}
