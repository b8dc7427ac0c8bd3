import { ConflictError, DataError, UnhealthyError, UsageError } from '../core/errors.js';
import { pollUntil, withSu, type InstallCtx } from '../flow/install/context.js';
import * as f from '../flow/install/host-files.js';
import { doBuildMysqlParams } from '../flow/install/host-setup.js';
import type { FlowDef, FlowEnv, StepDef, StepScope } from '../flow/types.js';
import { loadHaCtx, haNodesOf } from '../ha/context.js';
import { recordEvent } from '../ha/records.js';
import { findClass } from '../rds/catalog.js';
import path from 'node:path';
import { aliveTest, readFileScript, script } from '../rds/host-ops.js';
import type { HostLayout, Node } from '../rds/layout.js';
import { sh } from '../remote/quote.js';
import type { Db } from '../remote/mysql.js';
import type { InstanceSession } from '../remote/mysql-instance.js';
import { RESTART_STEPS, type PowerCtx } from './power.js';

// `instance resize NAME --class C [--storage GB]`: a flow on the task engine. Everything the
// task will change is decided when it is written (src/lifecycle/resize-plan.ts) and kept in its
// parameters, so a resumed task does exactly what the dry run showed:
//   - the parameter rows derived from the class (old -> new value, and whether the server takes
//     the new value live, as information_schema.SYSTEM_VARIABLES.READ_ONLY said on the master);
//   - each node's capacity: what the new class needs more is taken in hostinfo in the transaction
//     that writes the task (hostinfo rows locked, as create does), what it needs less is given
//     back at the end (the server uses the old amount until then).
// Steps: the rows in mycnf_custinstance (do_build_params), the NCs' resource files and my.cnf
// (the install's own steps, rendered for the new class), SET GLOBAL of the dynamic ones on both
// servers, the restart flow's rolling restart (standby, switchover, old master) only when a
// static one changes, a post-check of what the servers run, and last custins.class_code /
// storage_gb and the instance rows' cpu/mem/disk in one transaction.
//
// Roles as in the restart flow: 'master' = the master when the task was written, 'slave' = its
// standby then (fixed by instance id: the switchover in the middle swaps the metadb roles).

export const RESIZE_FLOW_NAME = 'resize';

export interface ParamChange {
  name: string;
  from: string | null;
  to: string;
  source: 'baseline' | 'template' | 'class' | 'ha';
  /** applied with SET GLOBAL (the server says the variable is dynamic); otherwise by the restart */
  live: boolean;
}

export interface NeedParams {
  cpu: number;
  mem_mb: number;
  disk_gb: number;
}

export interface ResizeNodeParams {
  instance_id: number;
  hostinfo_id: number;
  host: string;
  /** the instance row's cpu/mem/disk when the task was written */
  from: NeedParams;
}

export interface ResizeParams {
  class_from: string;
  class_to: string;
  storage_from: number;
  storage_to: number;
  need_to: NeedParams;
  nodes: ResizeNodeParams[];
  changes: ParamChange[];
  restart: boolean;
}

export interface ResizeCtx extends PowerCtx {
  rz: ResizeParams;
}

type Step = StepDef<ResizeCtx, Node>;

const CLASS_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const VAR_RE = /^[a-z][a-z0-9_]{0,63}$/;

function need(o: unknown, what: string): NeedParams {
  const r = (o ?? {}) as Record<string, unknown>;
  const n = (k: string): number => {
    const v = Number(r[k]);
    if (!Number.isInteger(v) || v < 0) throw new UsageError(`task parameter ${what}.${k}: a non-negative integer`);
    return v;
  };
  return { cpu: n('cpu'), mem_mb: n('mem_mb'), disk_gb: n('disk_gb') };
}

