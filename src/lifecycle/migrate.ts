import { ConflictError, DataError, RemoteError, UsageError } from '../core/errors.js';
import { enqueue } from '../flow/enqueue.js';
import { loadInstallCtx, pollUntil, withSu, type InstallCtx } from '../flow/install/context.js';
import * as f from '../flow/install/host-files.js';
import { bindPairAccounts, pairAccountsBound } from '../flow/install/accounts.js';
import { doMakeDirSlave } from '../flow/install/host-setup.js';
import { doFlushAdminWhitelist } from '../flow/install/network.js';
import type { TaskRow } from '../flow/store.js';
import { sqlStore } from '../flow/store-sql.js';
import type { FlowDef, FlowEnv, StepDef, StepRole } from '../flow/types.js';
import { REBUILD_STEPS } from '../ha/rebuild.js';
import { recordEvent } from '../ha/records.js';
import { pointReplicaAt, pointsAt, serverState } from '../ha/server.js';
import { REPLICATOR, secretOf } from '../rds/accounts.js';
import { leftoversScript, portAndDirsScript, purgeScript, readFileScript } from '../rds/host-ops.js';
import { toNode, type Node } from '../rds/layout.js';
import { replicationTlsParams } from '../rds/instance-tls.js';
import type { Db } from '../remote/mysql.js';

// `instance migrate NAME --role standby [--to-nc NC]`: the standby is rebuilt on another NC while
// the old one keeps replicating, and the old one is removed only after the new one replicates.
// The new standby is built by the HA rebuild's own steps (streamed mariadb-backup of the master,
// prepare, GTID position from the backup, semi-sync) and the install's host-file steps (init
// script, resource config, insname, instance.conf line), acting on the target node.
//
// The metadb never has two copies of the node: the instance row keeps pointing at the old NC until
// do_switch_standby_in_metadb moves it (host, ip, port, maxscale_link) in one transaction. The
// target's port is reserved (rds_port_reservation) and its capacity taken from the moment the
// task is written; at the switch the reservation moves to the old NC's port, which stays held
// until the old server is purged: a port is never free in the metadb while a server of this
// task may still listen on it, and the old NC's capacity is given back only then.
//
// Step roles: 'master' = the master, 'slave' = the node at its target (the new standby), 'both' =
// the two, 'old' = the node at its old place. The target and the old place are fixed in the
// task's parameters, so a resume acts on the same hosts before and after the metadb switch.

export const MIGRATE_FLOW_NAME = 'migrate';

export interface PlaceParams {
  hostinfo_id: number;
  host: string;
  ip: string;
  port: number;
  ssh_port: number;
}

export interface MigrateParams {
  moving_instance_id: number;
  master_instance_id: number;
  target: PlaceParams;
  old: PlaceParams;
  need: { cpu: number; mem_mb: number; disk_gb: number };
  requested_by?: string;
}

export interface MigrateCtx extends InstallCtx {
  mp: MigrateParams;
  old: Node;
}

type Step = StepDef<MigrateCtx, Node>;

