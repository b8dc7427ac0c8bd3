import type { Presence } from '../core/presence.js';
import type { Db } from '../remote/mysql.js';
import { NotFoundError } from '../core/errors.js';
import { nearByPrefix, PROBE_LIMIT, rankNear } from '../core/near.js';
import { evaluate, type ApplicationRow, type AppInstanceRow, type ClusterServiceRole, type SrInstanceRow, type SrInstanceView, type Violation } from './rules.js';

// Reads of the Tianji model: product → cluster → service → server role → SR instance →
// application. Lists are one aggregate query each; a deployment view is four queries whatever
// the number of machines.

export interface ProductRow {
  name: string;
  clusters: number;
  machines: number;
  services: number;
}

export interface ClusterRow {
  name: string;
  product: string;
  machines: number;
  services: number;
  sr_instances: number;
}

export interface ServiceRow {
  name: string;
  version: string;
  server_roles: string[];
  sr_instances: number;
}

interface Named {
  id: number;
  name: string;
}

/** Exact name, or NotFound with near names (Tianji tables have hundreds of rows, not millions). */
async function byName(db: Db, table: 'product' | 'tj_cluster' | 'service', what: string, name: string): Promise<Named> {
  const sql = { product: 'SELECT id, name FROM product', tj_cluster: 'SELECT id, name FROM tj_cluster', service: 'SELECT id, name FROM service' }[table];
  const [row] = await db.query<Named>(`${sql} WHERE name = ?`, [name]);
  if (row) return row;
  const all = await db.query<Named>(sql);
  throw new NotFoundError(`Tianji ${what} ${name} not found`, rankNear(name, all.map((r) => r.name)));
}

export async function listProducts(db: Db): Promise<ProductRow[]> {
  return db.query<ProductRow>(
    `SELECT p.name,
            COUNT(DISTINCT c.id) AS clusters,
            COUNT(DISTINCT m.id) AS machines,
            COUNT(DISTINCT cs.service_id) AS services
       FROM product p
       LEFT JOIN tj_cluster c ON c.product_id = p.id
       LEFT JOIN machine m ON m.cluster_id = c.id
       LEFT JOIN cluster_service cs ON cs.cluster_id = c.id
      GROUP BY p.id, p.name
      ORDER BY p.name`,
  );
}

export async function listClusters(db: Db, product?: string): Promise<ClusterRow[]> {
  const p = product === undefined ? null : (await byName(db, 'product', 'product', product)).id;
  return db.query<ClusterRow>(
    `SELECT c.name, p.name AS product,
            (SELECT COUNT(*) FROM machine m WHERE m.cluster_id = c.id) AS machines,
            (SELECT COUNT(*) FROM cluster_service cs WHERE cs.cluster_id = c.id) AS services,
            (SELECT COUNT(*) FROM sr_instance si JOIN machine m ON m.id = si.machine_id WHERE m.cluster_id = c.id) AS sr_instances
       FROM tj_cluster c JOIN product p ON p.id = c.product_id
      WHERE (? IS NULL OR c.product_id = ?)
      ORDER BY p.name, c.name`,
    [p, p],
  );
}

export async function listServices(db: Db, cluster: string): Promise<ServiceRow[]> {
  const c = await byName(db, 'tj_cluster', 'cluster', cluster);
  const rows = await db.query<{ name: string; version: string; roles: string | null; sr_instances: number }>(
    `SELECT s.name, cs.version,
            (SELECT GROUP_CONCAT(r.name ORDER BY r.name SEPARATOR '\\n') FROM server_role r WHERE r.service_id = s.id) AS roles,
            (SELECT COUNT(*) FROM sr_instance si JOIN machine m ON m.id = si.machine_id JOIN server_role r ON r.id = si.server_role_id
              WHERE m.cluster_id = cs.cluster_id AND r.service_id = s.id) AS sr_instances
       FROM cluster_service cs JOIN service s ON s.id = cs.service_id
      WHERE cs.cluster_id = ?
      ORDER BY s.name`,
    [c.id],
  );
  return rows.map((r) => ({ name: r.name, version: r.version, server_roles: r.roles ? r.roles.split('\n') : [], sr_instances: r.sr_instances }));
}