export function parseResizeParams(p: Record<string, unknown>): ResizeParams {
  const r = (p.resize ?? null) as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') throw new UsageError('task parameter resize: an object');
  const cls = (k: string): string => {
    const v = r[k];
    if (typeof v !== 'string' || !CLASS_RE.test(v)) throw new UsageError(`task parameter resize.${k}: a class code`);
    return v;
  };
  const gb = (k: string): number => {
    const v = Number(r[k]);
    if (!Number.isInteger(v) || v <= 0) throw new UsageError(`task parameter resize.${k}: a positive number of GB`);
    return v;
  };
  if (!Array.isArray(r.nodes) || r.nodes.length !== 2) throw new UsageError('task parameter resize.nodes: the two nodes');
  const nodes = r.nodes.map((x, i): ResizeNodeParams => {
    const o = (x ?? {}) as Record<string, unknown>;
    const id = (k: string): number => {
      const v = Number(o[k]);
      if (!Number.isInteger(v) || v <= 0) throw new UsageError(`task parameter resize.nodes[${i}].${k}: a positive integer`);
      return v;
    };
    if (typeof o.host !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(o.host)) throw new UsageError(`task parameter resize.nodes[${i}].host: an NC host name`);
    return { instance_id: id('instance_id'), hostinfo_id: id('hostinfo_id'), host: o.host, from: need(o.from, `resize.nodes[${i}].from`) };
  });
  if (!Array.isArray(r.changes)) throw new UsageError('task parameter resize.changes: a list');
  const changes = r.changes.map((x, i): ParamChange => {
    const o = (x ?? {}) as Record<string, unknown>;
    const str = (v: unknown): boolean => typeof v === 'string' && v.length <= 255 && !/[\r\n\0]/.test(v);
    if (typeof o.name !== 'string' || !/^[a-z][a-z0-9_.-]{0,127}$/.test(o.name)) throw new UsageError(`task parameter resize.changes[${i}].name: a server option name`);
    if (!str(o.to) || (o.from !== null && !str(o.from))) throw new UsageError(`task parameter resize.changes[${i}]: one-line values`);
    if (o.source !== 'baseline' && o.source !== 'template' && o.source !== 'class' && o.source !== 'ha') throw new UsageError(`task parameter resize.changes[${i}].source: baseline, template, class or ha`);
    if (o.live === true && !VAR_RE.test(o.name)) throw new UsageError(`task parameter resize.changes[${i}]: ${o.name} cannot be set live`);
    return { name: o.name, from: (o.from as string | null) ?? null, to: o.to as string, source: o.source, live: o.live === true };
  });
  return { class_from: cls('class_from'), class_to: cls('class_to'), storage_from: gb('storage_from'), storage_to: gb('storage_to'), need_to: need(r.need_to, 'resize.need_to'), nodes, changes, restart: r.restart === true };
}

/** What the new class takes more (positive part, taken when the task is written) and gives back (at the end), per node. */
export function capacityDelta(from: NeedParams, to: NeedParams): { take: NeedParams; give: NeedParams } {
  const pos = (x: number): number => Math.max(x, 0);
  return {
    take: { cpu: pos(to.cpu - from.cpu), mem_mb: pos(to.mem_mb - from.mem_mb), disk_gb: pos(to.disk_gb - from.disk_gb) },
    give: { cpu: pos(from.cpu - to.cpu), mem_mb: pos(from.mem_mb - to.mem_mb), disk_gb: pos(from.disk_gb - to.disk_gb) },
  };
}

const GIVE_BACK_SQL = `UPDATE hostinfo SET cpu_allocated = GREATEST(CAST(cpu_allocated AS SIGNED) - ?, 0), mem_allocated_mb = GREATEST(CAST(mem_allocated_mb AS SIGNED) - ?, 0),
       disk_allocated_gb = GREATEST(CAST(disk_allocated_gb AS SIGNED) - ?, 0) WHERE id = ?`;

export async function giveBack(tx: Db, hostinfoId: number, n: NeedParams): Promise<void> {
  if (n.cpu || n.mem_mb || n.disk_gb) await tx.execute(GIVE_BACK_SQL, [n.cpu, n.mem_mb, n.disk_gb, hostinfoId]);
}

export async function take(tx: Db, hostinfoId: number, n: NeedParams): Promise<void> {
  if (n.cpu || n.mem_mb || n.disk_gb) await tx.execute('UPDATE hostinfo SET cpu_allocated = cpu_allocated + ?, mem_allocated_mb = mem_allocated_mb + ?, disk_allocated_gb = disk_allocated_gb + ? WHERE id = ?', [n.cpu, n.mem_mb, n.disk_gb, hostinfoId]);
}

