import { ConflictError, UsageError } from '../../core/errors.js';
import { SUPERUSER, accountSources, accountSpecOf, bindAccounts, forgetRootAccount, accountsOf, ensureAccount, generatePassword, grantsFor, hostsOf, secretOf, systemAccountSpecs, type AccountRow, type AccountSources } from '../../rds/accounts.js';
import { socketSqlCommand } from '../../rds/host-ops.js';
import type { Node } from '../../rds/layout.js';
import { dbName, word } from '../../rds/domain.js';
import { RESERVED_ACCOUNTS, RESERVED_DBS } from '../../rds/names.js';
import { sqlAccount, sqlIdent, sqlString } from '../../rds/sql-text.js';
import type { SqlRow } from '../../rds/instance-sql.js';
import type { StepDef, StepScope } from '../types.js';
import { is55, peerOf, withSu, type InstallCtx } from './context.js';

// Accounts and databases on the instance: the maintenance users and the replicator, the
// customer's accounts and databases, and root's end: a random password, then dropped.
//
// No password ever reaches a binlog: CREATE/ALTER USER … IDENTIFIED BY would be replicated in
// clear (the master's binlog, the standby's relay log and, with log_slave_updates, its binlog),
// where the replicator and HA accounts read it back with SHOW BINLOG EVENTS. So every statement
// that carries a password runs with sql_log_bin = 0, on each host separately, and only the
// GRANTs (no secret in them) are replicated from the master, after the users exist on both.

type Step = StepDef<InstallCtx, Node>;

/** Where this pair's system accounts connect from: the profile's AG addresses and the pair's own. */
export function pairSources(c: InstallCtx): AccountSources {
  return accountSources(c.profile, [c.master.ip, c.slave.ip]);
}

/**
 * The system accounts bound to the pair as it is now (after a standby moved to another NC, or a
 * clone whose restored data carries another pair's accounts): custins_account.host first, then
 * each server, unlogged. The passwords stay.
 */
export async function bindPairAccounts(c: InstallCtx, nodes: Node[], keep: string[] = []): Promise<string> {
  const bound = systemAccountSpecs(pairSources(c));
  // On the servers, `keep` addresses stay bound too (a migrate's old standby, until it is removed).
  const specs = keep.length ? systemAccountSpecs(accountSources(c.profile, [c.master.ip, c.slave.ip, ...keep])) : bound;
  const passwords = await c.tx(async (tx) => Promise.all(bound.map(async (spec) => ensureAccount(tx, c.custins.id, spec, generatePassword()))));
  const accounts = specs.map((spec, i) => ({ spec, password: passwords[i]! }));
  const out: string[] = [];
  for (const n of nodes) {
    const r = await withSu(c, n, (su) => bindAccounts(su, accounts));
    out.push(`${n.host}: ${r.created.length} created${r.dropped.length ? `, dropped ${r.dropped.join(' ')}` : ''}`);
  }
  return out.join('; ');
}

/** Are the pair's system accounts on this server exactly as custins_account binds them? */
export async function pairAccountsBound(c: InstallCtx, n: Node): Promise<boolean> {
  const specs = systemAccountSpecs(pairSources(c));
  return withSu(c, n, async (su) => {
    for (const spec of specs) {
      const have = (await su.query<{ Host: string }>('SELECT Host FROM mysql.user WHERE User = ?', [spec.name])).map((r) => String(r.Host)).sort();
      if (have.join(',') !== [...hostsOf(spec)].sort().join(',')) return false;
    }
    return true;
  });
}

async function systemAccounts(c: InstallCtx): Promise<AccountRow[]> {
  return accountsOf(c.db, c.custins.id, { types: ['maintain', 'replicator'] });
}

/** Statements that set passwords: unlogged (session sql_log_bin = 0), then logging back on. */
async function createUsersSql(c: InstallCtx, rows: AccountRow[]): Promise<string[]> {
  const out: string[] = [NO_BINLOG];
  for (const r of rows) {
    const pw = sqlString(await secretOf(c.db, c.custins.id, r.account_name));
    for (const h of hostsOf(r)) {
      const acc = sqlAccount(r.account_name, h);
      out.push(`CREATE USER IF NOT EXISTS ${acc} IDENTIFIED BY ${pw}`, `ALTER USER ${acc} IDENTIFIED BY ${pw}`);
    }
  }
  out.push('SET SESSION sql_log_bin = 1');
  return out;
}
export const NO_BINLOG = 'SET SESSION sql_log_bin = 0';