/** Which part of the fleet a deployment view covers. */
export interface Scope {
  clusterId?: number;
  machineId?: number;
  serviceId?: number;
}

async function loadDeployment(db: Db, s: Scope, withClusterRules: boolean) {
  const c = s.clusterId ?? null;
  const m = s.machineId ?? null;
  const sv = s.serviceId ?? null;
  const srScope = '(? IS NULL OR m.cluster_id = ?) AND (? IS NULL OR m.id = ?)';
  const srParams = [c, c, m, m];
  const [clusterRoles, srInstances, applications, appInstances] = await Promise.all([
    withClusterRules
      ? db.query<ClusterServiceRole>(
          `SELECT c.id AS cluster_id, c.name AS cluster, s.id AS service_id, s.name AS service, r.id AS role_id, r.name AS role
             FROM cluster_service cs
             JOIN tj_cluster c ON c.id = cs.cluster_id
             JOIN service s ON s.id = cs.service_id
             LEFT JOIN server_role r ON r.service_id = s.id
            WHERE (? IS NULL OR cs.cluster_id = ?) AND (? IS NULL OR s.id = ?)
            ORDER BY c.name, s.name, r.name`,
          [c, c, sv, sv],
        )
      : Promise.resolve([] as ClusterServiceRole[]),
    db.query<SrInstanceRow>(
      `SELECT si.id AS sr_id, m.id AS machine_id, m.hostname, m.ip, m.status AS machine_status,
              c.id AS cluster_id, c.name AS cluster, r.id AS role_id, r.name AS role,
              s.id AS service_id, s.name AS service, si.status, si.version
         FROM sr_instance si
         JOIN machine m ON m.id = si.machine_id
         JOIN tj_cluster c ON c.id = m.cluster_id
         JOIN server_role r ON r.id = si.server_role_id
         JOIN service s ON s.id = r.service_id
        WHERE ${srScope} AND (? IS NULL OR s.id = ?)
        ORDER BY c.name, m.hostname, s.name, r.name`,
      [...srParams, sv, sv],
    ),
    db.query<ApplicationRow>(
      `SELECT a.id AS app_id, a.server_role_id AS role_id, a.name, a.kind
         FROM application a
        WHERE a.server_role_id IN (SELECT si.server_role_id FROM sr_instance si JOIN machine m ON m.id = si.machine_id WHERE ${srScope})`,
      srParams,
    ),
    db.query<AppInstanceRow>(
      `SELECT ai.sr_instance_id AS sr_id, ai.application_id AS app_id, ai.status
         FROM app_instance ai
         JOIN sr_instance si ON si.id = ai.sr_instance_id
         JOIN machine m ON m.id = si.machine_id
        WHERE ${srScope}`,
      srParams,
    ),
  ]);
  return evaluate({ clusterRoles, srInstances, applications, appInstances });
}

export interface ServerRoleStatus {
  cluster: string;
  product: string;
  service: string | null;
  sr_instances: SrInstanceView[];
  violations: Violation[];
}

export async function serverRoleStatus(db: Db, cluster: string, service?: string): Promise<ServerRoleStatus> {
  const c = await byName(db, 'tj_cluster', 'cluster', cluster);
  const s = service === undefined ? undefined : await byName(db, 'service', 'service', service);
  const [p] = await db.query<{ product: string }>('SELECT p.name AS product FROM tj_cluster c JOIN product p ON p.id = c.product_id WHERE c.id = ?', [c.id]);
  const r = await loadDeployment(db, { clusterId: c.id, ...(s ? { serviceId: s.id } : {}) }, true);
  return { cluster: c.name, product: p?.product ?? '-', service: s?.name ?? null, sr_instances: r.srInstances, violations: r.violations };
}

