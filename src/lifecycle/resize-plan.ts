import type { Context } from '../core/context.js';
import { ConflictError, DataError, UnavailableError, UnhealthyError, UsageError } from '../core/errors.js';
import { enqueue } from '../flow/enqueue.js';
import { sqlStore } from '../flow/store-sql.js';
import { haSession, type Pair } from '../ha/operate.js';
import { semisyncTimeoutMs } from '../ha/semisync.js';
import { findClass, type InstanceClass } from '../rds/catalog.js';
import { instanceRows } from '../rds/custins.js';
import { baselineParams, resolveParams, type ClassVars } from '../rds/mycnf.js';
import type { Node } from '../rds/layout.js';
import type { Db } from '../remote/mysql.js';
import { refuseIfBusy } from './operate.js';
import { capacityDelta, resizeFlow, take, type NeedParams, type ParamChange, type ResizeParams } from './resize.js';

// What a resize will do, decided before anything is written: the refusals (another task, an
// unknown or the same class, a storage size the type does not offer or below what the data uses,
// a node not running, an NC locked or offline, no room), the parameter rows the new class
// changes and whether each is dynamic (the master's information_schema.SYSTEM_VARIABLES says),
// and each node's capacity before and after. The task is then written in one transaction that
// locks the custins row and both NCs' hostinfo rows, checks again, and takes what the new class
// needs more on each NC, as create takes capacity.

export interface ResizeRequest {
  classCode: string;
  /** null: keep the storage */
  storageGb: number | null;
}

export interface NodeCapacity {
  role: 'master' | 'slave';
  instance_id: number;
  hostinfo_id: number;
  host: string;
  /** what the NC has allocated now, and after the resize */
  before: NeedParams;
  after: NeedParams;
  total: NeedParams;
  /** why the NC cannot take the new class (no room), or null */
  short: string | null;
}

export interface ResizePlan {
  cls: InstanceClass;
  params: ResizeParams;
  capacity: NodeCapacity[];
  usedGb: number;
}

const CLASS_SOURCES: readonly string[] = ['baseline', 'template', 'class'];

interface HostRow {
  id: number;
  hostname: string;
  status: string;
  locked: number;
  lock_reason: string | null;
  cpu_total: number;
  cpu_allocated: number;
  mem_total_mb: number;
  mem_allocated_mb: number;
  disk_total_gb: number;
  disk_allocated_gb: number;
}

const HOST_SQL = 'SELECT id, hostname, status, locked, lock_reason, cpu_total, cpu_allocated, mem_total_mb, mem_allocated_mb, disk_total_gb, disk_allocated_gb FROM hostinfo WHERE id IN (?, ?) ORDER BY id';

const num = (h: HostRow, k: keyof HostRow): number => Number(h[k]);

/** The node's NC after taking `more` and giving back `less`; why it cannot, or null. Pure. */
export function nodeCapacity(role: 'master' | 'slave', instanceId: number, h: HostRow, from: NeedParams, to: NeedParams): NodeCapacity {
  const { take: more, give: less } = capacityDelta(from, to);
  const before = { cpu: num(h, 'cpu_allocated'), mem_mb: num(h, 'mem_allocated_mb'), disk_gb: num(h, 'disk_allocated_gb') };
  const total = { cpu: num(h, 'cpu_total'), mem_mb: num(h, 'mem_total_mb'), disk_gb: num(h, 'disk_total_gb') };
  const after = { cpu: before.cpu + more.cpu - less.cpu, mem_mb: before.mem_mb + more.mem_mb - less.mem_mb, disk_gb: before.disk_gb + more.disk_gb - less.disk_gb };
  const lacks: string[] = [];
  if (more.cpu && before.cpu + more.cpu > total.cpu) lacks.push(`${more.cpu} more cpu (free ${total.cpu - before.cpu})`);
  if (more.mem_mb && before.mem_mb + more.mem_mb > total.mem_mb) lacks.push(`${more.mem_mb} more MB (free ${total.mem_mb - before.mem_mb})`);
  if (more.disk_gb && before.disk_gb + more.disk_gb > total.disk_gb) lacks.push(`${more.disk_gb} more GB (free ${total.disk_gb - before.disk_gb})`);
  return { role, instance_id: instanceId, hostinfo_id: h.id, host: h.hostname, before, after, total, short: lacks.length ? `${h.hostname} has no room for ${lacks.join(', ')}` : null };
}