/** Before the superuser exists only root over the socket can look; afterwards TCP is cheaper. */
type Via = 'socket' | 'su';

async function sqlVia(c: InstallCtx, n: Node, via: Via, statements: string[], s: StepScope): Promise<SqlRow[]> {
  return via === 'su' ? c.suSql(n, statements) : c.sql(n, statements.map((x) => x + ';').join('\n'), s);
}

/** Which of the accounts' user@host pairs exist on the server. */
async function missingAccounts(c: InstallCtx, n: Node, rows: AccountRow[], s: StepScope, via: Via): Promise<string[]> {
  if (!rows.length) return [];
  const have = await sqlVia(c, n, via, [`SELECT CONCAT(User, '@', Host) AS a FROM mysql.user WHERE User IN (${rows.map((r) => sqlString(r.account_name)).join(', ')})`], s);
  const got = new Set(have.map((r) => r.a ?? ''));
  return rows.flatMap((r) => hostsOf(r).map((h) => `${r.account_name}@${h}`)).filter((a) => !got.has(a));
}

// On the master only; the standby gets the same users, unlogged too, from
// do_install_duallmaster_slave, just before it starts replicating the GRANTs from the master.
export const doInitializeMysqlAccountByMaster: Step = {
  name: 'do_initialize_mysql_account_by_master',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [`${socketSqlCommand(n.layout)}  # stdin: ${NO_BINLOG}; CREATE USER IF NOT EXISTS / ALTER USER … IDENTIFIED BY <masked> for the maintenance users and the replicator in custins_account`],
  async probe(c, [n], s) {
    return systemUsersExist(c, n!, s);
  },
  async run(c, [n], s) {
    return `${(await createSystemUsers(c, n!, s)).join(', ')} (not binlogged)`;
  },
};

/** Do the maintenance users and the replicator exist on this host (root over its socket)? */
export async function systemUsersExist(c: InstallCtx, n: Node, s: StepScope): Promise<boolean> {
  return (await missingAccounts(c, n, await systemAccounts(c), s, 'socket')).length === 0;
}

/** The maintenance users and the replicator on one host, root over its socket, not binlogged. */
export async function createSystemUsers(c: InstallCtx, n: Node, s: StepScope): Promise<string[]> {
  const rows = await systemAccounts(c);
  if (!rows.length) throw new ConflictError('no maintenance users or replicator in custins_account: run do_calculate_maintain_user_list and do_init_replicator_into_meta first');
  await c.sql(n, (await createUsersSql(c, rows)).map((x) => x + ';').join('\n'), s);
  return rows.map((r) => r.account_name);
}

function grantsSql(rows: AccountRow[]): string[] {
  return rows.flatMap((r) => hostsOf(r).flatMap((h) => grantsFor(accountSpecOf(r), sqlAccount(r.account_name, h), sqlIdent)));
}

const PRIV_MARK: Record<string, string> = { ALL: 'GRANT ALL PRIVILEGES ON *.*', HA: 'REPLICATION SLAVE', REPLICATION: 'REPLICATION SLAVE', ReadWrite: 'GRANT SELECT, INSERT' };

async function grantsInPlace(c: InstallCtx, n: Node, rows: AccountRow[], s: StepScope, via: Via): Promise<boolean> {
  for (const r of rows) {
    for (const h of hostsOf(r)) {
      let shown: string;
      try {
        shown = (await sqlVia(c, n, via, [`SHOW GRANTS FOR ${sqlAccount(r.account_name, h)}`], s)).map((x) => Object.values(x)[0] ?? '').join('\n');
      } catch {
        return false;
      }
      if (!shown.includes(PRIV_MARK[r.privilege] ?? '\0')) return false;
    }
  }
  return true;
}

export const doGrantMasterByMaster: Step = {
  name: 'do_grant_master_by_master',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  // As root over the socket: these grants are what make the superuser a superuser.
  plan: (n) => [`${socketSqlCommand(n.layout)}  # stdin: the GRANTs of the maintenance users and the replicator`],
  probe: async (c, [n], s) => grantsInPlace(c, n!, await systemAccounts(c), s, 'socket'),
  async run(c, [n], s) {
    const rows = await systemAccounts(c);
    const grants = grantsSql(rows);
    await sqlVia(c, n!, 'socket', grants, s);
    return `${grants.length} grants for ${rows.map((r) => r.account_name).join(', ')}`;
  },
};

