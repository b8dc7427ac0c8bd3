import type { Context } from '../../core/context.js';
import type { Profile } from '../../core/config.js';
import { ConflictError, DataError, RemoteError } from '../../core/errors.js';
import type { Db } from '../../remote/mysql.js';
import type { ExecResult, SshPool } from '../../remote/ssh-types.js';
import { findClass, type InstanceClass } from '../../rds/catalog.js';
import { findCustins, instanceRows, type CustinsRow } from '../../rds/custins.js';
import { toNode, type Node } from '../../rds/layout.js';
import { socketSql, superuserSession, type SqlRow } from '../../rds/instance-sql.js';
import type { InstanceSession } from '../../remote/mysql-instance.js';
import type { Lease } from '../lease.js';
import type { TaskRow } from '../store.js';
import type { FlowEnv, StepScope } from '../types.js';

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
  /** SQL as root over the instance's socket (before root is dropped). */
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

export async function loadInstallCtx(env: FlowEnv): Promise<InstallCtx> {
  const { ctx, db, task, lease } = env;
  const custins = await findCustins(db, String(task.custins_id), { includeDeleted: true });
  if (custins.status === 'deleted' || custins.status === 'deleting') throw new ConflictError(`instance ${custins.ins_name} is ${custins.status}; its install task cannot run`);
  const rows = await instanceRows(db, custins.id);
  const profile = ctx.profile();
  const m = rows.find((r) => r.role === 'master');
  const s = rows.find((r) => r.role === 'slave');
  if (!m || !s) throw new DataError(`instance ${custins.ins_name} has ${rows.length} live instance rows; an install needs a master and a slave`);
  const cls = await findClass(db, custins.class_code);
  if (!cls) throw new DataError(`instance ${custins.ins_name}: class ${custins.class_code} is not in dbaas.instance_class`);
  const ssh = await ctx.ssh();
  const c: InstallCtx = {
    ctx,
    db,
    lease,
    profile,
    ssh,
    task,
    params: parseInstallParams(task),
    custins,
    cls,
    master: toNode(profile, m),
    slave: toNode(profile, s),
    async remote(node, command, sc, o = {}) {
      lease.assertHeld();
      return ssh.run(node.target, command, { signal: sc.signal, timeoutSec: o.timeoutSec ?? 120, ...(o.stdin === undefined ? {} : { stdin: o.stdin }) });
    },
    async test(node, command, sc) {
      const r: ExecResult = await ssh.exec(node.target, command, { signal: sc.signal, timeoutSec: 60 });
      if (r.category && r.category !== 'exit') throw new RemoteError(`${node.host}: ${r.error ?? r.category}`, { host: node.host });
      return r.exitCode === 0;
    },
    async sql(node, statements, sc, o = {}) {
      lease.assertHeld();
      return socketSql(ssh, node, statements, { signal: sc.signal, timeoutSec: o.timeoutSec ?? 60, ...(o.database ? { database: o.database } : {}) });
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
    tx: (fn) => lease.tx(fn),
  };
  return c;
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

/** Poll `check` every `everyMs` until it returns a value (not undefined) or the step's signal aborts. */
export async function pollUntil<T>(s: StepScope, everyMs: number, check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise<void>((resolve, reject) => {
      if (s.signal.aborted) return reject(s.signal.reason);
      const t = setTimeout(() => {
        s.signal.removeEventListener('abort', onAbort);
        resolve();
      }, everyMs);
      const onAbort = (): void => {
        clearTimeout(t);
        reject(s.signal.reason);
      };
      s.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
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