// --- values as the server shows them ---

const SIZE_RE = /^(\d+)([KMGT])$/i;

/** "512M" -> "536870912": what SET GLOBAL takes and SHOW VARIABLES shows for a size. */
export function serverValue(v: string): string {
  const m = SIZE_RE.exec(v.trim());
  if (!m) return v.trim();
  const mult = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n }[m[2]!.toUpperCase() as 'K' | 'M' | 'G' | 'T'];
  return String(BigInt(m[1]!) * mult);
}

const TRUE = new Set(['ON', '1', 'TRUE', 'YES']);
const FALSE = new Set(['OFF', '0', 'FALSE', 'NO']);

/** The server runs `want`: same value once sizes are in bytes, case aside; ON/1 and OFF/0 alike. */
export function sameValue(running: string, want: string): boolean {
  const a = serverValue(running).toUpperCase();
  const b = serverValue(want).toUpperCase();
  return a === b || (TRUE.has(a) && TRUE.has(b)) || (FALSE.has(a) && FALSE.has(b));
}

/** mariadbd raises open_files_limit to what max_connections and table_open_cache need: more than asked is as asked. */
export function runsAsAsked(name: string, running: string, want: string): boolean {
  if (sameValue(running, want)) return true;
  return name === 'open_files_limit' && /^\d+$/.test(running) && /^\d+$/.test(want) && BigInt(running) >= BigInt(want);
}

export async function globalValues(su: InstanceSession, names: string[]): Promise<Map<string, string>> {
  if (!names.length) return new Map();
  const rows = await su.query<{ n: string; v: string | null }>(`SELECT LOWER(VARIABLE_NAME) AS n, GLOBAL_VALUE AS v FROM information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME IN (${names.map(() => '?').join(',')})`, names.map((n) => n.toUpperCase()));
  return new Map(rows.map((r) => [String(r.n), r.v === null ? '' : String(r.v)]));
}

/** SET GLOBAL with the value typed as the variable wants it: a number for a number, a word otherwise. */
function setGlobal(su: InstanceSession, name: string, value: string): Promise<unknown> {
  if (!VAR_RE.test(name)) throw new DataError(`${name}: not a variable name rdsctl sets live`);
  const v = serverValue(value);
  return su.query(`SET GLOBAL ${name} = ?`, [/^\d{1,15}$/.test(v) ? Number(v) : v]);
}

// --- steps ---

const liveChanges = (c: ResizeCtx): ParamChange[] => c.rz.changes.filter((x) => x.live);
const bothNodes = (c: ResizeCtx): Node[] => [c.from, c.to];

/** An install step (which sees the install context) run as a step of this flow. */
export function onBase<C extends { base: InstallCtx }>(st: StepDef<InstallCtx, Node>): StepDef<C, Node> {
  const { probe, run, skip: _skip, ...rest } = st;
  return {
    ...rest,
    ...(probe ? { probe: (c: C, n: Node[], s: StepScope) => probe(c.base, n, s) } : {}),
    run: (c, n, s) => run(c.base, n, s),
  };
}

/** Steps that act only when a static parameter changes (the rolling restart). */
function whenRestart(st: StepDef<PowerCtx, Node>): Step {
  const inner = st.skip;
  return {
    ...st,
    skipRule: `a static parameter changes${st.skipRule ? `; ${st.skipRule}` : ''}`,
    skip: (c: ResizeCtx) => (c.rz.restart ? (inner ? inner(c) : null) : 'no static parameter changes: no restart'),
  };
}

