import type { Context } from '../core/context.js';
import { ConflictError, UsageError } from '../core/errors.js';
import { enqueue } from '../flow/enqueue.js';
import { sqlStore } from '../flow/store-sql.js';
import type { Db } from '../remote/mysql.js';
import { allocate, type AllocatedInstance } from '../rds/allocate.js';
import { readCatalog } from '../rds/catalog.js';
import { findCustins, type CustinsRow } from '../rds/custins.js';
import { validateCreate, type CreateSpec } from '../rds/validate.js';
import { archivedBinlogs } from './binlogs.js';
import { cloneFlow, type CloneParams } from './clone-flow.js';
import { getSet, restorableSets } from './sets.js';
import { iso, planFromSet, planLatest, planToTime, recoverableWindow, windowText, type RecoveryPlan, type Window } from './window.js';

// `instance clone`: choose what to restore (set + binlogs) from the metadb, then allocate a new
// instance like `instance create` and write its clone task, in one transaction.

export type CloneSource = { kind: 'time'; time: Date } | { kind: 'backup'; id: number } | { kind: 'latest' };

export interface CloneRequest {
  source: string;
  from: CloneSource;
  name?: string;
  classCode?: string;
  zone?: string;
}

/** "2026-12-03T10:42:07Z", "2026-12-03 10:42:07" (UTC), with an offset, or epoch seconds. */
export function parseTime(v: string): Date {
  const s = v.trim();
  let d: Date;
  if (/^\d{9,11}$/.test(s)) d = new Date(Number(s) * 1000);
  else if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(s)) d = new Date(s.replace(' ', 'T') + 'Z');
  else if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.test(s)) d = new Date(s.replace(' ', 'T'));
  else throw new UsageError(`--to-time ${v}: give a time as YYYY-MM-DDTHH:MM:SSZ (UTC), with an offset (+08:00), or epoch seconds`);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--to-time ${v}: not a valid time`);
  return d;
}

export interface ClonePlan {
  source: CustinsRow;
  recovery: RecoveryPlan;
  window: Window | null;
  spec: CreateSpec;
}

export async function planClone(ctx: Context, req: CloneRequest): Promise<ClonePlan> {
  const db = ctx.db('dbaas');
  const source = await findCustins(db, req.source);
  const sets = await restorableSets(db, source.id);
  const binlogs = await archivedBinlogs(db, source.id);
  const window = recoverableWindow(sets, binlogs);
  let recovery: RecoveryPlan;
  if (req.from.kind === 'backup') {
    const set = await getSet(db, req.from.id);
    if (set.custins_id !== source.id) throw new UsageError(`--backup ${set.id} is a set of ${set.ins_name}, not of ${source.ins_name}`);
    if (!sets.some((s) => s.id === set.id)) throw new ConflictError(`backup set ${set.id} is not restorable (status ${set.status}, verify ${set.verify_status}${set.store_host ? '' : ', not in the store'})`);
    recovery = planFromSet(set);
  } else if (req.from.kind === 'latest') {
    recovery = planLatest(sets, binlogs);
  } else {
    if (!sets.length) throw new ConflictError(`${source.ins_name} has no restorable full set in the store; recoverable window: ${windowText(window)}`);
    recovery = planToTime(sets, binlogs, req.from.time, ctx.clock.now());
  }
  const tz = (await db.query<{ value: string }>("SELECT value FROM custins_param WHERE custins_id = ? AND name = 'time_zone'", [source.id]))[0]?.value;
  const spec = validateCreate(
    {
      ...(req.name !== undefined ? { name: req.name } : {}),
      engine: source.engine,
      version: source.version,
      classCode: req.classCode ?? source.class_code,
      storageGb: source.storage_gb,
      storageType: source.storage_type,
      zone: req.zone ?? source.zone,
      ...(tz ? { timeZone: tz } : {}),
      dbs: [],
      accounts: [],
      guard: false,
      whitelist: [],
    },
    await readCatalog(db),
  );
  return { source, recovery, window, spec };
}

/** Accounts (with their passwords) and databases of the source, so the metadb matches the restored data. */
async function copyAccounts(tx: Db, from: number, to: number): Promise<void> {
  await tx.execute(
    `INSERT INTO custins_account (custins_id, account_name, account_type, host, privilege, dbs, status)
     SELECT ?, account_name, account_type, host, privilege, dbs, IF(account_type = 'normal', 'active', 'creating') FROM custins_account
      WHERE custins_id = ? AND status <> 'deleted' AND account_type <> 'root'`,
    [to, from],
  );
  await tx.execute(
    `INSERT INTO custins_secret (custins_id, account_name, secret)
     SELECT ?, s.account_name, s.secret FROM custins_secret s JOIN custins_account a ON a.custins_id = s.custins_id AND a.account_name = s.account_name
      WHERE s.custins_id = ? AND a.status <> 'deleted' AND a.account_type <> 'root'`,
    [to, from],
  );
  await tx.execute("INSERT INTO custins_db (custins_id, db_name, charset, status) SELECT ?, db_name, charset, 'active' FROM custins_db WHERE custins_id = ? AND status <> 'deleted'", [to, from]);
}

export interface WrittenClone extends AllocatedInstance {
  taskId: number;
}

export async function writeClone(ctx: Context, p: ClonePlan): Promise<WrittenClone> {
  const minor = p.source.minor_version;
  return ctx.db('dbaas').transaction(async (tx) => {
    const a = await allocate(tx, p.spec);
    await copyAccounts(tx, p.source.id, a.custinsId);
    const params: CloneParams & Record<string, unknown> = {
      source_custins_id: p.source.id,
      source_ins: p.source.ins_name,
      set_id: p.recovery.set.id,
      time: p.recovery.time ? iso(p.recovery.time) : null,
      stop_datetime: p.recovery.stopDatetime,
      binlog_ids: p.recovery.files.map((f) => f.id),
      ...(minor ? { minor_version: minor } : {}),
      time_zone: p.spec.timeZone,
      ecs_sg: null,
      whitelist: [],
      dbs: [],
      accounts: [],
      vswitch_id: null,
      requested_by: ctx.osUser,
    };
    const taskId = await enqueue(sqlStore(tx), cloneFlow, { kind: 'instance', id: String(a.custinsId) }, params, { createdBy: ctx.osUser });
    return { ...a, taskId };
  });
}
