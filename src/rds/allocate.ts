import { randomBytes } from 'node:crypto';
import type { Db } from '../remote/mysql.js';
import { ConflictError, UnavailableError } from '../core/errors.js';
import type { CreateSpec } from './validate.js';

// Resource allocation as rdsapi does it: two online, unlocked NCs of the zone on different hosts, each
// with room for the class and the storage, and one port free on both. Runs inside the caller's
// transaction; the hostinfo rows of the zone are locked FOR UPDATE first, so two creates in one
// zone take turns and can never hand out the same capacity or port.

export interface HostCandidate {
  id: number;
  hostname: string;
  ip: string;
  cluster: string;
  cpu_total: number;
  cpu_allocated: number;
  mem_total_mb: number;
  mem_allocated_mb: number;
  disk_total_gb: number;
  disk_allocated_gb: number;
  port_min: number;
  port_max: number;
}

export interface Need {
  cpu: number;
  memMb: number;
  diskGb: number;
}

export interface Allocation {
  master: HostCandidate;
  slave: HostCandidate;
  port: number;
}

const freeMem = (h: HostCandidate): number => h.mem_total_mb - h.mem_allocated_mb;
const freeCpu = (h: HostCandidate): number => h.cpu_total - h.cpu_allocated;

export function fits(h: HostCandidate, need: Need): boolean {
  return freeCpu(h) >= need.cpu && freeMem(h) >= need.memMb && h.disk_total_gb - h.disk_allocated_gb >= need.diskGb;
}

/**
 * Pick the pair: the roomiest host is the master; the standby is the roomiest other host,
 * preferring another cluster (a cluster-wide fault should not take both). The lowest port
 * free on both in the range both allow wins. Pure, so that unit tests pin the policy.
 */
export function choosePair(hosts: HostCandidate[], need: Need, usedPorts: Map<number, Set<number>>): Allocation | null {
  const ok = hosts.filter((h) => fits(h, need)).sort((a, b) => freeMem(b) - freeMem(a) || freeCpu(b) - freeCpu(a) || a.hostname.localeCompare(b.hostname));
  for (let i = 0; i < ok.length; i++) {
    const master = ok[i]!;
    const others = ok.filter((h) => h.id !== master.id && h.hostname !== master.hostname);
    const ordered = [...others.filter((h) => h.cluster !== master.cluster), ...others.filter((h) => h.cluster === master.cluster)];
    for (const slave of ordered) {
      const port = commonFreePort(master, slave, usedPorts);
      if (port !== null) return { master, slave, port };
    }
  }
  return null;
}

function commonFreePort(a: HostCandidate, b: HostCandidate, used: Map<number, Set<number>>): number | null {
  const lo = Math.max(a.port_min, b.port_min);
  const hi = Math.min(a.port_max, b.port_max);
  const ua = used.get(a.id) ?? new Set<number>();
  const ub = used.get(b.id) ?? new Set<number>();
  for (let p = lo; p <= hi; p++) if (!ua.has(p) && !ub.has(p)) return p;
  return null;
}

export function generateInsName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(14);
  let s = 'rm-';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

export interface AllocatedInstance {
  custinsId: number;
  insName: string;
  masterInstanceId: number;
  slaveInstanceId: number;
  alloc: Allocation;
}