const doCheckResize: Step = {
  name: 'do_check_resize',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const db = c.base.db;
    const [ci] = await db.query<{ class_code: string; storage_gb: number }>('SELECT class_code, storage_gb FROM custins WHERE id = ?', [c.base.custins.id]);
    if (!ci) throw new DataError(`custins ${c.base.custins.id} is gone`);
    if (ci.class_code !== c.rz.class_from || Number(ci.storage_gb) !== c.rz.storage_from) {
      throw new ConflictError(`instance ${c.base.custins.ins_name} is ${ci.class_code} with ${ci.storage_gb} GB now, not ${c.rz.class_from} with ${c.rz.storage_from} GB as when task ${c.base.task.id} was written`);
    }
    const rows = await db.query<{ id: number; hostinfo_id: number; status: string }>("SELECT id, hostinfo_id, status FROM instance WHERE custins_id = ? AND status <> 'deleted'", [c.base.custins.id]);
    for (const n of c.rz.nodes) {
      const r = rows.find((x) => x.id === n.instance_id);
      if (!r) throw new ConflictError(`instance row ${n.instance_id} of ${c.base.custins.ins_name} is gone`);
      if (r.hostinfo_id !== n.hostinfo_id) throw new ConflictError(`instance ${n.instance_id} moved off ${n.host} since task ${c.base.task.id} was written (its capacity was taken there)`);
      if (r.status !== 'running') throw new ConflictError(`instance ${n.instance_id} on ${n.host} is ${r.status}; a resize needs both servers running`);
    }
    return `${c.rz.class_from} ${c.rz.storage_from} GB -> ${c.rz.class_to} ${c.rz.storage_to} GB; ${c.rz.changes.length} parameters (${liveChanges(c).length} live)${c.rz.restart ? ', rolling restart' : ', no restart'}`;
  },
};

/** The class's parameter rows in mycnf_custinstance, as planned (the seed's name for the step that writes them). */
const doBuildParams: Step = {
  name: 'do_build_params',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const id = c.base.custins.id;
    const n = await c.base.tx(async (tx) => {
      let written = 0;
      for (const ch of c.rz.changes) {
        const r = await tx.execute("INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value), source = VALUES(source)", [id, ch.name, ch.to, ch.source]);
        written += r.affectedRows ? 1 : 0;
      }
      return written;
    });
    return c.rz.changes.length ? c.rz.changes.map((x) => `${x.name} ${x.from ?? '-'} -> ${x.to}`).join(', ') : `no parameter derived from the class changes (${n} rows written)`;
  },
};

