import type { Presence } from '../core/presence.js';
import type { Db } from '../remote/mysql.js';
import type { HostTarget } from '../remote/ssh-types.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { isIpv4, nearByPrefix, PROBE_LIMIT } from '../core/near.js';
import { ncTarget } from './nc.js';

// VMs in the houyi metadb, named by vm name, ECS instance id (i-…) or IP, each on a unique index.

export type VmStatus = 'pending' | 'starting' | 'running' | 'stopping' | 'stopped' | 'deleted';

export interface Vm {
  id: number;
  name: string;
  /** The libvirt domain UUID (unchecked here: domainUuid() checks it before virsh is called). */
  uuid: string | null;
  instance_id: string;
  status: VmStatus;
  vcpu: number;
  mem_mb: number;
  ip: string;
  ssh_port: number;
  image: string;
  vpc_id: string | null;
  gmt_created: Date;
  gmt_modified: Date;
  nc_id: number;
  nc_hostname: string;
  nc_ip: string;
  nc_ssh_port: number;
  cluster: string;
  zone: string;
}

export type VmKey = 'name' | 'instance_id' | 'ip';

// STRAIGHT_JOIN: vm first, by the key in the WHERE (see SELECT_NC).
const SELECT_VM = `SELECT STRAIGHT_JOIN v.id, v.name, v.uuid, v.instance_id, v.status, v.vcpu, v.mem_mb, v.ip, v.ssh_port, v.image, v.vpc_id,
       v.gmt_created, v.gmt_modified, v.nc_id, n.hostname AS nc_hostname, n.ip AS nc_ip, n.ssh_port AS nc_ssh_port,
       c.name AS cluster, z.name AS zone
  FROM vm v JOIN nc n ON n.id = v.nc_id JOIN cluster c ON c.id = n.cluster_id JOIN zone z ON z.id = n.zone_id`;

const KEY_COLUMN: Record<VmKey, string> = { name: 'v.name', instance_id: 'v.instance_id', ip: 'v.ip' };

/** Whether vmsBy(key, value) can find a VM: the same table and key (core/presence.ts). */
export function vmPresence(key: VmKey, value: string): Presence {
  return { from: `vm v WHERE ${KEY_COLUMN[key]} = ?`, params: [value] };
}

export async function vmsBy(db: Db, key: VmKey, value: string): Promise<Vm[]> {
  return db.query<Vm>(`${SELECT_VM} WHERE ${KEY_COLUMN[key]} = ?`, [value]);
}

/** VMs whose key is one of `values` (one query). */
export async function vmsIn(db: Db, key: VmKey, values: string[]): Promise<Vm[]> {
  const out: Vm[] = [];
  for (let i = 0; i < values.length; i += 1000) out.push(...(await db.query<Vm>(`${SELECT_VM} WHERE ${KEY_COLUMN[key]} IN (?)`, [values.slice(i, i + 1000)])));
  return out;
}

/** The VM a name means: an IP-shaped name by ip; otherwise vm name, then instance id. */
export async function lookupVm(db: Db, name: string): Promise<{ vm: Vm; key: VmKey } | undefined> {
  const keys: VmKey[] = isIpv4(name) ? ['ip'] : ['name', 'instance_id'];
  for (const key of keys) {
    const [vm] = await vmsBy(db, key, name);
    if (vm) return { vm, key };
  }
  return undefined;
}

export async function findVm(db: Db, name: string): Promise<Vm> {
  const hit = await lookupVm(db, name);
  if (hit) return hit.vm;
  throw new NotFoundError(`VM "${name}" not found in houyi (by name, instance ID or IP)`, await nearVmNames(db, name));
}

export async function nearVmNames(db: Db, name: string): Promise<string[]> {
  const column = /^\d/.test(name) ? 'ip' : /^i-/.test(name) ? 'instance_id' : 'name';
  return nearByPrefix(name, async (pattern) => {
    const rows = await db.query<{ v: string }>(`SELECT ${column} AS v FROM vm WHERE ${column} LIKE ? ORDER BY ${column} LIMIT ${PROBE_LIMIT}`, [pattern]);
    return rows.map((r) => r.v);
  });
}

// The NC's index, forced: on a small or skewed table (a lab NC holding most of the VMs, statistics
// not yet refreshed) the optimizer picked a full scan of vm even with STRAIGHT_JOIN; on a fleet the
// index is always the right plan, and a plan that flips with statistics is what a lookup must not do.
const SELECT_VM_ON_NC = SELECT_VM.replace('FROM vm v JOIN', 'FROM vm v FORCE INDEX (idx_vm_nc) JOIN');

/** VMs on one NC, deleted ones left out, by name. */
export async function vmsOnNc(db: Db, ncId: number): Promise<Vm[]> {
  return db.query<Vm>(`${SELECT_VM_ON_NC} WHERE v.nc_id = ? AND v.status <> 'deleted' ORDER BY v.name`, [ncId]);
}

/** A VM is reached through its NC as a jump host. */
export function vmTarget(vm: Vm): HostTarget {
  return { name: vm.name, address: vm.ip, port: vm.ssh_port, via: ncTarget({ hostname: vm.nc_hostname, ip: vm.nc_ip, ssh_port: vm.nc_ssh_port }) };
}

/**
 * Record a state the NC confirmed. Conditional on the status read before acting, so a concurrent
 * change by someone else is not silently overwritten.
 */
export async function recordVmStatus(db: Db, vmId: number, from: VmStatus, to: VmStatus): Promise<boolean> {
  const r = await db.execute('UPDATE vm SET status = ? WHERE id = ? AND status = ?', [to, vmId, from]);
  return r.affectedRows === 1;
}

/** go2vm reaches only a running VM: anything else fails at once, naming the state, without an SSH attempt. */
export function requireRunning(vm: Vm): Vm {
  if (vm.status === 'running') return vm;
  const hint = vm.status === 'stopped' ? `start it: rdsctl hyapi start_vm vm_name=${vm.name}` : undefined;
  throw new ConflictError(`VM ${vm.name} is ${vm.status} (houyi); not connecting`, hint ? { hint } : {});
}
