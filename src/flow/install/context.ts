import type { Context } from '../../core/context.js';
import type { Profile } from '../../core/config.js';
import { ConflictError, DataError, UsageError, describeError } from '../../core/errors.js';
import { sqlIdent } from '../../rds/sql-text.js';
import type { Db } from '../../remote/mysql.js';
import type { SshPool } from '../../remote/ssh-types.js';
import { findClass, type InstanceClass } from '../../rds/catalog.js';
import { findCustins, instanceRows, type CustinsRow } from '../../rds/custins.js';
import { toNode, type Node } from '../../rds/layout.js';
import { positiveInt } from '../../rds/domain.js';
import { socketSql, superuserSession, type SqlRow } from '../../rds/instance-sql.js';
import type { InstanceSession } from '../../remote/mysql-instance.js';
import type { Lease } from '../lease.js';
import type { TaskRow } from '../store.js';
import type { FlowEnv, StepScope } from '../types.js';
import { pollUntil as basePoll, type FlowBase } from '../base.js';
import { checkAccountName, checkDbName, checkSecurityGroup, checkTimeZone, checkWhitelistEntry } from '../../rds/names.js';

// What every install step sees: the custins, its two nodes, the class, the task's parameters,
// and the only doors to the outside: remote() for the NCs (lease checked before each command),
// tx() for fenced metadb writes, sql()/su() for SQL on the instance.

/** The install task's parameters (task_queue.params). No secrets: passwords are in custins_secret. */
export interface InstallParams {
  minor_version?: string;
  ecs_sg: string | null;
  time_zone: string;
  whitelist: string[];
  dbs: string[];
  accounts: string[];
  vswitch_id: string | null;
  /** Who asked for it: recorded by do_persis_custins_param. */
  requested_by?: string;
  /** instance create --encrypt: data at rest encrypted from the first start (backup/encryption.ts). */
  encrypt?: boolean;
}

export interface InstallCtx {
  /** What the engine gives every flow: fenced tx, lease-checked remote command, polling, results. */
  base: FlowBase;
  ctx: Context;
  db: Db;
  lease: Lease;
  profile: Profile;
  ssh: SshPool;
  task: TaskRow;
  params: InstallParams;
  custins: CustinsRow;
  cls: InstanceClass;
  master: Node;
  slave: Node;
  /** A command on a node; throws RemoteError naming the host unless it exits 0. */
  remote(node: Node, command: string, s: StepScope, o?: { stdin?: string; timeoutSec?: number }): Promise<string>;
  /** A command whose exit code is the answer (probes); never throws for a non-zero exit. */
  test(node: Node, command: string, s: StepScope): Promise<boolean>;
  /**
   * SQL as the administrative login that exists at this point of the instance's life: root over
   * the socket until do_drop_root_account, then the superuser over TCP (after the accounts exist).
   */
  sql(node: Node, statements: string, s: StepScope, o?: { database?: string; timeoutSec?: number }): Promise<SqlRow[]>;
  /** A TCP session as the control plane's superuser (after the accounts exist). */
  su(node: Node): Promise<InstanceSession>;
  /**
   * Statements in one superuser session over TCP, rows of the last one as strings: cheaper than
   * a round trip over SSH once do_initialize_mysql_account_by_master made the account.
   */
  suSql(node: Node, statements: string[]): Promise<SqlRow[]>;
  /** A metadb transaction that holds only while the lease does. */
  tx<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
}

export function parseInstallParams(task: TaskRow): InstallParams {
  const p = task.params;
  const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
  return {
    ...(str(p.minor_version) ? { minor_version: str(p.minor_version)! } : {}),
    ecs_sg: str(p.ecs_sg),
    time_zone: str(p.time_zone) ?? 'SYSTEM',
    whitelist: strs(p.whitelist),
    dbs: strs(p.dbs),
    accounts: strs(p.accounts),
    vswitch_id: str(p.vswitch_id),
    ...(str(p.requested_by) ? { requested_by: str(p.requested_by)! } : {}),
    ...(p.encrypt === true ? { encrypt: true } : {}),
  };
}

/**
 * Every parameter that could make a later step fail, checked before anything is written (the
 * flow's validateParams): a bad time zone used to pass, build half a pair and fail at step 45.
 */