const doApplyDynamicParams: Step = {
  name: 'do_apply_dynamic_params',
  role: 'both',
  timeoutSec: 300,
  effect: 'remote',
  skipRule: 'a dynamic parameter changes',
  skip: (c) => (liveChanges(c).length ? null : 'no dynamic parameter changes'),
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port}: SET GLOBAL <each dynamic parameter the class changes> = <new value>; wait until the server shows it`],
  async probe(c) {
    const want = liveChanges(c);
    for (const n of bothNodes(c)) {
      const have = await withSu(c.base, n, (su) => globalValues(su, want.map((x) => x.name)));
      if (!want.every((x) => sameValue(have.get(x.name) ?? '', x.to))) return false;
    }
    return true;
  },
  async run(c, _nodes, s) {
    const want = liveChanges(c);
    const out: string[] = [];
    for (const n of bothNodes(c)) {
      await withSu(c.base, n, async (su) => {
        const have = await globalValues(su, want.map((x) => x.name));
        for (const x of want) if (!sameValue(have.get(x.name) ?? '', x.to)) await setGlobal(su, x.name, x.to);
      });
      // innodb_buffer_pool_size is resized in the background: done when the server shows the new size.
      await pollUntil(c.base, s, 250, async () => {
        const have = await withSu(c.base, n, (su) => globalValues(su, want.map((x) => x.name)));
        return want.every((x) => sameValue(have.get(x.name) ?? '', x.to)) ? true : undefined;
      });
      out.push(n.host);
    }
    return `${want.map((x) => `${x.name} = ${x.to}`).join(', ')} live on ${out.join(', ')}`;
  },
};

const doCheckParamsApplied: Step = {
  name: 'do_check_params_applied',
  role: 'both',
  timeoutSec: 60,
  effect: 'check',
  async run(c) {
    const names = c.rz.changes.filter((x) => VAR_RE.test(x.name)).map((x) => x.name);
    const bad: string[] = [];
    for (const n of bothNodes(c)) {
      const have = await withSu(c.base, n, (su) => globalValues(su, names));
      for (const x of c.rz.changes) {
        const v = have.get(x.name);
        if (v === undefined) continue;
        if (!runsAsAsked(x.name, v, x.to)) bad.push(`${n.host} runs ${x.name} = ${v}, not ${x.to}`);
      }
    }
    if (bad.length) throw new UnhealthyError(`${c.base.custins.ins_name}: ${bad.join('; ')}`);
    return `both servers run the ${c.rz.class_to} parameters (${names.length} checked)`;
  },
};

/** custins.class_code and storage, the instance rows' resources, and what the new class needs less given back: one transaction. */
const doUpdateClassInMetadb: Step = {
  name: 'do_update_class_in_metadb',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const to = c.rz.need_to;
    const freed: string[] = [];
    await c.base.tx(async (tx) => {
      for (const n of c.rz.nodes) {
        const [r] = await tx.query<{ cpu: number; mem_mb: number; disk_gb: number; hostinfo_id: number }>('SELECT cpu, mem_mb, disk_gb, hostinfo_id FROM instance WHERE id = ? FOR UPDATE', [n.instance_id]);
        if (!r) throw new DataError(`instance row ${n.instance_id} is gone`);
        if (Number(r.cpu) === to.cpu && Number(r.mem_mb) === to.mem_mb && Number(r.disk_gb) === to.disk_gb) continue;
        const { give } = capacityDelta(n.from, to);
        await giveBack(tx, n.hostinfo_id, give);
        await tx.execute('UPDATE instance SET cpu = ?, mem_mb = ?, disk_gb = ? WHERE id = ?', [to.cpu, to.mem_mb, to.disk_gb, n.instance_id]);
        if (give.cpu || give.mem_mb || give.disk_gb) freed.push(`${n.host} gave back ${give.cpu} cpu, ${give.mem_mb} MB, ${give.disk_gb} GB`);
      }
      await tx.execute('UPDATE custins SET class_code = ?, storage_gb = ? WHERE id = ?', [c.rz.class_to, c.rz.storage_to, c.base.custins.id]);
    });
    return `custins ${c.base.custins.ins_name}: ${c.rz.class_to}, ${c.rz.storage_to} GB; instances ${to.cpu} cpu, ${to.mem_mb} MB, ${to.disk_gb} GB${freed.length ? `; ${freed.join('; ')}` : ''}`;
  },
};

/**
 * The install's do_config_resource for a running server of the new class: the limits file is
 * rewritten and NOFILE applied to the running mysqld with prlimit as its owner, which can lower it
 * or raise it up to the hard limit it was started with. A raise above that needs the restart,
 * which follows: NOFILE is open_files_limit, a static variable.
 */
function configResource(role: 'master' | 'slave'): Step {
  const nofile = async (c: ResizeCtx): Promise<number> => {
    const [r] = await c.base.db.query<{ value: string }>("SELECT value FROM mycnf_custinstance WHERE custins_id = ? AND name = 'open_files_limit'", [c.base.custins.id]);
    const v = Number(r?.value);
    return Number.isInteger(v) && v > 0 ? v : c.base.cls.max_connections * 5;
  };
  return {
    name: 'do_config_resource',
    role,
    timeoutSec: 30,
    effect: 'remote',
    group: 'host_files',
    plan: (n) => [`write ${n.layout.limitsFile} (NOFILE = open_files_limit of the new class); prlimit --nofile on the running mysqld of port ${n.port} as its owner (a raise above its hard limit waits for the restart)`],
    probe: async (c, [n], s) => (await c.base.remote(n!, readFileScript(n!.layout.limitsFile), s)) === (await f.limitsFile(c.base, n!)),
    async run(c, [n], s) {
      const out = await c.base.remote(n!, resizeLimitsScript(n!.layout, await nofile(c)), s, { stdin: await f.limitsFile(c.base, n!) });
      return `${n!.host}: ${out.trim()}`;
    },
  };
}

function resizeLimitsScript(l: HostLayout, nofile: number): string {
  return script(
    sh`mkdir -p ${path.posix.dirname(l.limitsFile)}; umask 022; cat > ${l.limitsFile + '.rdsctl-tmp'}; mv -f ${l.limitsFile + '.rdsctl-tmp'} ${l.limitsFile}; ` +
      `if ${aliveTest(l)}; then ` +
      sh`if command -v prlimit >/dev/null 2>&1; then if runuser -u "$(stat -c %U "/proc/$p")" -- prlimit --pid "$p" --nofile=${nofile}:${nofile} 2>/dev/null; then echo "nofile=${nofile} applied to pid $p"; else echo "nofile=${nofile} is above the hard limit pid $p started with: applies at its restart"; fi; else echo "prlimit not installed: limits apply at the next start"; fi; ` +
      'else echo "mysqld not running: limits apply at the next start"; fi',
  );
}

export const RESIZE_STEPS: Step[] = [
  doCheckResize,
  doBuildParams,
  configResource('master'),
  configResource('slave'),
  onBase(f.doPersistResourceConfigMaster),
  onBase(f.doPersistResourceConfigSlave),
  onBase(doBuildMysqlParams),
  doApplyDynamicParams,
  ...RESTART_STEPS.map(whenRestart),
  doCheckParamsApplied,
  doUpdateClassInMetadb,
];

async function loadResizeCtx(env: FlowEnv): Promise<ResizeCtx> {
  const ha = await loadHaCtx(env);
  const rz = parseResizeParams(env.task.params);
  // The host files (resource limits, resource config) are rendered for the class being put in place.
  const cls = await findClass(ha.base.db, rz.class_to);
  if (!cls) throw new DataError(`class ${rz.class_to} of task ${env.task.id} is not in dbaas.instance_class`);
  ha.base.cls = cls;
  ha.base.custins = { ...ha.base.custins, class_code: rz.class_to, storage_gb: rz.storage_to };
  return { ...ha, power: { scope: 'both', switchover: true }, rz };
}

export const resizeFlow: FlowDef<ResizeCtx, Node> = {
  name: RESIZE_FLOW_NAME,
  version: 1,
  targetKind: 'instance',
  roles: ['master', 'slave', 'both', 'metadb'],
  steps: RESIZE_STEPS,
  validateParams: (p) => void parseResizeParams(p),
  load: loadResizeCtx,
  nodesOf: haNodesOf,
  hostName: (n) => n.host,
  async onDone(c, tx) {
    if (c.rz.restart) {
      await recordEvent(tx, { custinsId: c.base.custins.id, kind: 'switchover', oldMaster: c.from.instanceId, newMaster: c.to.instanceId, taskId: c.base.task.id, actor: c.params.requested_by ?? c.base.task.created_by ?? null, detail: `rolling restart of resize ${c.rz.class_from} -> ${c.rz.class_to}: ${c.from.host} -> ${c.to.host}` });
    }
  },
  // A cancelled resize gives back what it took and puts the parameter rows back, unless it got to
  // its last step (the instance rows hold the new class then: the resize is complete).
  async onCancel(tx, task) {
    let rz: ResizeParams;
    try {
      rz = parseResizeParams(task.params);
    } catch {
      return;
    }
    for (const n of rz.nodes) {
      const [r] = await tx.query<{ cpu: number; mem_mb: number; disk_gb: number }>('SELECT cpu, mem_mb, disk_gb FROM instance WHERE id = ? FOR UPDATE', [n.instance_id]);
      if (!r || (Number(r.cpu) === rz.need_to.cpu && Number(r.mem_mb) === rz.need_to.mem_mb && Number(r.disk_gb) === rz.need_to.disk_gb)) return;
    }
    for (const n of rz.nodes) await giveBack(tx, n.hostinfo_id, capacityDelta(n.from, rz.need_to).take);
    if (task.custins_id === null) return;
    for (const ch of rz.changes) {
      if (ch.from === null) await tx.execute('DELETE FROM mycnf_custinstance WHERE custins_id = ? AND name = ?', [task.custins_id, ch.name]);
      else await tx.execute('UPDATE mycnf_custinstance SET value = ? WHERE custins_id = ? AND name = ?', [ch.from, task.custins_id, ch.name]);
    }
  },
};
