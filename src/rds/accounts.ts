import { randomBytes } from 'node:crypto';
import type { Db } from '../remote/mysql.js';
import { ConfigError, DataError } from '../core/errors.js';
import type { Profile } from '../core/config.js';
import { accountHostList, accountName, dbList, oneOf, optional, type RowRef } from './domain.js';
import type { InstanceTable } from './instance-tables.js';
import type { InstanceSession } from '../remote/mysql-instance.js';
import { sqlAccount, sqlIdent } from './sql-text.js';

// The MySQL accounts of a custins. Rows in custins_account describe them; passwords live in
// custins_secret and are read only by code that logs in. A password is generated once and kept:
// re-running a step (resume, goto) must find the same password, or the pair would diverge.

export type AccountType = 'root' | 'replicator' | 'maintain' | 'normal';

export interface AccountSpec {
  name: string;
  type: AccountType;
  /** ALL, HA, REPLICATION, ReadWrite */
  privilege: string;
  /** The hosts the account is bound to: one, or a comma list (system accounts: accountHostsOf). */
  host: string;
  dbs?: string[];
}

export interface AccountRow {
  custins_id: number;
  account_name: string;
  account_type: AccountType;
  host: string;
  privilege: string;
  dbs: string | null;
  status: 'creating' | 'active' | 'deleted';
}

/** The control plane's own superuser: what rdsctl logs in as once root is dropped. */
export const SUPERUSER = 'aliyun_root';
/** The HA service's account (REPLICA MONITOR, no data rights): `check rds` logs in as it. */
export const HA_USER = 'aurora';
export const REPLICATOR = 'replicator';

/**
 * Where the system accounts connect from. They are bound to exactly these addresses, never '%'
 * (issue #16): a leaked maintenance password is then no use from anywhere else.
 */
export interface AccountSources {
  /** The AG hosts rdsctl and the HA watcher run on (profile control_addresses). */
  control: string[];
  /** The pair's own addresses (master and standby IPs): replication, and agents on the NCs. */
  pair: string[];
  /** Where NC-to-NC connections arrive from when not from the NC's address (profile nc_source_addresses: a lab's 127.0.0.1). */
  ncSource: string[];
}

export function accountSources(profile: Pick<Profile, 'name' | 'control_addresses' | 'nc_source_addresses'>, pairIps: string[]): AccountSources {
  if (!profile.control_addresses?.length) {
    throw new ConfigError(`profile "${profile.name}" has no control_addresses: the maintenance accounts of a pair are bound to the addresses rdsctl connects from`, {
      hint: 'set them: rdsctl config set control_addresses <AG address>[,<AG address>…]',
    });
  }
  return { control: profile.control_addresses, pair: pairIps, ncSource: profile.nc_source_addresses ?? [] };
}

function hostList(...lists: string[][]): string {
  return [...new Set(lists.flat())].join(',');
}

/**
 * do_calculate_maintain_user_list: the maintenance users every instance has.
 * - aliyun_root (the one account with GRANT OPTION): rdsctl and the HA flows from the AG, on-host
 *   tools over the socket (localhost: mariadb-backup) and from the pair's NCs.
 * - aurora: the HA service, from the AG only.
 */
export function maintainUsers(src: AccountSources): AccountSpec[] {
  return [
    { name: SUPERUSER, type: 'maintain', privilege: 'ALL', host: hostList(['localhost'], src.control, src.pair, src.ncSource) },
    { name: HA_USER, type: 'maintain', privilege: 'HA', host: hostList(src.control) },
  ];
}

/** The replicator: each server of the pair replicates from the other, so from the pair's addresses only. */
export function replicatorUser(src: AccountSources): AccountSpec {
  return { name: REPLICATOR, type: 'replicator', privilege: 'REPLICATION', host: hostList(src.pair, src.ncSource) };
}

/** The system accounts as they must be for a pair at these addresses (after a move or a clone, too). */
export function systemAccountSpecs(src: AccountSources): AccountSpec[] {
  return [...maintainUsers(src), replicatorUser(src)];
}

