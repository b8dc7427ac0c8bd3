import type { Nc } from './nc.js';
import type { Vm } from './vm.js';

// The JSON records of a VM and of an NC. These are an API for runbooks: never rename a field,
// only add (and keep a renamed one as an alias for a release, below).

/**
 * A VM, the same object wherever rdsctl prints one: `go2vmlist -o json`, `hyapi detail_vm` /
 * `list_vm` (data) and `go2which` (a vm match's record).
 */
export interface VmRecord {
  name: string;
  instance_id: string;
  status: string;
  vcpu: number;
  mem_mb: number;
  ip: string;
  ssh_port: number;
  image: string;
  vpc_id: string | null;
  /** The NC's hostname. */
  nc: string;
  nc_ip: string;
  cluster: string;
  zone: string;
  gmt_created: Date;
  gmt_modified: Date;
}

export function vmRecord(v: Vm): VmRecord {
  return {
    name: v.name,
    instance_id: v.instance_id,
    status: v.status,
    vcpu: v.vcpu,
    mem_mb: v.mem_mb,
    ip: v.ip,
    ssh_port: v.ssh_port,
    image: v.image,
    vpc_id: v.vpc_id,
    nc: v.nc_hostname,
    nc_ip: v.nc_ip,
    cluster: v.cluster,
    zone: v.zone,
    gmt_created: v.gmt_created,
    gmt_modified: v.gmt_modified,
  };
}

/**
 * hyapi's VM data before the one shape: `vm_name` (now `name`) and `nc_name` (now `nc`). Kept
 * beside the new names for one release so runbooks reading them go on working; README says so.
 */
export interface HyapiVmRecord extends VmRecord {
  /** Deprecated alias of name. */
  vm_name: string;
  /** Deprecated alias of nc. */
  nc_name: string;
}

export const HYAPI_VM_ALIASES = ['vm_name', 'nc_name'] as const;

export function hyapiVmRecord(v: Vm): HyapiVmRecord {
  const r = vmRecord(v);
  return { ...r, vm_name: r.name, nc_name: r.nc };
}

export interface NcDetail {
  nc_name: string;
  ip: string;
  sn: string;
  region: string;
  zone: string;
  cluster: string;
  status: string;
  locked: boolean;
  lock_reason: string | null;
  cpu_total: number;
  cpu_allocated: number;
  mem_total_mb: number;
  mem_allocated_mb: number;
  disk_total_gb: number;
  ssh_port: number;
}

export function ncDetail(n: Nc): NcDetail {
  return {
    nc_name: n.hostname,
    ip: n.ip,
    sn: n.sn,
    region: n.region,
    zone: n.zone,
    cluster: n.cluster,
    status: n.status,
    locked: n.locked,
    lock_reason: n.lock_reason,
    cpu_total: n.cpu_total,
    cpu_allocated: n.cpu_allocated,
    mem_total_mb: n.mem_total_mb,
    mem_allocated_mb: n.mem_allocated_mb,
    disk_total_gb: n.disk_total_gb,
    ssh_port: n.ssh_port,
  };
}