function place(p: unknown, what: string): PlaceParams {
  const o = (p ?? {}) as Record<string, unknown>;
  const int = (k: string): number => {
    const v = Number(o[k]);
    if (!Number.isInteger(v) || v <= 0 || v > 65535 * 65536) throw new UsageError(`task parameter ${what}.${k}: a positive integer`);
    return v;
  };
  const host = o.host;
  const ip = o.ip;
  if (typeof host !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(host)) throw new UsageError(`task parameter ${what}.host: an NC host name`);
  if (typeof ip !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new UsageError(`task parameter ${what}.ip: an IPv4 address`);
  const port = int('port');
  const sshPort = int('ssh_port');
  if (port > 65535 || sshPort > 65535) throw new UsageError(`task parameter ${what}: port out of range`);
  return { hostinfo_id: int('hostinfo_id'), host, ip, port, ssh_port: sshPort };
}

export function parseMigrateParams(p: Record<string, unknown>): MigrateParams {
  const id = (k: string): number => {
    const v = Number(p[k]);
    if (!Number.isInteger(v) || v <= 0) throw new UsageError(`task parameter ${k} must be an instance id`);
    return v;
  };
  const need = (p.need ?? {}) as Record<string, unknown>;
  const n = (k: string): number => {
    const v = Number(need[k]);
    if (!Number.isInteger(v) || v < 0) throw new UsageError(`task parameter need.${k}: a non-negative integer`);
    return v;
  };
  return {
    moving_instance_id: id('moving_instance_id'),
    master_instance_id: id('master_instance_id'),
    target: place(p.target, 'target'),
    old: place(p.old, 'old'),
    need: { cpu: n('cpu'), mem_mb: n('mem_mb'), disk_gb: n('disk_gb') },
    ...(typeof p.requested_by === 'string' ? { requested_by: p.requested_by } : {}),
  };
}

const nodeAt = (id: number, at: PlaceParams): Node => toNode({ id, role: 'slave', hostinfo_id: at.hostinfo_id, host_name: at.host, ip: at.ip, port: at.port, ssh_port: at.ssh_port });

async function loadMigrateCtx(env: FlowEnv): Promise<MigrateCtx> {
  const base = await loadInstallCtx(env);
  const mp = parseMigrateParams(env.task.params);
  if (base.master.instanceId !== mp.master_instance_id) throw new ConflictError(`instance ${base.custins.ins_name}: the master is instance ${base.master.instanceId} now, not ${mp.master_instance_id} as when task ${env.task.id} was written`);
  if (base.slave.instanceId !== mp.moving_instance_id) throw new DataError(`instance ${base.custins.ins_name}: the standby is instance ${base.slave.instanceId}, not ${mp.moving_instance_id}`);
  // From here on 'slave' is the node at its target, whatever the metadb row says yet.
  const c = base as MigrateCtx;
  c.slave = nodeAt(mp.moving_instance_id, mp.target);
  c.old = nodeAt(mp.moving_instance_id, mp.old);
  c.mp = mp;
  return c;
}

function migrateNodesOf(c: MigrateCtx, role: StepRole): Node[] {
  return role === 'master' ? [c.master] : role === 'slave' ? [c.slave] : role === 'both' ? [c.master, c.slave] : role === 'old' ? [c.old] : [];
}

const rebuildStep = (name: string): Step => {
  const s = REBUILD_STEPS.find((x) => x.name === name);
  if (!s) throw new Error(`the rebuild flow has no step ${name}`);
  return s as Step;
};

const doCheckTargetNc: Step = {
  name: 'do_check_target_nc',
  role: 'slave',
  timeoutSec: 30,
  effect: 'check',
  async run(c, [n], s) {
    const out = (await c.remote(n!, portAndDirsScript(n!.layout, n!.ip), s)).trim();
    if (out) throw new ConflictError(`${n!.host}: port ${n!.port} or the instance's directories are in use there (${out.split('\n').join('; ')}); nothing was changed`);
    return `${n!.host}: port ${n!.port} free, no directories of port ${n!.port}`;
  },
};

/**
 * The old standby stops replicating just before the new one starts: both carry the node's
 * server_id (the instance row id), and a master drops the older of two replicas with one
 * server_id each time the other connects, so the two would keep cutting each other off. The old
 * server keeps its data and keeps running until the new one replicates and the metadb moved.
 */
const doStopOldStandbyReplication: Step = {
  name: 'do_stop_old_standby_replication',
  role: 'old',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port}: STOP SLAVE (same server_id as the new standby)`],
  probe: async (c) => {
    const st = await withSu(c, c.old, serverState).catch(() => null);
    return st === null || !st.replica || (st.replica.ioRunning !== 'Yes' && st.replica.ioRunning !== 'Connecting');
  },
  async run(c) {
    await withSu(c, c.old, (su) => su.query('STOP SLAVE'));
    return `${c.old.host}:${c.old.port} stopped replicating (kept until the new standby replicates)`;
  },
};

/**
 * The master's own replication channel (the install's dual-master shape) follows the standby: a
 * channel from the old place is stopped and pointed at the new one (MASTER_USE_GTID =
 * current_pos), not started: a master does not apply from its standby, and a switchover starts
 * the channel of whichever server becomes the standby (the shape a pair has after one). A master
 * with no channel to the old place is left so.
 */
const doRepointMasterReplication: Step = {
  name: 'do_repoint_master_replication',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n, v) => [`SQL over TCP to ${n.ip}:${n.port}: when its replication channel points at the old standby: STOP SLAVE; CHANGE MASTER TO ${v.peer.ip}:${v.peer.port}, MASTER_USE_GTID = current_pos (not started)`],
  probe: async (c) => {
    const st = await withSu(c, c.master, serverState);
    return !st.replica || !pointsAt(st, c.old);
  },
  async run(c) {
    const st = await withSu(c, c.master, serverState);
    if (!st.replica || !pointsAt(st, c.old)) return `${c.master.host} has no channel to the old standby: left as it is`;
    const pw = await secretOf(c.db, c.custins.id, REPLICATOR);
    const tlsOptions = await replicationTlsParams(c.db, c.custins.id, c.master.layout);
    await withSu(c, c.master, async (su) => {
      await su.query('STOP SLAVE');
      await pointReplicaAt(su, c.slave, REPLICATOR, pw, 'current_pos', tlsOptions);
    });
    return `${c.master.host}: replication channel now points at ${c.slave.host}:${c.slave.port} (stopped, as after a switchover)`;
  },
};

const doSwitchStandbyInMetadb: Step = {
  name: 'do_switch_standby_in_metadb',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const { target: t, old: o } = c.mp;
    const id = c.mp.moving_instance_id;
    const moved = await c.tx(async (tx) => {
      const row = (await tx.query<{ hostinfo_id: number; port: number }>('SELECT hostinfo_id, port FROM instance WHERE id = ? FOR UPDATE', [id]))[0];
      if (!row) throw new DataError(`instance row ${id} is gone`);
      if (row.hostinfo_id === t.hostinfo_id && row.port === t.port) return false;
      await tx.execute('UPDATE instance SET hostinfo_id = ?, host_name = ?, ip = ?, port = ? WHERE id = ?', [t.hostinfo_id, t.host, t.ip, t.port, id]);
      await tx.execute('UPDATE maxscale_link SET ip = ?, port = ? WHERE custins_id = ? AND instance_id = ?', [t.ip, t.port, c.custins.id, id]);
      await tx.execute('DELETE FROM rds_port_reservation WHERE hostinfo_id = ? AND port = ? AND task_id = ?', [t.hostinfo_id, t.port, c.task.id]);
      await tx.execute('INSERT INTO rds_port_reservation (hostinfo_id, port, custins_id, task_id, why) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE task_id = task_id', [o.hostinfo_id, o.port, c.custins.id, c.task.id, 'migrate source']);
      return true;
    });
    return `instance ${id}: ${o.host}:${o.port} -> ${t.host}:${t.port}${moved ? '' : ' (already)'}; ${o.host}:${o.port} held until the old server is removed`;
  },
};

const doRemoveOldStandby: Step = {
  name: 'do_remove_old_standby',
  role: 'old',
  timeoutSec: 120,
  effect: 'remote',
  plan: (n) => [`on ${n.host}, when its insinfo line of port ${n.port} names this instance (or is gone) and the metadb no longer points there: ${purgeScript(n.layout)}`],
  probe: async (c, [n], s) => (await c.remote(n!, leftoversScript(n!.layout), s)).trim() === '' && (await pairAccountsBound(c, c.master)) && (await pairAccountsBound(c, c.slave)),
  async run(c, [n], s) {
    const row = (await c.db.query<{ hostinfo_id: number; port: number }>('SELECT hostinfo_id, port FROM instance WHERE id = ?', [c.mp.moving_instance_id]))[0];
    if (!row || (row.hostinfo_id === n!.hostinfoId && row.port === n!.port)) throw new ConflictError(`instance ${c.mp.moving_instance_id} still lives on ${n!.host}:${n!.port} in the metadb: not removing it`);
    const insinfo = (await c.remote(n!, readFileScript(n!.layout.insinfoFile), s)).split('\n').find((l) => l.split(/\s+/)[0] === String(n!.port));
    if (insinfo && insinfo.split(/\s+/)[1] !== c.custins.ins_name) throw new RemoteError(`${n!.host}: port ${n!.port} belongs to ${insinfo.split(/\s+/)[1]} per its insinfo file, not ${c.custins.ins_name}: not removing it`, { host: n!.host });
    const out = (await c.remote(n!, purgeScript(n!.layout), s, { timeoutSec: 110 })).trim();
    // The old standby is gone: its address is no longer bound to the pair's system accounts.
    const acc = await bindPairAccounts(c, [c.master, c.slave]);
    return `${n!.host}: ${out.split('\n').join('; ')}; accounts ${acc}`;
  },
};

const doReleaseOldPlace: Step = {
  name: 'do_release_old_place',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const { old: o, need } = c.mp;
    const released = await c.tx(async (tx) => {
      const r = await tx.execute('DELETE FROM rds_port_reservation WHERE hostinfo_id = ? AND port = ? AND task_id = ?', [o.hostinfo_id, o.port, c.task.id]);
      if (!r.affectedRows) return false;
      await tx.execute(
        `UPDATE hostinfo SET cpu_allocated = GREATEST(CAST(cpu_allocated AS SIGNED) - ?, 0), mem_allocated_mb = GREATEST(CAST(mem_allocated_mb AS SIGNED) - ?, 0),
                disk_allocated_gb = GREATEST(CAST(disk_allocated_gb AS SIGNED) - ?, 0) WHERE id = ?`,
        [need.cpu, need.mem_mb, need.disk_gb, o.hostinfo_id],
      );
      return true;
    });
    return released ? `${o.host}: port ${o.port} and ${need.cpu} cpu, ${need.mem_mb} MB, ${need.disk_gb} GB given back` : `${o.host}: already given back`;
  },
};

export const MIGRATE_STEPS: Step[] = [
  rebuildStep('do_check_rebuild_source'),
  doCheckTargetNc,
  doMakeDirSlave as Step,
  rebuildStep('do_prepare_standby_datadir'),
  rebuildStep('do_stream_backup_from_master'),
  rebuildStep('do_prepare_backup'),
  f.doRebuildInitdSlave as Step,
  f.doConfigResourceSlave as Step,
  f.doPersistResourceConfigSlave as Step,
  f.doWriteInsnameToFileSlave as Step,
  f.doAddPortToInstanceConfigSlave as Step,
  rebuildStep('do_start_standby'),
  doStopOldStandbyReplication,
  rebuildStep('do_configure_standby_replication'),
  rebuildStep('do_enable_semisync_on_master'),
  doRepointMasterReplication,
  doSwitchStandbyInMetadb,
  doFlushAdminWhitelist as Step,
  f.doFlushInsinfoFile as Step,
  doRemoveOldStandby,
  doReleaseOldPlace,
];

export const migrateFlow: FlowDef<MigrateCtx, Node> = {
  name: MIGRATE_FLOW_NAME,
  version: 1,
  targetKind: 'instance',
  roles: ['master', 'slave', 'both', 'old', 'metadb'],
  steps: MIGRATE_STEPS,
  validateParams: (p) => void parseMigrateParams(p),
  load: loadMigrateCtx,
  nodesOf: migrateNodesOf,
  hostName: (n) => n.host,
  async onDone(c, tx) {
    await recordEvent(tx, { custinsId: c.custins.id, kind: 'rebuild', oldMaster: c.master.instanceId, newMaster: c.master.instanceId, taskId: c.task.id, actor: c.mp.requested_by ?? c.task.created_by ?? null, detail: `standby instance ${c.mp.moving_instance_id} migrated ${c.mp.old.host}:${c.mp.old.port} -> ${c.mp.target.host}:${c.mp.target.port}` });
  },
  onCancel: undoCancelledMigrate,
};

// ---- undo of a cancelled migrate ------------------------------------------------------------
//
// A cancelled (or failed, then cancelled) migrate must not keep the target NC's port and capacity
// until a resume that will never come. What is undone depends on how far it got:
// - the metadb already points at the target (do_switch_standby_in_metadb done): the target is the
//   instance's node now; nothing is undone (the old place stays held until its server is purged,
//   which only the migrate's own last steps do);
// - no step acted on a host yet: the target's reservation and capacity are given back at once, in
//   the cancel's own transaction;
// - otherwise a half-built copy may run on the target (same server_id as the old standby, whose
//   replication the migrate may have stopped) and the master's channel may point at it. Freeing the
//   port then would free a port a server of the instance listens on, and a cancel has no hosts to
//   act on (onCancel gets a metadb transaction only). So the cancel writes a `migrate_undo` task,
//   which removes the copy, puts the old standby and the master's channel back and only then gives
//   the port and capacity back. It is an ordinary task: `rdsctl task resume ID` or `worker` runs it,
//   `task list`/`instance show` show it, and the instance's other operations wait for it.

export const MIGRATE_UNDO_FLOW_NAME = 'migrate_undo';

/** The migrate steps that act on no host: a migrate cancelled with only these run left nothing anywhere. */
const HOSTLESS = new Set(['do_check_rebuild_source', 'do_check_target_nc']);

async function giveBackTarget(tx: Db, mp: MigrateParams, migrateTaskId: number): Promise<boolean> {
  const { target: t, need } = mp;
  const r = await tx.execute('DELETE FROM rds_port_reservation WHERE hostinfo_id = ? AND port = ? AND task_id = ?', [t.hostinfo_id, t.port, migrateTaskId]);
  if (!r.affectedRows) return false;
  await tx.execute(
    `UPDATE hostinfo SET cpu_allocated = GREATEST(CAST(cpu_allocated AS SIGNED) - ?, 0), mem_allocated_mb = GREATEST(CAST(mem_allocated_mb AS SIGNED) - ?, 0),
            disk_allocated_gb = GREATEST(CAST(disk_allocated_gb AS SIGNED) - ?, 0) WHERE id = ?`,
    [need.cpu, need.mem_mb, need.disk_gb, t.hostinfo_id],
  );
  return true;
}

async function undoCancelledMigrate(tx: Db, task: TaskRow): Promise<void> {
  let mp: MigrateParams;
  try {
    mp = parseMigrateParams(task.params);
  } catch {
    return; // such a task never ran (validateParams refuses it at enqueue): it holds nothing to give back
  }
  const row = (await tx.query<{ hostinfo_id: number; port: number; custins_id: number }>('SELECT hostinfo_id, port, custins_id FROM instance WHERE id = ? FOR UPDATE', [mp.moving_instance_id]))[0];
  if (!row || (row.hostinfo_id === mp.target.hostinfo_id && row.port === mp.target.port)) return;
  const held = await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM rds_port_reservation WHERE hostinfo_id = ? AND port = ? AND task_id = ?', [mp.target.hostinfo_id, mp.target.port, task.id]);
  if (!Number(held[0]?.n)) return;
  const steps = await tx.query<{ step_name: string; status: string }>('SELECT step_name, status FROM task_step WHERE task_id = ?', [task.id]);
  if (steps.every((st) => HOSTLESS.has(st.step_name) || st.status === 'pending')) {
    await giveBackTarget(tx, mp, task.id);
    return;
  }
  await enqueue(sqlStore(tx), migrateUndoFlow, { kind: 'instance', id: String(row.custins_id) }, { ...task.params, migrate_task_id: task.id }, { createdBy: task.created_by ?? 'rdsctl' });
}

interface UndoCtx extends MigrateCtx {
  migrateTaskId: number;
  /** The migrate found the target's port and directories free (and held them since): whatever is there now is its own. */
  targetChecked: boolean;
}

type UndoStep = StepDef<UndoCtx, Node>;

function parseUndoParams(p: Record<string, unknown>): MigrateParams & { migrate_task_id: number } {
  const id = Number(p.migrate_task_id);
  if (!Number.isInteger(id) || id <= 0) throw new UsageError('task parameter migrate_task_id must be a task id');
  return { ...parseMigrateParams(p), migrate_task_id: id };
}

async function loadUndoCtx(env: FlowEnv): Promise<UndoCtx> {
  const c = (await loadMigrateCtx(env)) as UndoCtx;
  c.migrateTaskId = parseUndoParams(env.task.params).migrate_task_id;
  c.targetChecked = (await env.store.loadSteps(c.migrateTaskId)).some((st) => st.step_name === 'do_check_target_nc' && st.status === 'done');
  return c;
}

const doCheckMigrateNotSwitched: UndoStep = {
  name: 'do_check_migrate_not_switched',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const row = (await c.db.query<{ hostinfo_id: number; port: number }>('SELECT hostinfo_id, port FROM instance WHERE id = ?', [c.mp.moving_instance_id]))[0];
    if (!row) throw new DataError(`instance row ${c.mp.moving_instance_id} is gone`);
    if (row.hostinfo_id !== c.mp.old.hostinfo_id || row.port !== c.mp.old.port) throw new ConflictError(`instance ${c.mp.moving_instance_id} is no longer at ${c.old.host}:${c.old.port} in the metadb: nothing of migrate task ${c.migrateTaskId} to undo`);
    return `instance ${c.mp.moving_instance_id} still at ${c.old.host}:${c.old.port}; undoing migrate task ${c.migrateTaskId}`;
  },
};

/** The master's channel, when the migrate pointed it at the target, goes back to the old standby (stopped, as the migrate left it). */
const doRepointMasterBack: UndoStep = {
  name: 'do_repoint_master_replication_back',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port}: when its replication channel points at the migrate's target: STOP SLAVE; CHANGE MASTER TO the old standby, MASTER_USE_GTID = current_pos (not started)`],
  probe: async (c) => !pointsAt(await withSu(c, c.master, serverState), c.slave),
  async run(c) {
    const st = await withSu(c, c.master, serverState);
    if (!pointsAt(st, c.slave)) return `${c.master.host}: its channel does not point at the target: left as it is`;
    const pw = await secretOf(c.db, c.custins.id, REPLICATOR);
    const tlsOptions = await replicationTlsParams(c.db, c.custins.id, c.master.layout);
    await withSu(c, c.master, async (su) => {
      await su.query('STOP SLAVE');
      await pointReplicaAt(su, c.old, REPLICATOR, pw, 'current_pos', tlsOptions);
    });
    return `${c.master.host}: replication channel points at ${c.old.host}:${c.old.port} again (stopped)`;
  },
};