/** Lock the zone's hosts, choose, and write custins + the two instance rows + capacity. */
export async function allocate(tx: Db, spec: CreateSpec): Promise<AllocatedInstance> {
  const hosts = await tx.query<HostCandidate>(
    `SELECT id, hostname, ip, cluster, cpu_total, cpu_allocated, mem_total_mb, mem_allocated_mb, disk_total_gb, disk_allocated_gb, port_min, port_max
       FROM hostinfo WHERE zone = ? AND status = 'online' AND locked = 0 ORDER BY id FOR UPDATE`,
    [spec.zone],
  );
  const need: Need = { cpu: spec.cls.cpu, memMb: spec.cls.mem_mb, diskGb: spec.storageGb };
  const used = new Map<number, Set<number>>();
  if (hosts.length) {
    const rows = await tx.query<{ hostinfo_id: number; port: number }>(
      `SELECT hostinfo_id, port FROM instance WHERE status <> 'deleted' AND hostinfo_id IN (${hosts.map(() => '?').join(',')})`,
      hosts.map((h) => h.id),
    );
    // ports held by a migration in flight (src/lifecycle/placement.ts) are taken too
    const held = await tx.query<{ hostinfo_id: number; port: number }>(
      `SELECT hostinfo_id, port FROM rds_port_reservation WHERE hostinfo_id IN (${hosts.map(() => '?').join(',')})`,
      hosts.map((h) => h.id),
    );
    for (const r of [...rows, ...held]) {
      if (!used.has(r.hostinfo_id)) used.set(r.hostinfo_id, new Set());
      used.get(r.hostinfo_id)!.add(r.port);
    }
  }
  const alloc = choosePair(hosts, need, used);
  if (!alloc) {
    const room = hosts.filter((h) => fits(h, need)).length;
    throw new UnavailableError(
      `zone ${spec.zone}: no two online unlocked hosts with room for ${spec.cls.class_code} (${need.cpu} cpu, ${need.memMb} MB) and ${need.diskGb} GB and a port free on both (${room} of ${hosts.length} hosts have room)`,
      { hint: 'try another --zone or a smaller --class' },
    );
  }

  const insName = spec.name ?? generateInsName();
  const taken = await tx.query('SELECT id FROM custins WHERE ins_name = ?', [insName]);
  if (taken.length) throw new ConflictError(`instance name ${insName} is already taken`);
  const c = await tx.execute(
    `INSERT INTO custins (ins_name, engine, version, minor_version, class_code, storage_gb, storage_type, zone, network_type, vpc_id, is_guard, status)
     VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, 'creating')`,
    [insName, spec.engine, spec.version, spec.cls.class_code, spec.storageGb, spec.storageType, spec.zone, spec.network, spec.vpcId, spec.guard ? 1 : 0],
  );
  const ids: number[] = [];
  for (const [role, h] of [['master', alloc.master], ['slave', alloc.slave]] as const) {
    const r = await tx.execute(
      `INSERT INTO instance (custins_id, role, hostinfo_id, host_name, ip, port, cpu, mem_mb, disk_gb, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'creating')`,
      [c.insertId, role, h.id, h.hostname, h.ip, alloc.port, need.cpu, need.memMb, need.diskGb],
    );
    ids.push(r.insertId);
    await tx.execute('UPDATE hostinfo SET cpu_allocated = cpu_allocated + ?, mem_allocated_mb = mem_allocated_mb + ?, disk_allocated_gb = disk_allocated_gb + ? WHERE id = ?', [need.cpu, need.memMb, need.diskGb, h.id]);
  }
  return { custinsId: c.insertId, insName, masterInstanceId: ids[0]!, slaveInstanceId: ids[1]!, alloc };
}

/** Give back what allocate() took: capacity on each host of a live instance row. */
export async function releaseCapacity(tx: Db, custinsId: number): Promise<number> {
  const rows = await tx.query<{ id: number; hostinfo_id: number; cpu: number; mem_mb: number; disk_gb: number }>(
    "SELECT id, hostinfo_id, cpu, mem_mb, disk_gb FROM instance WHERE custins_id = ? AND status <> 'deleted' ORDER BY hostinfo_id FOR UPDATE",
    [custinsId],
  );
  for (const r of rows) {
    await tx.execute(
      `UPDATE hostinfo SET cpu_allocated = GREATEST(CAST(cpu_allocated AS SIGNED) - ?, 0), mem_allocated_mb = GREATEST(CAST(mem_allocated_mb AS SIGNED) - ?, 0),
              disk_allocated_gb = GREATEST(CAST(disk_allocated_gb AS SIGNED) - ?, 0) WHERE id = ?`,
      [r.cpu, r.mem_mb, r.disk_gb, r.hostinfo_id],
    );
    await tx.execute("UPDATE instance SET status = 'deleted' WHERE id = ?", [r.id]);
  }
  return rows.length;
}