/** Every cluster at once: what `rdsctl check tianji` evaluates. */
export async function allViolations(db: Db): Promise<{ sr_instances: number; violations: Violation[] }> {
  const r = await loadDeployment(db, {}, true);
  return { sr_instances: r.srInstances.length, violations: r.violations };
}

export interface MachineView {
  machine: { hostname: string; ip: string; status: string; cluster: string; product: string };
  sr_instances: SrInstanceView[];
  violations: Violation[];
}

/** Everything deployed on one machine, named by hostname or IP. */
export async function machineView(db: Db, host: string): Promise<MachineView> {
  const [m] = await db.query<{ id: number; hostname: string; ip: string; status: string; cluster: string; product: string }>(
    `SELECT m.id, m.hostname, m.ip, m.status, c.name AS cluster, p.name AS product
       FROM machine m JOIN tj_cluster c ON c.id = m.cluster_id JOIN product p ON p.id = c.product_id
      WHERE m.hostname = ? OR m.ip = ?`,
    [host, host],
  );
  if (!m) {
    const near = await nearByPrefix(host, async (like) =>
      (await db.query<{ hostname: string }>('SELECT hostname FROM machine WHERE hostname LIKE ? ORDER BY hostname LIMIT 20', [like])).map((r) => r.hostname),
    );
    throw new NotFoundError(`Tianji machine ${host} not found`, near);
  }
  const r = await loadDeployment(db, { machineId: m.id }, false);
  return { machine: { hostname: m.hostname, ip: m.ip, status: m.status, cluster: m.cluster, product: m.product }, sr_instances: r.srInstances, violations: r.violations };
}

export interface MachineMatch {
  id: number;
  hostname: string;
  ip: string;
  status: string;
  cluster: string;
  product: string;
  server_roles: Array<{ service: string; server_role: string; status: string }>;
}

/** Machines whose hostname (or IP) is exactly `value`, with their server roles (go2which). */
/** Whether machinesBy(key, value) can find a machine: the same table and key (core/presence.ts). */
export function machinePresence(key: 'hostname' | 'ip', value: string): Presence {
  return { from: `machine m WHERE m.${key === 'ip' ? 'ip' : 'hostname'} = ?`, params: [value] };
}

export async function machinesBy(db: Db, key: 'hostname' | 'ip', value: string): Promise<MachineMatch[]> {
  const rows = await db.query<Omit<MachineMatch, 'server_roles'>>(
    `SELECT m.id, m.hostname, m.ip, m.status, c.name AS cluster, p.name AS product
       FROM machine m JOIN tj_cluster c ON c.id = m.cluster_id JOIN product p ON p.id = c.product_id
      WHERE m.${key === 'ip' ? 'ip' : 'hostname'} = ?`,
    [value],
  );
  const out: MachineMatch[] = [];
  for (const m of rows) {
    const roles = await db.query<{ service: string; server_role: string; status: string }>(
      `SELECT s.name AS service, r.name AS server_role, si.status
         FROM sr_instance si JOIN server_role r ON r.id = si.server_role_id JOIN service s ON s.id = r.service_id
        WHERE si.machine_id = ? ORDER BY s.name, r.name`,
      [m.id],
    );
    out.push({ ...m, server_roles: roles });
  }
  return out;
}

/** Near machine hostnames, or IPs for an IP-shaped name. */
export function nearMachineNames(db: Db, name: string): Promise<string[]> {
  const column = /^\d/.test(name) ? 'ip' : 'hostname';
  return nearByPrefix(name, async (pattern) => (await db.query<{ v: string }>(`SELECT ${column} AS v FROM machine WHERE ${column} LIKE ? ORDER BY ${column} LIMIT ${PROBE_LIMIT}`, [pattern])).map((r) => r.v));
}