/** The hosts of an account row or spec. */
export function hostsOf(a: { host: string }): string[] {
  return a.host.split(',');
}

/** 24 characters with upper, lower and digits: passes the console's rule and needs no escaping. */
export function generatePassword(): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789'];
  const all = sets.join('');
  const bytes = randomBytes(24);
  const chars = [...bytes].map((b, i) => (i < sets.length ? sets[i]![b % sets[i]!.length]! : all[b % all.length]!));
  // Shuffle so the class-guaranteeing characters are not always first.
  const order = randomBytes(chars.length);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = order[i]! % (i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

/**
 * Record an account and its password unless it is already recorded (then the stored password
 * wins). Returns the password in force.
 */
export async function ensureAccount(tx: Db, custinsId: number, a: AccountSpec, password: string): Promise<string> {
  await tx.execute(
    `INSERT INTO custins_account (custins_id, account_name, account_type, host, privilege, dbs, status) VALUES (?, ?, ?, ?, ?, ?, 'creating')
     ON DUPLICATE KEY UPDATE account_type = VALUES(account_type), privilege = VALUES(privilege), host = VALUES(host), dbs = VALUES(dbs),
       status = IF(status = 'deleted', 'creating', status)`,
    [custinsId, a.name, a.type, a.host, a.privilege, a.dbs?.length ? a.dbs.join(',') : null],
  );
  await tx.execute('INSERT IGNORE INTO custins_secret (custins_id, account_name, secret) VALUES (?, ?, ?)', [custinsId, a.name, password]);
  return secretOf(tx, custinsId, a.name);
}

export async function secretOf(db: Db, custinsId: number, name: string): Promise<string> {
  const rows = await db.query<{ secret: string }>('SELECT secret FROM custins_secret WHERE custins_id = ? AND account_name = ?', [custinsId, name]);
  if (!rows[0]) throw new DataError(`custins ${custinsId} has no stored password for account ${name} (was do_calculate_maintain_user_list skipped?)`);
  return rows[0].secret;
}

export async function accountsOf(db: Db, custinsId: number, o: { types?: AccountType[]; includeDeleted?: boolean } = {}): Promise<AccountRow[]> {
  const where = ['custins_id = ?'];
  const params: unknown[] = [custinsId];
  if (!o.includeDeleted) where.push("status <> 'deleted'");
  if (o.types?.length) {
    where.push(`account_type IN (${o.types.map(() => '?').join(',')})`);
    params.push(...o.types);
  }
  const rows = await db.query<AccountRow>(`SELECT custins_id, account_name, account_type, host, privilege, dbs, status FROM custins_account WHERE ${where.join(' AND ')} ORDER BY FIELD(account_type, 'root', 'maintain', 'replicator', 'normal'), account_name`, params);
  return rows.map(checkAccountRow);
}

/** A custins_account row as loaded: name, host, privilege kind and databases checked (domain.ts). */
export function checkAccountRow(r: AccountRow): AccountRow {
  const ref: RowRef = { table: 'dbaas.custins_account', key: `custins_id=${r.custins_id} account_name=${JSON.stringify(r.account_name)}` };
  accountName(ref, 'account_name', r.account_name);
  oneOf(ref, 'account_type', r.account_type, ['root', 'replicator', 'maintain', 'normal']);
  accountHostList(ref, 'host', r.host);
  oneOf(ref, 'privilege', r.privilege, ['ALL', 'HA', 'REPLICATION', 'ReadWrite']);
  optional(ref, 'dbs', r.dbs, dbList);
  return r;
}

export function accountSpecOf(r: AccountRow): AccountSpec {
  return { name: r.account_name, type: r.account_type, privilege: r.privilege, host: r.host, dbs: r.dbs ? r.dbs.split(',') : [] };
}

/** The GRANT statements an account needs, by its privilege kind (MariaDB 10.11 privilege names). */
export function grantsFor(a: AccountSpec, account: string, ident: (s: string) => string): string[] {
  switch (a.privilege) {
    case 'ALL':
      return [`GRANT ALL PRIVILEGES ON *.* TO ${account} WITH GRANT OPTION`];
    case 'HA':
      return [`GRANT RELOAD, PROCESS, SUPER, BINLOG MONITOR, REPLICATION SLAVE, REPLICATION SLAVE ADMIN, REPLICA MONITOR, READ_ONLY ADMIN, CONNECTION ADMIN ON *.* TO ${account}`];
    case 'REPLICATION':
      return [`GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO ${account}`];
    case 'ReadWrite':
      // In a db-level GRANT, _ and % are wildcards: escape them so app_db does not also cover appxdb.
      return (a.dbs ?? []).map(
        (d) =>
          `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER ON ${ident(d.replace(/[_%]/g, '\\$&'))}.* TO ${account}`,
      );
    default:
      throw new DataError(`account ${a.name}: unknown privilege kind ${a.privilege}`);
  }
}

// --- Writers of custins_account, custins_secret and custins_db (the install flow's) ---

export const ACCOUNT_TABLE: InstanceTable = { table: 'custins_account', release: "UPDATE custins_account SET status = 'deleted' WHERE custins_id = ?" };
export const SECRET_TABLE: InstanceTable = { table: 'custins_secret', release: 'DELETE FROM custins_secret WHERE custins_id = ?' };
export const DB_TABLE: InstanceTable = { table: 'custins_db', release: "UPDATE custins_db SET status = 'deleted' WHERE custins_id = ?" };

/** The install's own root account is gone once dropped on the servers: no record, no secret. */
export async function forgetRootAccount(tx: Db, custinsId: number): Promise<void> {
  await tx.execute("UPDATE custins_account SET status = 'deleted' WHERE custins_id = ? AND account_name = 'root'", [custinsId]);
  await tx.execute("DELETE FROM custins_secret WHERE custins_id = ? AND account_name = 'root'", [custinsId]);
}

/** Accounts (but root) and databases being created become active; returns the accounts activated. */
export async function activateAccountsAndDbs(tx: Db, custinsId: number): Promise<number> {
  const a = await tx.execute("UPDATE custins_account SET status = 'active' WHERE custins_id = ? AND status = 'creating' AND account_type <> 'root'", [custinsId]);
  await tx.execute("UPDATE custins_db SET status = 'active' WHERE custins_id = ? AND status = 'creating'", [custinsId]);
  return a.affectedRows;
}

/**
 * Bind accounts on one server to exactly their hosts: a missing user@host is created (with its
 * password and grants), any other host of the same user is dropped. Unlogged (sql_log_bin = 0):
 * every server is bound on its own, so nothing with a password reaches a binlog and the standby
 * never applies a DROP of an account it still needs. For the pair's system accounts after the
 * pair's addresses changed (a standby moved, a clone restored from another pair's data).
 */
export async function bindAccounts(su: InstanceSession, accounts: Array<{ spec: AccountSpec; password: string }>): Promise<{ created: string[]; dropped: string[] }> {
  const created: string[] = [];
  const dropped: string[] = [];
  await su.query('SET SESSION sql_log_bin = 0');
  try {
    for (const { spec, password } of accounts) {
      const want = hostsOf(spec);
      const have = (await su.query<{ Host: string }>('SELECT Host FROM mysql.user WHERE User = ?', [spec.name])).map((r) => String(r.Host));
      for (const h of want) {
        const acc = sqlAccount(spec.name, h);
        if (!have.includes(h)) {
          await su.query(`CREATE USER ${acc} IDENTIFIED BY ?`, [password]);
          created.push(`${spec.name}@${h}`);
        }
        for (const g of grantsFor(spec, acc, sqlIdent)) await su.query(g);
      }
      for (const h of have.filter((x) => !want.includes(x))) {
        await su.query(`DROP USER ${sqlAccount(spec.name, h)}`);
        dropped.push(`${spec.name}@${h}`);
      }
    }
  } finally {
    await su.query('SET SESSION sql_log_bin = 1');
  }
  return { created, dropped };
}