export function checkInstallParams(raw: Record<string, unknown>): void {
  const bad = (what: string): never => {
    throw new UsageError(`install parameter ${what}`);
  };
  const optStr = (k: string): string | null => {
    const v = raw[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') bad(`${k}: a string, not ${typeof v}`);
    return v as string;
  };
  const strList = (k: string): string[] => {
    const v = raw[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(`${k}: a list of strings`);
    return v as string[];
  };
  const minor = optStr('minor_version');
  if (minor !== null && !/^\d+\.\d+\.\d+[A-Za-z0-9._-]*$/.test(minor)) bad(`minor_version "${minor}": not x.y.z`);
  const sg = optStr('ecs_sg');
  if (sg) checkSecurityGroup(sg);
  checkTimeZone(optStr('time_zone') ?? 'SYSTEM');
  for (const w of strList('whitelist')) checkWhitelistEntry(w);
  for (const d of strList('dbs')) checkDbName(d);
  for (const a of strList('accounts')) checkAccountName(a);
  const vsw = optStr('vswitch_id');
  if (vsw !== null && !/^vsw-[a-z0-9]{1,64}$/.test(vsw)) bad(`vswitch_id "${vsw.slice(0, 80)}": not vsw-…`);
}

export async function loadInstallCtx(env: FlowEnv): Promise<InstallCtx> {
  const { ctx, db, task, lease, base } = env;
  if (task.custins_id === null) throw new DataError(`task ${task.id}: an install task without a custins_id`);
  const custins = await findCustins(db, String(task.custins_id), { includeDeleted: true });
  if (custins.status === 'deleted' || custins.status === 'deleting') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}; its install task cannot run`);
  const rows = await instanceRows(db, custins.id);
  const profile = ctx.profile();
  const m = rows.find((r) => r.role === 'master');
  const s = rows.find((r) => r.role === 'slave');
  if (!m || !s) throw new DataError(`instance ${custins.ins_name} has ${rows.length} live instance rows; an install needs a master and a slave`);
  const cls = await findClass(db, custins.class_code);
  if (!cls) throw new DataError(`instance ${custins.ins_name}: class ${custins.class_code} is not in dbaas.instance_class`);
  const clsRef = { table: 'dbaas.instance_class', key: `class_code=${JSON.stringify(custins.class_code)}` };
  for (const col of ['cpu', 'mem_mb', 'max_connections', 'max_iops'] as const) positiveInt(clsRef, col, cls[col]);
  const ssh = await ctx.ssh();
  const params = parseInstallParams(task);
  // do_ensure_minor_version records the version it chose as its result; a resume reads it back.
  const chosen = base.result<{ minor_version?: string }>('do_ensure_minor_version')?.minor_version;
  if (chosen) params.minor_version = chosen;
  const c: InstallCtx = {
    base,
    ctx,
    db,
    lease,
    profile,
    ssh,
    task,
    params,
    custins,
    cls,
    master: toNode(profile, m),
    slave: toNode(profile, s),
    remote: (node, command, sc, o = {}) => base.remote(node.target, node.host, command, sc, o),
    test: (node, command, sc) => base.test(node.target, node.host, command, sc),
    async sql(node, statements, sc, o = {}) {
      lease.assertHeld();
      try {
        return await socketSql(ssh, node, statements, { signal: sc.signal, timeoutSec: o.timeoutSec ?? 60, ...(o.database ? { database: o.database } : {}) });
      } catch (e) {
        // Root is dropped at steps 56/58: from then on (a repair that went back to an earlier
        // step of a finished instance) the control plane's superuser is the administrative login.
        if (!ROOT_GONE.test(describeError(e).message)) throw e;
        return c.suSql(node, [...(o.database ? [`USE ${sqlIdent(o.database)}`] : []), ...splitStatements(statements)]);
      }
    },
    su(node) {
      lease.assertHeld();
      return superuserSession(db, custins.id, node);
    },
    async suSql(node, statements) {
      return withSu(c, node, async (su) => {
        let rows: Array<Record<string, unknown>> = [];
        for (const st of statements) rows = await su.query(st);
        return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null || v === undefined ? null : v instanceof Buffer ? v.toString('utf8') : String(v)])));
      });
    },
    tx: (fn) => base.tx(fn),
  };
  return c;
}

/** What the client says once root@localhost no longer exists (or no longer authenticates over the socket). */
const ROOT_GONE = /Access denied for user 'root'@'localhost'/;

/**
 * The statements of a socket SQL text, one per line ending in ';' as the steps write them: SQL
 * text built with sqlString never holds a raw newline inside a literal, so ';' + newline ends a
 * statement.
 */
export function splitStatements(text: string): string[] {
  return text
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/** Run fn with a superuser session and close it whatever happens. */
export async function withSu<T>(c: InstallCtx, node: Node, fn: (s: InstanceSession) => Promise<T>): Promise<T> {
  const s = await c.su(node);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Poll `check` every `everyMs` (on the context's clock) until it returns a value or the step's signal aborts. */
export function pollUntil<T>(c: InstallCtx, s: StepScope, everyMs: number, check: () => Promise<T | undefined>): Promise<T> {
  return basePoll(c.base.clock, s, everyMs, check);
}

export function nodesOf(c: InstallCtx, role: 'master' | 'slave' | 'both' | 'metadb'): Node[] {
  return role === 'master' ? [c.master] : role === 'slave' ? [c.slave] : role === 'both' ? [c.master, c.slave] : [];
}

export function peerOf(c: InstallCtx, n: Node): Node {
  return n.role === 'master' ? c.slave : c.master;
}

/** Is this instance a 5.5 (the *_for55 steps apply only there)? */
export function is55(c: InstallCtx): boolean {
  return c.custins.version === '5.5';
}