const doRemoveTargetCopy: UndoStep = {
  name: 'do_remove_target_copy',
  role: 'slave',
  timeoutSec: 120,
  effect: 'remote',
  skip: (c) => (c.targetChecked ? null : `migrate task ${c.migrateTaskId} never found the target free: nothing of it is there`),
  skipRule: "skipped when the migrate's do_check_target_nc did not pass (the port or directories were someone else's)",
  plan: (n) => [`on ${n.host}, when no instance row of the metadb is at port ${n.port} there and its insinfo line (if any) names this instance: ${purgeScript(n.layout)}`],
  probe: async (c, [n], s) => (await c.remote(n!, leftoversScript(n!.layout), s)).trim() === '',
  async run(c, [n], s) {
    const other = await c.db.query<{ id: number }>("SELECT id FROM instance WHERE hostinfo_id = ? AND port = ? AND status <> 'deleted'", [n!.hostinfoId, n!.port]);
    if (other.length) throw new ConflictError(`instance ${other[0]!.id} lives on ${n!.host}:${n!.port} in the metadb: not removing it`);
    const insinfo = (await c.remote(n!, readFileScript(n!.layout.insinfoFile), s)).split('\n').find((l) => l.split(/\s+/)[0] === String(n!.port));
    if (insinfo && insinfo.split(/\s+/)[1] !== c.custins.ins_name) throw new RemoteError(`${n!.host}: port ${n!.port} belongs to ${insinfo.split(/\s+/)[1]} per its insinfo file, not ${c.custins.ins_name}: not removing it`, { host: n!.host });
    const out = (await c.remote(n!, purgeScript(n!.layout), s, { timeoutSec: 110 })).trim();
    return `${n!.host}: ${out.split('\n').join('; ')}`;
  },
};

