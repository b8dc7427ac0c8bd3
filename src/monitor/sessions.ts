import type { Context } from '../core/context.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { redactSecrets } from '../check/rds.js';
import { openInstance, type InstanceSession } from '../remote/mysql-instance.js';
import { SUPERUSER, secretOf } from '../rds/accounts.js';
import { findCustins } from '../rds/custins.js';
import { targetOf, type MonitorTarget } from './targets.js';
import { instanceTrust } from '../rds/instance-tls.js';

// `instance sessions` and `instance kill`: the processlist of one server joined with its InnoDB
// transactions, long transactions first (the usual culprit behind lock waits, purge lag and a
// growing undo log), then the longest-running statements. Read as the maintenance account.

export interface SessionView {
  id: number;
  user: string;
  host: string;
  db: string | null;
  command: string;
  time_sec: number;
  state: string | null;
  /** The statement, secrets masked, at most 1024 characters. */
  info: string | null;
  trx_id: string | null;
  trx_started: string | null;
  trx_age_sec: number | null;
  trx_state: string | null;
  trx_rows_locked: number | null;
  trx_rows_modified: number | null;
}

export interface SessionsResult {
  ins_name: string;
  role: 'master' | 'slave';
  host: string;
  port: number;
  sessions: SessionView[];
}

const SESSIONS_SQL = `SELECT p.ID AS id, p.USER AS user, p.HOST AS host, p.DB AS db, p.COMMAND AS command, p.TIME AS time_sec,
       p.STATE AS state, LEFT(p.INFO, 1024) AS info, t.trx_id, t.trx_started,
       TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS trx_age_sec, t.trx_state, t.trx_rows_locked, t.trx_rows_modified
  FROM information_schema.PROCESSLIST p
  LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
 WHERE p.ID <> CONNECTION_ID()`;

// Open transactions (oldest first), then clients' running statements (longest first), then idle
// sessions and the server's own threads.
const ORDER = ` ORDER BY (t.trx_started IS NULL), t.trx_started,
  (p.USER = 'system user' OR p.COMMAND IN ('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Slave_IO', 'Slave_SQL', 'Slave_worker')), p.TIME DESC, p.ID`;

/** Threads whose end breaks the server or its replication, not a client's work. */
const PROTECTED_COMMANDS = ['Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker'];

export async function openTarget(ctx: Context, ref: string, standby: boolean): Promise<{ t: MonitorTarget; s: InstanceSession }> {
  const db = ctx.db('dbaas');
  const c = await findCustins(db, ref);
  if (c.status !== 'running') throw new ConflictError(`instance ${c.ins_name} is ${c.status}, not running`);
  const t = await targetOf(db, c.id, standby ? 'slave' : 'master');
  if (!t) throw new NotFoundError(`instance ${c.ins_name} has no ${standby ? 'standby' : 'master'} in dbaas`);
  const password = await secretOf(db, c.id, SUPERUSER);
  const s = await openInstance({ name: `${t.insName} ${t.role} on ${t.host}`, host: t.ip, port: t.port, user: SUPERUSER, password, tls: await instanceTrust(db, c.id, c.ins_name), connectTimeoutMs: 5000 });
  return { t, s };
}

function view(r: Record<string, unknown>): SessionView {
  const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  return {
    id: Number(r.id),
    user: String(r.user ?? ''),
    host: String(r.host ?? ''),
    db: str(r.db),
    command: String(r.command ?? ''),
    time_sec: Number(r.time_sec ?? 0),
    state: str(r.state) || null,
    info: r.info === null || r.info === undefined ? null : redactSecrets(String(r.info)),
    trx_id: str(r.trx_id),
    trx_started: str(r.trx_started),
    trx_age_sec: n(r.trx_age_sec),
    trx_state: str(r.trx_state),
    trx_rows_locked: n(r.trx_rows_locked),
    trx_rows_modified: n(r.trx_rows_modified),
  };
}

async function sessionsOn(s: InstanceSession, id?: number): Promise<SessionView[]> {
  const rows = id === undefined ? await s.query<Record<string, unknown>>(SESSIONS_SQL + ORDER) : await s.query<Record<string, unknown>>(`${SESSIONS_SQL} AND p.ID = ?${ORDER}`, [id]);
  return rows.map(view);
}

export async function listSessions(ctx: Context, ref: string, o: { standby: boolean }): Promise<SessionsResult> {
  const { t, s } = await openTarget(ctx, ref, o.standby);
  try {
    return { ins_name: t.insName, role: t.role, host: t.host, port: t.port, sessions: await sessionsOn(s) };
  } finally {
    await s.close();
  }
}

export interface KillTarget {
  ins_name: string;
  role: 'master' | 'slave';
  host: string;
  port: number;
  session: SessionView;
}

export interface KillResult extends KillTarget {
  killed: 'connection' | 'query';
  /** The session after the kill: null when it is gone. */
  after: SessionView | null;
}

/** The session to kill, checked: it exists and is a client's, not a replication or server thread. */
export async function killTarget(ctx: Context, ref: string, id: number, o: { standby: boolean }): Promise<KillTarget> {
  const { t, s } = await openTarget(ctx, ref, o.standby);
  try {
    const [found] = await sessionsOn(s, id);
    if (!found) throw new NotFoundError(`session ${id} does not exist on ${t.insName} ${t.role} (${t.host}:${t.port})`);
    if (found.user === 'system user' || PROTECTED_COMMANDS.includes(found.command)) {
      throw new ConflictError(`session ${id} on ${t.insName} is a server or replication thread (${found.user}, ${found.command}); refusing to kill it`, { hint: 'stop replication through its own commands' });
    }
    return { ins_name: t.insName, role: t.role, host: t.host, port: t.port, session: found };
  } finally {
    await s.close();
  }
}

export function killStatement(id: number, query: boolean): string {
  if (!Number.isSafeInteger(id) || id < 1) throw new ConflictError(`session id ${id} is not a thread id`);
  return `KILL ${query ? 'QUERY ' : ''}${id}`;
}

/** KILL [QUERY] id, then read the session again (up to 5 s for a connection to go away). */
export async function killSession(ctx: Context, ref: string, id: number, o: { standby: boolean; query: boolean }): Promise<KillResult> {
  const { t, s } = await openTarget(ctx, ref, o.standby);
  try {
    const [before] = await sessionsOn(s, id);
    if (!before) throw new NotFoundError(`session ${id} does not exist on ${t.insName} ${t.role} (${t.host}:${t.port}) any more`);
    await s.query(killStatement(id, o.query));
    let after: SessionView | null = null;
    for (let i = 0; i < 50; i++) {
      [after = null] = await sessionsOn(s, id);
      if (!after || (o.query && after.info === null) || (!o.query && after.command === 'Killed')) break;
      await ctx.clock.sleep(100);
    }
    return { ins_name: t.insName, role: t.role, host: t.host, port: t.port, session: before, killed: o.query ? 'query' : 'connection', after };
  } finally {
    await s.close();
  }
}
