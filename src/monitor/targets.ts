import type { Profile } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import { hostLayout, type HostLayout } from '../rds/layout.js';
import type { HostTarget } from '../remote/ssh-types.js';

// The physical instances the monitor samples: those the install flow registered in instance_perf
// (do_insert_instance_perf_table), of a running custins, not deleted. Addresses and ports come
// from the metadb, so they are checked where they are loaded.

export const SHARDS = 32;

export interface MonitorTarget {
  instanceId: number;
  custinsId: number;
  insName: string;
  role: 'master' | 'slave';
  /** NC hostname */
  host: string;
  ip: string;
  port: number;
  ssh: HostTarget;
  layout: HostLayout;
}

interface Row {
  instance_id: number;
  custins_id: number;
  ins_name: string;
  role: 'master' | 'slave';
  host_name: string;
  ip: string;
  port: number;
  ssh_port: number;
}

const IP = /^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-fA-F:]+$/;
const HOST = /^[A-Za-z0-9_.-]{1,128}$/;

export function toTarget(profile: Pick<Profile, 'host_root'>, r: Row): MonitorTarget {
  if (!IP.test(r.ip)) throw new UsageError(`dbaas instance ${r.instance_id}: bad ip ${JSON.stringify(r.ip)}`);
  if (!HOST.test(r.host_name)) throw new UsageError(`dbaas instance ${r.instance_id}: bad host name ${JSON.stringify(r.host_name)}`);
  if (!(r.port >= 1 && r.port <= 65535)) throw new UsageError(`dbaas instance ${r.instance_id}: bad port ${r.port}`);
  return {
    instanceId: Number(r.instance_id),
    custinsId: Number(r.custins_id),
    insName: r.ins_name,
    role: r.role,
    host: r.host_name,
    ip: r.ip,
    port: Number(r.port),
    ssh: { name: r.host_name, address: r.ip, port: Number(r.ssh_port) },
    layout: hostLayout(profile, r.host_name, Number(r.port)),
  };
}

const SELECT = `SELECT i.id AS instance_id, c.id AS custins_id, c.ins_name, i.role, i.host_name, i.ip, i.port, h.ssh_port
   FROM instance_perf p
   JOIN instance i ON i.id = p.instance_id
   JOIN custins c ON c.id = i.custins_id
   JOIN hostinfo h ON h.id = i.hostinfo_id
  WHERE p.status = 'active' AND c.status = 'running' AND i.status <> 'deleted'`;

export interface TargetFilter {
  /** Only instances in these shards (instance_id % SHARDS); undefined = all. */
  shards?: number[];
  /** Only these custins names. */
  names?: string[];
  nc?: string;
  zone?: string;
}

/** Targets and, separately, rows that failed validation (reported, never sampled). */
export async function loadTargets(db: Db, profile: Pick<Profile, 'host_root'>, f: TargetFilter = {}): Promise<{ targets: MonitorTarget[]; invalid: string[] }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.shards) {
    if (f.shards.length === 0) return { targets: [], invalid: [] };
    where.push(`MOD(i.id, ${SHARDS}) IN (?)`);
    params.push(f.shards);
  }
  if (f.names?.length) {
    where.push('c.ins_name IN (?)');
    params.push(f.names);
  }
  if (f.nc) {
    where.push('i.host_name = ?');
    params.push(f.nc);
  }
  if (f.zone) {
    where.push('c.zone = ?');
    params.push(f.zone);
  }
  const rows = await db.query<Row>(`${SELECT}${where.map((w) => ` AND ${w}`).join('')} ORDER BY c.ins_name, FIELD(i.role, 'master', 'slave')`, params);
  const targets: MonitorTarget[] = [];
  const invalid: string[] = [];
  for (const r of rows) {
    try {
      targets.push(toTarget(profile, r));
    } catch (e) {
      invalid.push((e as Error).message);
    }
  }
  return { targets, invalid };
}

/** The physical instance a view is about: the master, or the standby with --standby. */
export async function targetOf(db: Db, profile: Pick<Profile, 'host_root'>, custinsId: number, role: 'master' | 'slave'): Promise<MonitorTarget | null> {
  const rows = await db.query<Row>(
    `SELECT i.id AS instance_id, c.id AS custins_id, c.ins_name, i.role, i.host_name, i.ip, i.port, h.ssh_port
       FROM instance i JOIN custins c ON c.id = i.custins_id JOIN hostinfo h ON h.id = i.hostinfo_id
      WHERE c.id = ? AND i.role = ? AND i.status <> 'deleted'`,
    [custinsId, role],
  );
  return rows[0] ? toTarget(profile, rows[0]) : null;
}