/** An NC a resize must not touch: offline, locked, not online. */
function ncRefusal(h: HostRow): string | null {
  if (Number(h.locked)) return `NC ${h.hostname} is locked${h.lock_reason ? ` (${h.lock_reason})` : ''}`;
  if (h.status !== 'online') return `NC ${h.hostname} is ${h.status}`;
  return null;
}

/** The parameter rows the class (and storage) change, layered as do_build_params layers them; the task's own rows (time zone, encryption) stay. */
export async function paramChanges(db: Db, p: Pair, cls: InstanceClass, storageGb: number): Promise<Array<Omit<ParamChange, 'live'>>> {
  const cur = await db.query<{ name: string; value: string; source: string }>('SELECT name, value, source FROM mycnf_custinstance WHERE custins_id = ? ORDER BY name', [p.custins.id]);
  if (!cur.length) throw new DataError(`instance ${p.custins.ins_name} has no mycnf_custinstance rows`);
  const tpl = await db.query<{ class_code: string; name: string; value: string }>('SELECT class_code, name, value FROM mycnf_template WHERE engine = ? AND version = ? AND class_code IN (?, ?)', [p.custins.engine, p.custins.version, '', cls.class_code]);
  const vars: ClassVars = { cpu: cls.cpu, mem_mb: cls.mem_mb, max_connections: cls.max_connections, max_iops: cls.max_iops, storage_gb: storageGb };
  const next = resolveParams(
    [
      { source: 'baseline', rows: baselineParams(vars) },
      { source: 'template', rows: tpl.filter((r) => r.class_code === '') },
      { source: 'class', rows: tpl.filter((r) => r.class_code !== '') },
      // rows written by later steps (time zone, encryption, HA) stay as they are
      { source: 'task', rows: cur.filter((r) => !CLASS_SOURCES.includes(r.source)) },
    ],
    vars,
  );
  const now = new Map(cur.map((r) => [r.name, r.value]));
  const changes: Array<Omit<ParamChange, 'live'>> = next.filter((r) => now.get(r.name) !== r.value && CLASS_SOURCES.includes(r.source)).map((r) => ({ name: r.name, from: now.get(r.name) ?? null, to: r.value, source: r.source as 'baseline' | 'template' | 'class' }));
  // The semi-sync timeout is the class's too (instance_class.semisync_timeout_ms), kept with the HA rows.
  const semi = cur.find((r) => r.name === 'rpl_semi_sync_master_timeout' && r.source === 'ha');
  const ms = String(await semisyncTimeoutMs(db, cls.class_code));
  if (semi && semi.value !== ms) changes.push({ name: semi.name, from: semi.value, to: ms, source: 'ha' });
  return changes;
}

/** Which of these the server changes live (SYSTEM_VARIABLES.READ_ONLY = NO); names it does not know are static. */
async function dynamicOf(ctx: Context, p: Pair, names: string[]): Promise<Set<string>> {
  if (!names.length) return new Set();
  const su = await haSession(ctx.db('dbaas'), p.custins.id, p.master, 5000).catch((e: Error) => {
    throw new UnhealthyError(`resize of ${p.custins.ins_name} refused: the master ${p.master.host} does not answer (${e.message})`);
  });
  try {
    const rows = await su.query<{ n: string }>(`SELECT LOWER(VARIABLE_NAME) AS n FROM information_schema.SYSTEM_VARIABLES WHERE READ_ONLY = 'NO' AND VARIABLE_NAME IN (${names.map(() => '?').join(',')})`, names.map((n) => n.toUpperCase()));
    return new Set(rows.map((r) => String(r.n)));
  } finally {
    await su.close();
  }
}

