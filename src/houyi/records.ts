import type { Nc } from './nc.js';
import type { Vm } from './vm.js';

// The JSON records of a VM and of an NC as hyapi answers them (the Houyi API's field names).
// These are an API for runbooks: never rename a field, only add.

export interface VmDetail {
  vm_name: string;
  instance_id: string;
  status: string;
  nc_name: string;
  nc_ip: string;
  cluster: string;
  zone: string;
  vcpu: number;
  mem_mb: number;
  ip: string;
  ssh_port: number;
  image: string;
  vpc_id: string | null;
  gmt_created: Date;
  gmt_modified: Date;
}

export function vmDetail(v: Vm): VmDetail {
  return {
    vm_name: v.name,
    instance_id: v.instance_id,
    status: v.status,
    nc_name: v.nc_hostname,
    nc_ip: v.nc_ip,
    cluster: v.cluster,
    zone: v.zone,
    vcpu: v.vcpu,
    mem_mb: v.mem_mb,
    ip: v.ip,
    ssh_port: v.ssh_port,
    image: v.image,
    vpc_id: v.vpc_id,
    gmt_created: v.gmt_created,
    gmt_modified: v.gmt_modified,
  };
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
