import type { Context } from '../core/context.js';
import { ConflictError, UsageError } from '../core/errors.js';
import type { Column } from '../core/output.js';
import type { PlannedChange } from '../core/mutation.js';
import type { Db } from '../remote/mysql.js';
import { findNc, type Nc } from './nc.js';

// The NC lock in houyi: `locked` with a `lock_reason`, and the status the seed gives a locked NC
// ('locked'). A lock keeps new work off an NC (go2nc --skip-locked, evacuation leaves it locked);
// it is an operator's hold, so it carries why. Only an 'online' NC changes status: an 'offline'
// or 'maintain' NC keeps the status that says more about it, and unlock gives 'online' back only
// to an NC that the lock made 'locked'. An RDS NC's dbaas.hostinfo row carries the lock too
// (hostinfo.locked/lock_reason): allocation reads only hostinfo, inside its locking transaction,
// so a lock written to houyi alone would not keep new instances off the NC.

/** lock_reason is VARCHAR(255) in houyi. */
export const LOCK_REASON_MAX = 255;

/** An NC's lock fields as `nc lock|unlock -o json` prints them (stable names). */
export interface NcLockState {
  nc_name: string;
  ip: string;
  zone: string;
  cluster: string;
  status: string;
  locked: boolean;
  lock_reason: string | null;
}

export const NC_LOCK_COLUMNS: Column<NcLockState>[] = [
  { header: 'NC', value: (r) => r.nc_name },
  { header: 'IP', value: (r) => r.ip },
  { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'online' ? 'ok' : 'warn') },
  { header: 'LOCKED', value: (r) => (r.locked ? 'yes' : 'no'), tone: (r) => (r.locked ? 'warn' : 'ok') },
  { header: 'REASON', value: (r) => r.lock_reason ?? '' },
  { header: 'ZONE', value: (r) => r.zone, wide: true },
  { header: 'CLUSTER', value: (r) => r.cluster, wide: true },
];

export function lockState(nc: Nc): NcLockState {
  return { nc_name: nc.hostname, ip: nc.ip, zone: nc.zone, cluster: nc.cluster, status: nc.status, locked: nc.locked, lock_reason: nc.lock_reason };
}

/** --reason for a lock: required, one line, fits lock_reason. Pure (checked before any context). */
export function lockReasonArg(reason: string | null): string {
  if (reason === null) throw new UsageError('--reason is required: say why the NC is (un)locked (recorded in houyi and the audit log)');
  if (reason.length > LOCK_REASON_MAX) throw new UsageError(`--reason is ${reason.length} characters; houyi keeps at most ${LOCK_REASON_MAX}`);
  return reason;
}

const LOCK_NC = "UPDATE nc SET locked = 1, lock_reason = ?, status = IF(status = 'online', 'locked', status) WHERE id = ? AND locked = 0";
const UNLOCK_NC = "UPDATE nc SET locked = 0, lock_reason = NULL, status = IF(status = 'locked', 'online', status) WHERE id = ? AND locked = 1";
const LOCK_HOSTINFO = 'UPDATE hostinfo SET locked = 1, lock_reason = ? WHERE hostname = ?';
const UNLOCK_HOSTINFO = 'UPDATE hostinfo SET locked = 0, lock_reason = NULL WHERE hostname = ?';

function checkLockable(nc: Nc, lock: boolean): void {
  if (lock && nc.locked) throw new ConflictError(`NC ${nc.hostname} is already locked${nc.lock_reason ? ` (${nc.lock_reason})` : ''}; unlock it first to change the reason`);
  if (!lock && !nc.locked) throw new ConflictError(`NC ${nc.hostname} is not locked (status ${nc.status})`);
}

/** The NC row again, under FOR UPDATE, so a concurrent lock/unlock of the same NC queues behind. */
async function lockedRow(tx: Db, id: number): Promise<{ locked: number; lock_reason: string | null; status: string }> {
  const [r] = await tx.query<{ locked: number; lock_reason: string | null; status: string }>('SELECT locked, lock_reason, status FROM nc WHERE id = ? FOR UPDATE', [id]);
  if (!r) throw new ConflictError(`NC id ${id} disappeared from houyi while it was being (un)locked`);
  return r;
}

/**
 * Lock (or unlock) an NC by hostname, IP or SN. Unknown name: NotFoundError with near names.
 * Already in the asked state: ConflictError with the current reason, checked again in the
 * write's transaction.
 */
export async function planNcLock(ctx: Context, name: string, reason: string, lock: boolean): Promise<PlannedChange<NcLockState> & { nc: NcLockState }> {
  const db = ctx.db('houyi');
  const nc = await findNc(db, name);
  checkLockable(nc, lock);
  const verb = lock ? 'lock' : 'unlock';
  const statement = lock ? LOCK_NC : UNLOCK_NC;
  const params = lock ? [reason, nc.id] : [nc.id];
  const hostStatement = lock ? LOCK_HOSTINFO : UNLOCK_HOSTINFO;
  const hostParams = lock ? [reason, nc.hostname] : [nc.hostname];
  const before = lockState(nc);
  const newStatus = lock ? (nc.status === 'online' ? 'locked' : nc.status) : nc.status === 'locked' ? 'online' : nc.status;
  return {
    nc: before,
    plan: {
      action: `${verb} NC ${nc.hostname}${lock ? ` (reason: ${reason})` : ''}`,
      targets: [`${nc.hostname} (${nc.ip})`],
      sql: [
        { db: 'houyi', statement, params },
        { db: 'dbaas', statement: hostStatement, params: hostParams },
      ],
      notes: [`status ${nc.status} -> ${newStatus}, locked ${nc.locked ? 'yes' : 'no'} -> ${lock ? 'yes' : 'no'}`, 'an RDS NC: its dbaas.hostinfo row is (un)locked too, so allocation skips (or uses) it'],
    },
    audit: { command: `nc ${verb}`, targets: [nc.hostname], detail: { nc_id: nc.id, ip: nc.ip, before: { status: nc.status, locked: nc.locked, lock_reason: nc.lock_reason } } },
    apply: () =>
      db.transaction(async (tx) => {
        const row = await lockedRow(tx, nc.id);
        checkLockable({ ...nc, locked: Boolean(row.locked), lock_reason: row.lock_reason, status: row.status as Nc['status'] }, lock);
        await tx.execute(statement, params);
        // hostinfo is written while the houyi row is still locked and uncommitted: if it fails,
        // houyi rolls back and the two never disagree about a lock that was reported as made.
        await ctx.db('dbaas').execute(hostStatement, hostParams);
        const after = await lockedRow(tx, nc.id);
        return { ...before, status: after.status, locked: Boolean(after.locked), lock_reason: after.lock_reason };
      }),
    resultDetail: (v) => ({ status: v.status, locked: v.locked, lock_reason: v.lock_reason }),
  };
}
