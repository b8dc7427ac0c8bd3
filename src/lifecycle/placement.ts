import { ConflictError, UnavailableError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import { fits, type HostCandidate, type Need } from '../rds/allocate.js';

// Where a moving node goes, chosen as create chooses (rds/allocate.ts): an online, unlocked RDS
// NC with room for the node's cpu, memory and disk and a free port, the roomiest first, another
// cluster than the other node's preferred. Never the NC of the instance's other node (the pair
// would share a host) nor the node's own NC. The instance's zone first; another zone only when
// the zone has no such NC (a standby in a second zone is a real deployment; the lab has two RDS
// NCs per zone, both taken by any pair). The node keeps its port when it is free there.
// Runs in the caller's transaction with the hostinfo rows locked FOR UPDATE, like create.

export interface TargetChoice {
  host: HostCandidate & { zone: string; ssh_port: number };
  port: number;
}

export interface Placement {
  zone: string;
  need: Need;
  port: number;
  /** the NC the node is on now, and the NC of the other node */
  fromHostinfoId: number;
  peerHostinfoId: number;
  peerCluster: string | null;
  toNc: string | null;
  /** room the target must have (a resize's new class), when more than `need`, which is all that is taken now */
  room?: Need;
}

type Candidate = HostCandidate & { zone: string; ssh_port: number; status: string; locked: number };

const freeMem = (h: HostCandidate): number => h.mem_total_mb - h.mem_allocated_mb;
const room = (p: Placement): Need => p.room ?? p.need;

/** Pure: the target (or why none), given the locked candidates and the ports used on each. */
export function chooseTarget(hosts: Candidate[], p: Placement, used: Map<number, Set<number>>): TargetChoice | string {
  const portOn = (h: Candidate): number | null => {
    const u = used.get(h.id) ?? new Set<number>();
    if (p.port >= h.port_min && p.port <= h.port_max && !u.has(p.port)) return p.port;
    for (let x = h.port_min; x <= h.port_max; x++) if (!u.has(x)) return x;
    return null;
  };
  if (p.toNc !== null) {
    const h = hosts.find((x) => x.hostname === p.toNc);
    if (!h) return `--to-nc ${p.toNc} is not an RDS NC in dbaas.hostinfo`;
    if (h.id === p.fromHostinfoId) return `--to-nc ${p.toNc}: the node is already there`;
    if (h.id === p.peerHostinfoId) return `--to-nc ${p.toNc} holds the instance's other node: master and standby must be on different NCs`;
    if (h.status !== 'online') return `--to-nc ${p.toNc} is ${h.status}`;
    if (h.locked) return `--to-nc ${p.toNc} is locked`;
    if (!fits(h, room(p))) return `--to-nc ${p.toNc} has no room for ${room(p).cpu} cpu, ${room(p).memMb} MB, ${room(p).diskGb} GB (free ${h.cpu_total - h.cpu_allocated} cpu, ${freeMem(h)} MB, ${h.disk_total_gb - h.disk_allocated_gb} GB)`;
    const port = portOn(h);
    return port === null ? `--to-nc ${p.toNc} has no free port in ${h.port_min}-${h.port_max}` : { host: h, port };
  }
  const ok = hosts
    .filter((h) => h.status === 'online' && !h.locked && h.id !== p.fromHostinfoId && h.id !== p.peerHostinfoId && fits(h, room(p)) && portOn(h) !== null)
    .sort(
      (a, b) =>
        Number(b.zone === p.zone) - Number(a.zone === p.zone) ||
        Number(b.cluster !== p.peerCluster) - Number(a.cluster !== p.peerCluster) ||
        freeMem(b) - freeMem(a) ||
        a.hostname.localeCompare(b.hostname),
    );
  const h = ok[0];
  if (!h) return `no online unlocked RDS NC other than the instance's two has room for ${room(p).cpu} cpu, ${room(p).memMb} MB, ${room(p).diskGb} GB and a free port`;
  return { host: h, port: portOn(h)! };
}

/**
 * Choose and hold the target in the caller's transaction: the target NC's capacity is taken
 * and its port reserved for the task (rds_port_reservation), so nothing else is given either
 * while the node is being built there.
 */
export async function reserveTarget(tx: Db, p: Placement, custinsId: number, taskId: (choice: TargetChoice) => Promise<number>): Promise<{ choice: TargetChoice; taskId: number }> {
  const hosts = await tx.query<Candidate>(
    `SELECT id, hostname, ip, zone, cluster, ssh_port, status, locked, cpu_total, cpu_allocated, mem_total_mb, mem_allocated_mb, disk_total_gb, disk_allocated_gb, port_min, port_max
       FROM hostinfo ORDER BY id FOR UPDATE`,
  );
  const used = new Map<number, Set<number>>();
  const rows = await tx.query<{ hostinfo_id: number; port: number }>(
    "SELECT hostinfo_id, port FROM instance WHERE status <> 'deleted' UNION ALL SELECT hostinfo_id, port FROM rds_port_reservation",
  );
  for (const r of rows) {
    if (!used.has(r.hostinfo_id)) used.set(r.hostinfo_id, new Set());
    used.get(r.hostinfo_id)!.add(r.port);
  }
  const choice = chooseTarget(hosts, p, used);
  if (typeof choice === 'string') throw p.toNc !== null ? new ConflictError(choice) : new UnavailableError(choice, { hint: 'name one with --to-nc, or free room (rdsctl nc unlock, a smaller class)' });
  const id = await taskId(choice);
  await tx.execute('INSERT INTO rds_port_reservation (hostinfo_id, port, custins_id, task_id, why) VALUES (?, ?, ?, ?, ?)', [choice.host.id, choice.port, custinsId, id, 'migrate target']);
  await tx.execute('UPDATE hostinfo SET cpu_allocated = cpu_allocated + ?, mem_allocated_mb = mem_allocated_mb + ?, disk_allocated_gb = disk_allocated_gb + ? WHERE id = ?', [p.need.cpu, p.need.memMb, p.need.diskGb, choice.host.id]);
  return { choice, taskId: id };
}
