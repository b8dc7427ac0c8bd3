import type { Context } from '../core/context.js';
import { InternalError, RdsctlError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import { enqueue, validateParams } from '../flow/enqueue.js';
import { installFlow } from '../flow/install/index.js';
import { sqlStore } from '../flow/store-sql.js';
import type { InstallParams } from '../flow/install/context.js';
import { ensureAccount } from './accounts.js';
import { allocate, type AllocatedInstance } from './allocate.js';
import { readCatalog } from './catalog.js';
import { findVswitch } from './vpc.js';
import { validateCreate, type CreateRequest, type CreateSpec } from './validate.js';

// CreateInstance as rdsapi does it: validate against the catalogue, then ONE transaction that
// allocates the hosts and port, writes custins, the two instance rows, the requested accounts
// (passwords to custins_secret) and databases, and the task_queue row with its 81 steps (the seed's 80 and do_issue_server_cert).

export async function validateRequest(ctx: Context, req: CreateRequest): Promise<CreateSpec> {
  const db = ctx.db('dbaas');
  const spec = validateCreate(req, await readCatalog(db));
  validateParams(installFlow, { ...installParams(spec, ctx.osUser) });
  if (spec.network === 'vpc') await findVswitch(ctx.db('vpc'), spec.vpcId!, spec.vswitchId!, spec.zone);
  return spec;
}

export function installParams(spec: CreateSpec, createdBy: string): InstallParams {
  return {
    minor_version: spec.minorVersion,
    ecs_sg: spec.ecsSg,
    time_zone: spec.timeZone,
    whitelist: spec.whitelist,
    dbs: spec.dbs,
    accounts: spec.accounts.map((a) => a.name),
    vswitch_id: spec.vswitchId,
    requested_by: createdBy,
  };
}

export interface Created extends AllocatedInstance {
  taskId: number;
}

async function writeAll(tx: Db, spec: CreateSpec, createdBy: string, o: { encrypt?: boolean } = {}): Promise<Created> {
  const a = await allocate(tx, spec);
  for (const acc of spec.accounts) {
    await ensureAccount(tx, a.custinsId, { name: acc.name, type: 'normal', privilege: 'ReadWrite', host: '%', dbs: spec.dbs }, acc.password);
  }
  if (spec.dbs.length) {
    await tx.execute(`INSERT INTO custins_db (custins_id, db_name, charset, status) VALUES ${spec.dbs.map(() => "(?, ?, 'utf8mb4', 'creating')").join(', ')}`, spec.dbs.flatMap((d) => [a.custinsId, d]));
  }
  const taskId = await enqueue(sqlStore(tx), installFlow, { kind: 'instance', id: String(a.custinsId) }, { ...installParams(spec, createdBy), ...(o.encrypt ? { encrypt: true } : {}) }, { createdBy });
  return { ...a, taskId };
}

export async function writeCreate(ctx: Context, spec: CreateSpec, o: { encrypt?: boolean } = {}): Promise<Created> {
  return ctx.db('dbaas').transaction((tx) => writeAll(tx, spec, ctx.osUser, o));
}

export interface PreviewSql {
  db: 'dbaas';
  statement: string;
  params: unknown[];
}

export interface Previewed extends Created {
  /** The writes of the allocation transaction, in order, passwords masked. */
  sql: PreviewSql[];
}

class Preview extends RdsctlError {
  constructor(readonly created: Created) {
    super('preview', 0);
  }
}

/** The transaction, with every write it makes recorded (a secret among the params shown as <masked>). */
function recording(tx: Db, log: PreviewSql[], secrets: ReadonlySet<string>): Db {
  const mask = (params: unknown[] | undefined): unknown[] => (params ?? []).map((p) => (typeof p === 'string' && secrets.has(p) ? '<masked>' : p));
  return {
    name: tx.name,
    where: tx.where,
    query: (sql, params) => tx.query(sql, params),
    execute(sql, params) {
      log.push({ db: 'dbaas', statement: sql, params: mask(params as unknown[] | undefined) });
      return tx.execute(sql, params);
    },
    transaction: (fn) => tx.transaction((inner) => fn(recording(inner, log, secrets))),
    stream: (sql, params, onRow) => tx.stream(sql, params, onRow),
    close: () => tx.close(),
  };
}

/** --dry-run: the real allocation, in a transaction that is rolled back, and the writes it made. */
export async function previewCreate(ctx: Context, spec: CreateSpec): Promise<Previewed> {
  const sql: PreviewSql[] = [];
  const secrets = new Set(spec.accounts.map((a) => a.password).filter(Boolean));
  try {
    await ctx.db('dbaas').transaction(async (tx) => {
      throw new Preview(await writeAll(recording(tx, sql, secrets), spec, ctx.osUser));
    });
  } catch (e) {
    if (e instanceof Preview) return { ...e.created, sql };
    throw e;
  }
  throw new InternalError('preview transaction committed unexpectedly');
}
