import type { Presence } from '../core/presence.js';
import type { Db } from '../remote/mysql.js';
import { nearByPrefix, PROBE_LIMIT, rankNear } from '../core/near.js';
import { NotFoundError } from '../core/errors.js';

// Read-only dbaas lookups for the jump-host commands (go2ncinfo, go2which): which RDS instances
// live on a host, and what an instance name or id is with its master and standby hosts.
// Each query is on an index: instance.host_name, custins.ins_name, custins.id.

export interface RdsInstanceOnHost {
  custins_id: number;
  ins_name: string;
  role: 'master' | 'slave';
  port: number;
  status: string;
  engine: string;
  version: string;
}

export async function instancesOnHost(db: Db, hostname: string): Promise<RdsInstanceOnHost[]> {
  return db.query<RdsInstanceOnHost>(
    `SELECT c.id AS custins_id, c.ins_name, i.role, i.port, i.status, c.engine, c.version
       FROM instance i JOIN custins c ON c.id = i.custins_id
      WHERE i.host_name = ? AND i.status <> 'deleted'
      ORDER BY c.ins_name, i.role`,
    [hostname],
  );
}

export interface CustinsHost {
  role: 'master' | 'slave';
  host_name: string;
  ip: string;
  port: number;
  status: string;
}

export interface Custins {
  id: number;
  ins_name: string;
  engine: string;
  version: string;
  class_code: string;
  status: string;
  zone: string;
  network_type: string;
  conn_ip: string | null;
  conn_port: number | null;
  /** Master first, then the standby. */
  hosts: CustinsHost[];
}

const CUSTINS_SELECT = 'SELECT id, ins_name, engine, version, class_code, status, zone, network_type, conn_ip, conn_port FROM custins';

/** Whether findCustins(name) can find an instance: the same table and keys (core/presence.ts). */
export function custinsPresence(name: string): Presence[] {
  return [{ from: 'custins WHERE ins_name = ?', params: [name] }, ...(/^\d{1,10}$/.test(name) ? [{ from: 'custins WHERE id = ?', params: [Number(name)] }] : [])];
}

/** An instance by ins_name, or by numeric id; both when a name is all digits and both exist. */
export async function findCustins(db: Db, name: string): Promise<Array<{ custins: Custins; matched_on: 'ins_name' | 'id' }>> {
  const out: Array<{ custins: Custins; matched_on: 'ins_name' | 'id' }> = [];
  const select = CUSTINS_SELECT;
  const byName = await db.query<Omit<Custins, 'hosts'>>(`${select} WHERE ins_name = ?`, [name]);
  for (const c of byName) out.push({ custins: { ...c, hosts: [] }, matched_on: 'ins_name' });
  if (/^\d{1,10}$/.test(name)) {
    const byId = await db.query<Omit<Custins, 'hosts'>>(`${select} WHERE id = ?`, [Number(name)]);
    for (const c of byId) if (!out.some((o) => o.custins.id === c.id)) out.push({ custins: { ...c, hosts: [] }, matched_on: 'id' });
  }
  for (const o of out) o.custins.hosts = await custinsHosts(db, o.custins.id);
  return out;
}

/** One instance by its id, with its hosts (what go2which shows for an endpoint or VIP). */
export async function custinsById(db: Db, id: number): Promise<Custins | undefined> {
  const [c] = await db.query<Omit<Custins, 'hosts'>>(`${CUSTINS_SELECT} WHERE id = ?`, [id]);
  return c ? { ...c, hosts: await custinsHosts(db, c.id) } : undefined;
}

async function custinsHosts(db: Db, custinsId: number): Promise<CustinsHost[]> {
  return db.query<CustinsHost>(`SELECT role, host_name, ip, port, status FROM instance WHERE custins_id = ? ORDER BY role = 'slave', role`, [custinsId]);
}

export async function nearCustinsNames(db: Db, name: string): Promise<string[]> {
  return nearByPrefix(name, async (pattern) => {
    const rows = await db.query<{ ins_name: string }>(`SELECT ins_name FROM custins WHERE ins_name LIKE ? ORDER BY ins_name LIMIT ${PROBE_LIMIT}`, [pattern]);
    return rows.map((r) => r.ins_name);
  });
}

/**
 * `instance list --nc/--zone` found nothing: say so when the value itself is unknown (exit 3 with
 * near names), as an unknown name does everywhere else, instead of an empty list that reads as
 * "no instances there". Runs only after an empty result, on indexed columns.
 */
export async function checkListFilters(db: Db, f: { nc?: string; zone?: string }): Promise<void> {
  if (f.nc !== undefined) {
    const known = await db.query('SELECT 1 FROM hostinfo WHERE hostname = ?', [f.nc]);
    if (known.length === 0) {
      const near = await nearByPrefix(f.nc, async (pattern) =>
        (await db.query<{ hostname: string }>(`SELECT hostname FROM hostinfo WHERE hostname LIKE ? ORDER BY hostname LIMIT ${PROBE_LIMIT}`, [pattern])).map((r) => r.hostname),
      );
      throw new NotFoundError(`--nc ${f.nc}: no RDS host of that name in dbaas.hostinfo`, near);
    }
  }
  if (f.zone !== undefined) {
    const zones = (await db.query<{ zone: string }>('SELECT DISTINCT zone FROM hostinfo ORDER BY zone')).map((r) => r.zone);
    if (!zones.includes(f.zone)) throw new NotFoundError(`--zone ${f.zone}: no such zone in dbaas.hostinfo`, rankNear(f.zone, zones));
  }
}