const FOR55_RULE = 'applies to MySQL 5.5 only';

function for55(name: string, role: 'master' | 'slave'): Step {
  return {
    name,
    role,
    timeoutSec: 30,
    effect: 'check',
    skipRule: FOR55_RULE,
    skip: (c) => (is55(c) ? null : `${FOR55_RULE}; this instance is ${c.custins.engine} ${c.custins.version}`),
    async run(c) {
      throw new UsageError(`${name} is for MySQL 5.5 and this rdsctl installs no 5.5 servers (instance is ${c.custins.version})`);
    },
  };
}
export const doInstallPluginFor55Master = for55('do_install_plugin_for55', 'master');
export const doInstallPluginFor55Slave = for55('do_install_plugin_for55', 'slave');
export const doAddFlashbackPrivilegeFor55Master = for55('do_add_flashback_privilege_for55', 'master');
export const doAddFlashbackPrivilegeFor55Slave = for55('do_add_flashback_privilege_for55', 'slave');

/** custins_db rows, checked as loaded (rds/domain.ts). */
async function customerDbs(c: InstallCtx): Promise<Array<{ db_name: string; charset: string }>> {
  const rows = await c.db.query<{ db_name: unknown; charset: unknown }>("SELECT db_name, charset FROM custins_db WHERE custins_id = ? AND status <> 'deleted' ORDER BY db_name", [c.custins.id]);
  return rows.map((r) => {
    const ref = { table: 'dbaas.custins_db', key: `custins_id=${c.custins.id} db_name=${JSON.stringify(r.db_name)}` };
    return { db_name: dbName(ref, 'db_name', r.db_name), charset: word(ref, 'charset', r.charset) };
  });
}

async function normalAccounts(c: InstallCtx): Promise<AccountRow[]> {
  return accountsOf(c.db, c.custins.id, { types: ['normal'] });
}

export const doCheckAccountsAndDbs: Step = {
  name: 'do_check_accounts_and_dbs',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const accounts = await normalAccounts(c);
    const dbs = await customerDbs(c);
    const dbNames = new Set(dbs.map((d) => d.db_name));
    const missing = c.params.accounts.filter((a) => !accounts.some((r) => r.account_name === a));
    if (missing.length) throw new ConflictError(`requested accounts missing from custins_account: ${missing.join(', ')}`);
    for (const a of accounts) {
      if (RESERVED_ACCOUNTS.includes(a.account_name)) throw new UsageError(`account ${a.account_name} is reserved`);
      for (const d of a.dbs ? a.dbs.split(',') : []) if (!dbNames.has(d)) throw new ConflictError(`account ${a.account_name} is granted on ${d}, which is not a database of this instance`);
    }
    for (const d of dbNames) if (RESERVED_DBS.includes(d)) throw new UsageError(`database ${d} is reserved`);
    return `${accounts.length} accounts, ${dbNames.size} databases to create`;
  },
};

export const doCreateAccounts: Step = {
  name: 'do_create_accounts',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  skipRule: 'no --account given',
  skip: (c) => (c.params.accounts.length ? null : 'no account was requested (--account)'),
  plan: (n, v) => [
    ...[n, v.peer].map((h) => `SQL over TCP to ${h.ip}:${h.port} as ${SUPERUSER}: ${NO_BINLOG}; CREATE USER IF NOT EXISTS / ALTER USER … IDENTIFIED BY <masked> for each --account`),
    `SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: the ReadWrite GRANTs on the --db databases (replicated; no password in them)`,
  ],
  async probe(c, [n], s) {
    const rows = await normalAccounts(c);
    for (const h of [n!, peerOf(c, n!)]) if ((await missingAccounts(c, h, rows, s, 'su')).length) return false;
    return grantsInPlace(c, n!, rows, s, 'su');
  },
  async run(c, [n]) {
    const rows = await normalAccounts(c);
    const users = await createUsersSql(c, rows);
    // Users on both hosts first: a replicated GRANT for a user the standby lacks stops its SQL thread.
    for (const h of [n!, peerOf(c, n!)]) await c.suSql(h, users);
    await c.suSql(n!, grantsSql(rows));
    return rows.map((r) => `${r.account_name} (ReadWrite on ${r.dbs ?? 'no database'})`).join(', ');
  },
};