/** What the data uses on the master (tables and binary logs), in GB rounded up. */
async function usedGb(ctx: Context, p: Pair): Promise<number> {
  const su = await haSession(ctx.db('dbaas'), p.custins.id, p.master, 5000);
  try {
    const [t] = await su.query<{ b: string | null }>('SELECT CAST(COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH + DATA_FREE), 0) AS CHAR) AS b FROM information_schema.TABLES');
    const logs = await su.query<{ File_size: string | number }>('SHOW BINARY LOGS');
    const bytes = Number(t?.b ?? 0) + logs.reduce((s, l) => s + Number(l.File_size), 0);
    return Math.ceil(bytes / 2 ** 30);
  } finally {
    await su.close();
  }
}

export async function planResize(ctx: Context, p: Pair, req: ResizeRequest): Promise<ResizePlan> {
  const db = ctx.db('dbaas');
  await refuseIfBusy(db, p);
  const cls = await findClass(db, req.classCode);
  if (!cls || cls.engine !== p.custins.engine) {
    const valid = (await db.query<{ class_code: string }>('SELECT class_code FROM instance_class WHERE engine = ? ORDER BY sort_order, class_code', [p.custins.engine])).map((r) => r.class_code);
    throw new UsageError(`--class ${req.classCode}: no such ${p.custins.engine} class (valid: ${valid.join(', ')})`);
  }
  const storage = req.storageGb ?? Number(p.custins.storage_gb);
  const [st] = await db.query<{ min_gb: number; max_gb: number; step_gb: number }>('SELECT min_gb, max_gb, step_gb FROM storage_type WHERE name = ?', [p.custins.storage_type]);
  if (req.storageGb !== null && st) {
    if (storage < st.min_gb || storage > st.max_gb || (storage - st.min_gb) % Math.max(st.step_gb, 1) !== 0) throw new UsageError(`--storage ${storage}: ${p.custins.storage_type} offers ${st.min_gb}-${st.max_gb} GB in steps of ${st.step_gb}`);
  }
  if (cls.class_code === p.custins.class_code && storage === Number(p.custins.storage_gb)) throw new ConflictError(`instance ${p.custins.ins_name} is ${cls.class_code} with ${storage} GB already: nothing to resize`);
  const rows = await instanceRows(db, p.custins.id);
  const notRunning = rows.find((r) => r.status !== 'running');
  if (notRunning) throw new ConflictError(`instance ${p.custins.ins_name}: instance ${notRunning.id} on ${notRunning.host_name} is ${notRunning.status}; a resize needs both servers running`);
  const used = await usedGb(ctx, p).catch((e: Error) => {
    throw new UnhealthyError(`resize of ${p.custins.ins_name} refused: the master ${p.master.host} does not answer (${e.message})`);
  });
  if (storage < Number(p.custins.storage_gb) && storage < used) throw new ConflictError(`--storage ${storage}: the data of ${p.custins.ins_name} uses ${used} GB already`);
  const changes = await paramChanges(db, p, cls, storage);
  const dynamic = await dynamicOf(ctx, p, changes.map((c) => c.name));
  const withLive = changes.map((c): ParamChange => ({ ...c, live: dynamic.has(c.name) }));
  const to: NeedParams = { cpu: cls.cpu, mem_mb: cls.mem_mb, disk_gb: storage };
  const hosts = await db.query<HostRow>(HOST_SQL, [p.master.hostinfoId, p.slave.hostinfoId]);
  const capacity = capacityOf(p, rows, hosts, to);
  return {
    cls,
    usedGb: used,
    capacity,
    params: {
      class_from: p.custins.class_code,
      class_to: cls.class_code,
      storage_from: Number(p.custins.storage_gb),
      storage_to: storage,
      need_to: to,
      nodes: capacity.map((n) => {
        const r = rows.find((x) => x.id === n.instance_id)!;
        return { instance_id: n.instance_id, hostinfo_id: n.hostinfo_id, host: n.host, from: { cpu: Number(r.cpu), mem_mb: Number(r.mem_mb), disk_gb: Number(r.disk_gb) } };
      }),
      changes: withLive,
      restart: withLive.some((c) => !c.live),
    },
  };
}