/** The old standby replicates again (the migrate stopped it because the copy shared its server_id; the copy is gone now). */
const doRestartOldStandbyReplication: UndoStep = {
  name: 'do_restart_old_standby_replication',
  role: 'old',
  timeoutSec: 90,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port}: START SLAVE; wait until its IO and SQL threads run`],
  probe: async (c) => {
    const st = await withSu(c, c.old, serverState);
    return pointsAt(st, c.master) && st.replica!.ioRunning === 'Yes' && st.replica!.sqlRunning === 'Yes';
  },
  async run(c, _n, s) {
    await withSu(c, c.old, (su) => su.query('START SLAVE'));
    const st = await pollUntil(c, s, 250, async () => {
      const x = await withSu(c, c.old, serverState);
      return x.replica && x.replica.ioRunning === 'Yes' && x.replica.sqlRunning === 'Yes' ? x : undefined;
    });
    return `${c.old.host}:${c.old.port} replicates from ${st.replica!.masterHost}:${st.replica!.masterPort} again`;
  },
};

const doReleaseTargetPlace: UndoStep = {
  name: 'do_release_target_place',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const t = c.mp.target;
    const done = await c.tx((tx) => giveBackTarget(tx, c.mp, c.migrateTaskId));
    return done ? `${t.host}: port ${t.port} and ${c.mp.need.cpu} cpu, ${c.mp.need.mem_mb} MB, ${c.mp.need.disk_gb} GB given back` : `${t.host}: already given back`;
  },
};

export const migrateUndoFlow: FlowDef<UndoCtx, Node> = {
  name: MIGRATE_UNDO_FLOW_NAME,
  version: 1,
  targetKind: 'instance',
  roles: ['master', 'slave', 'old', 'metadb'],
  steps: [doCheckMigrateNotSwitched, doRepointMasterBack, doRemoveTargetCopy, doRestartOldStandbyReplication, doReleaseTargetPlace],
  validateParams: (p) => void parseUndoParams(p),
  load: loadUndoCtx,
  nodesOf: migrateNodesOf,
  hostName: (n) => n.host,
  async onDone(c, tx) {
    await recordEvent(tx, { custinsId: c.custins.id, kind: 'rebuild', oldMaster: c.master.instanceId, newMaster: c.master.instanceId, taskId: c.task.id, actor: c.task.created_by ?? null, detail: `migrate task ${c.migrateTaskId} undone: the copy on ${c.mp.target.host}:${c.mp.target.port} removed, standby instance ${c.mp.moving_instance_id} replicating at ${c.mp.old.host}:${c.mp.old.port}` });
  },
};