export const doCreateDbs: Step = {
  name: 'do_create_dbs',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  skipRule: 'no --db given',
  skip: (c) => (c.params.dbs.length ? null : 'no database was requested (--db)'),
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: CREATE DATABASE IF NOT EXISTS … CHARACTER SET utf8mb4 for each --db`],
  async probe(c, [n]) {
    const rows = await c.suSql(n!, [`SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${c.params.dbs.map(sqlString).join(', ')})`]);
    return rows.length === c.params.dbs.length;
  },
  async run(c, [n]) {
    const dbs = await customerDbs(c);
    await c.suSql(n!, dbs.map((d) => `CREATE DATABASE IF NOT EXISTS ${sqlIdent(d.db_name)} CHARACTER SET ${sqlIdent(d.charset)}`));
    return dbs.map((d) => d.db_name).join(', ');
  },
};

async function rootExists(c: InstallCtx, n: Node): Promise<boolean> {
  return withSu(c, n, async (su) => (await su.query<{ n: number }>("SELECT COUNT(*) AS n FROM mysql.user WHERE User = 'root' AND Host = 'localhost'"))[0]!.n > 0);
}

function resetRootPassword(role: 'master' | 'slave'): Step {
  return {
    name: 'do_reset_root_password',
    role,
    timeoutSec: 60,
    effect: 'remote',
    plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: SET SESSION sql_log_bin = 0; ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(<masked, new random>)`],
    probe: async (c, [n]) => !(await rootExists(c, n!)),
    async run(c, [n]) {
      const pw = await c.tx((tx) => ensureAccount(tx, c.custins.id, { name: 'root', type: 'root', privilege: 'ALL', host: 'localhost' }, generatePassword()));
      return withSu(c, n!, async (su) => {
        if (!(await rootExists(c, n!))) return `${n!.host}: root already dropped`;
        // Not binlogged: each host's root is handled by its own step.
        await su.query('SET SESSION sql_log_bin = 0');
        await su.query("ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(?)", [pw]);
        return `${n!.host}: root password reset`;
      });
    },
  };
}

/**
 * mariadb-install-db also creates 'mysql'@'localhost' (unix_socket, ALL WITH GRANT OPTION): a
 * second all-powerful account for whoever runs as the OS user mysql, which is what mariadbd runs
 * as. It goes with root, so aliyun_root is the only account with GRANT OPTION (issue #16).
 */
async function installAccountsLeft(c: InstallCtx, n: Node): Promise<boolean> {
  return withSu(c, n, async (su) => (await su.query<{ n: number }>("SELECT COUNT(*) AS n FROM mysql.user WHERE User IN ('root', 'mysql') AND Host = 'localhost'"))[0]!.n > 0);
}

function dropRootAccount(role: 'master' | 'slave'): Step {
  return {
    name: 'do_drop_root_account',
    role,
    timeoutSec: 60,
    effect: 'remote',
    plan: (n) => [`SQL over TCP to ${n.ip}:${n.port} as ${SUPERUSER}: SET SESSION sql_log_bin = 0; DROP USER IF EXISTS 'root'@'localhost', 'mysql'@'localhost'`],
    probe: async (c, [n]) => !(await installAccountsLeft(c, n!)),
    async run(c, [n]) {
      await withSu(c, n!, async (su) => {
        await su.query('SET SESSION sql_log_bin = 0');
        await su.query("DROP USER IF EXISTS 'root'@'localhost', 'mysql'@'localhost'");
      });
      if (role === 'slave') {
        await c.tx((tx) => forgetRootAccount(tx, c.custins.id));
      }
      return `${n!.host}: root and mysql@localhost dropped`;
    },
  };
}
export const doResetRootPasswordMaster = resetRootPassword('master');
export const doDropRootAccountMaster = dropRootAccount('master');
export const doResetRootPasswordSlave = resetRootPassword('slave');
export const doDropRootAccountSlave = dropRootAccount('slave');

const API_SUPERUSER_RULE = 'applies when an API-created superuser account exists';

function killOption(role: 'master' | 'slave'): Step {
  return {
    name: 'do_add_kill_option_for_api_created_superuser',
    role,
    timeoutSec: 30,
    effect: 'check',
    skipRule: API_SUPERUSER_RULE,
    skip: () => `${API_SUPERUSER_RULE}; --account creates normal (ReadWrite) accounts only`,
    async run() {
      throw new UsageError('this instance has no API-created superuser account');
    },
  };
}
export const doAddKillOptionForApiCreatedSuperuserMaster = killOption('master');
export const doAddKillOptionForApiCreatedSuperuserSlave = killOption('slave');