function capacityOf(p: Pair, rows: Array<{ id: number; hostinfo_id: number; cpu: number; mem_mb: number; disk_gb: number }>, hosts: HostRow[], to: NeedParams): NodeCapacity[] {
  return ([['master', p.master], ['slave', p.slave]] as const).map(([role, n]: readonly ['master' | 'slave', Node]) => {
    const h = hosts.find((x) => x.id === n.hostinfoId);
    const r = rows.find((x) => x.id === n.instanceId);
    if (!h || !r) throw new DataError(`instance ${n.instanceId}: its NC (hostinfo ${n.hostinfoId}) or row is missing`);
    const why = ncRefusal(h);
    if (why) throw new ConflictError(`resize of ${p.custins.ins_name} refused: ${why}; move the ${role === 'master' ? 'master' : 'standby'} off it first (rdsctl instance migrate ${p.custins.ins_name}${role === 'master' ? ' --role master' : ''})`);
    return nodeCapacity(role, n.instanceId, h, { cpu: Number(r.cpu), mem_mb: Number(r.mem_mb), disk_gb: Number(r.disk_gb) }, to);
  });
}

/** Write the task: custins and both NCs' hostinfo rows locked, the checks again, then what the new class needs more taken on each NC. */
export async function enqueueResize(db: Db, p: Pair, plan: ResizePlan, o: { createdBy: string; reason: string | null }): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT id FROM custins WHERE id = ? FOR UPDATE', [p.custins.id]);
    await refuseIfBusy(tx, p);
    const [ci] = await tx.query<{ class_code: string; storage_gb: number }>('SELECT class_code, storage_gb FROM custins WHERE id = ?', [p.custins.id]);
    if (!ci || ci.class_code !== plan.params.class_from || Number(ci.storage_gb) !== plan.params.storage_from) throw new ConflictError(`instance ${p.custins.ins_name} changed class or storage meanwhile; run the resize again`);
    const hosts = await tx.query<HostRow>(`${HOST_SQL} FOR UPDATE`, [p.master.hostinfoId, p.slave.hostinfoId]);
    const rows = await tx.query<{ id: number; hostinfo_id: number; cpu: number; mem_mb: number; disk_gb: number }>("SELECT id, hostinfo_id, cpu, mem_mb, disk_gb FROM instance WHERE custins_id = ? AND status <> 'deleted' FOR UPDATE", [p.custins.id]);
    for (const n of plan.params.nodes) {
      const r = rows.find((x) => x.id === n.instance_id);
      if (!r || r.hostinfo_id !== n.hostinfo_id) throw new ConflictError(`instance ${n.instance_id} of ${p.custins.ins_name} moved meanwhile; run the resize again`);
    }
    const cap = capacityOf(p, rows, hosts, plan.params.need_to);
    const short = cap.find((c) => c.short);
    if (short) throw new UnavailableError(`resize of ${p.custins.ins_name} refused: ${short.short}`, { hint: 'move the node first (rdsctl instance migrate), or let resize do it (without --no-migrate)' });
    for (const n of plan.params.nodes) await take(tx, n.hostinfo_id, capacityDelta(n.from, plan.params.need_to).take);
    return enqueue(
      sqlStore(tx),
      resizeFlow,
      { kind: 'instance', id: String(p.custins.id) },
      { from_instance_id: p.master.instanceId, to_instance_id: p.slave.instanceId, scope: 'both', switchover: true, resize: { ...plan.params } as unknown as Record<string, never>, requested_by: o.createdBy, ...(o.reason ? { reason: o.reason } : {}) },
      { createdBy: o.createdBy },
    );
  });
}
