import { ConflictError, ExitCode, NotFoundError, RdsctlError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import type { DataRoute, RouteTarget } from './route.js';
import type { InstanceTable } from '../rds/instance-tables.js';

// The data route's metadb side (dbaas.rds_data_route, dbaas.rds_proxy_node): which proxy host
// and port carry an instance's route and where it leads. Values are checked where they are
// loaded: a bad address or host name in the metadb must not reach a config file or a shell.

export interface RouteRow {
  custins_id: number;
  conn_string: string;
  proxy_host: string | null;
  proxy_ip: string | null;
  proxy_port: number | null;
  target_ip: string;
  target_port: number;
  status: 'creating' | 'valid' | 'deleted';
  gmt_validated: string | null;
  gmt_repointed: string | null;
  ssh_port: number | null;
}

export interface LoadedRoute {
  route: DataRoute;
  /** Where the metadb says the route leads. */
  target: RouteTarget;
  row: RouteRow;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOST = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function checkIp(what: string, ip: string | null): string {
  if (!ip || !IPV4.test(ip)) throw new RdsctlError(`${what}: "${ip}" in the metadb is not an IPv4 address`, ExitCode.GENERAL);
  return ip;
}

function checkPort(what: string, port: number | null): number {
  if (port === null || !Number.isInteger(port) || port < 1 || port > 65535) throw new RdsctlError(`${what}: port ${port} in the metadb is not 1-65535`, ExitCode.GENERAL);
  return port;
}

export const connString = (insName: string): string => `${insName}.mysql.rds.aliyuncs.com`;

const ROUTE_SELECT = `SELECT r.custins_id, r.conn_string, r.proxy_host, r.proxy_ip, r.proxy_port, r.target_ip, r.target_port, r.status,
  DATE_FORMAT(r.gmt_validated, '%Y-%m-%dT%H:%i:%sZ') AS gmt_validated, DATE_FORMAT(r.gmt_repointed, '%Y-%m-%dT%H:%i:%s.%fZ') AS gmt_repointed, p.ssh_port
  FROM rds_data_route r LEFT JOIN rds_proxy_node p ON p.hostname = r.proxy_host WHERE r.custins_id = ?`;

export async function routeRow(db: Db, custinsId: number): Promise<RouteRow | null> {
  return (await db.query<RouteRow>(ROUTE_SELECT, [custinsId]))[0] ?? null;
}

export function toRoute(insName: string, row: RouteRow): LoadedRoute {
  if (!row.proxy_host || !HOST.test(row.proxy_host)) throw new ConflictError(`data route of ${insName} has no proxy host in rds_data_route (created before the proxy layer); run do_create_rds_data_route again`);
  const ip = checkIp(`proxy of ${insName}`, row.proxy_ip);
  return {
    route: {
      custinsId: row.custins_id,
      insName,
      proxy: { name: row.proxy_host, address: ip, port: checkPort(`ssh of proxy ${row.proxy_host}`, row.ssh_port) },
      ip,
      port: checkPort(`route of ${insName}`, row.proxy_port),
    },
    target: { ip: checkIp(`route target of ${insName}`, row.target_ip), port: checkPort(`route target of ${insName}`, row.target_port) },
    row,
  };
}

export async function loadRoute(db: Db, custinsId: number, insName: string): Promise<LoadedRoute> {
  const row = await routeRow(db, custinsId);
  if (!row || row.status === 'deleted') throw new NotFoundError(`instance ${insName} has no data route (rds_data_route)`);
  return toRoute(insName, row);
}

/**
 * The instance's route, allocated on first call: the online proxy host with the fewest routes,
 * and on it the instance's own port when free there, else the lowest free port of the proxy's
 * range. Run inside a transaction: the proxy rows are locked so two creates cannot take one port.
 */
export async function allocateRoute(tx: Db, o: { custinsId: number; insName: string; preferPort: number; target: RouteTarget }): Promise<LoadedRoute> {
  const have = await routeRow(tx, o.custinsId);
  if (have?.proxy_host && have.status !== 'deleted') return toRoute(o.insName, have);
  const proxies = await tx.query<{ hostname: string; ip: string; port_min: number; port_max: number; routes: number }>(
    `SELECT p.hostname, p.ip, p.port_min, p.port_max, (SELECT COUNT(*) FROM rds_data_route r WHERE r.proxy_host = p.hostname AND r.status <> 'deleted') AS routes
       FROM rds_proxy_node p WHERE p.status = 'online' ORDER BY routes, p.hostname FOR UPDATE`,
  );
  const p = proxies[0];
  if (!p) throw new ConflictError(`no online proxy host in dbaas.rds_proxy_node to carry the data route of ${o.insName}`);
  const used = new Set((await tx.query<{ proxy_port: number }>("SELECT proxy_port FROM rds_data_route WHERE proxy_ip = ? AND status <> 'deleted' AND proxy_port IS NOT NULL", [p.ip])).map((r) => r.proxy_port));
  let port = o.preferPort;
  if (used.has(port) || port < p.port_min || port > p.port_max) {
    port = p.port_min;
    while (used.has(port) && port <= p.port_max) port++;
    if (port > p.port_max) throw new ConflictError(`proxy ${p.hostname} has no free route port in ${p.port_min}-${p.port_max}`);
  }
  await tx.execute(
    `INSERT INTO rds_data_route (custins_id, conn_string, proxy_host, proxy_ip, proxy_port, target_ip, target_port, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'creating')
     ON DUPLICATE KEY UPDATE conn_string = VALUES(conn_string), proxy_host = VALUES(proxy_host), proxy_ip = VALUES(proxy_ip), proxy_port = VALUES(proxy_port),
       target_ip = VALUES(target_ip), target_port = VALUES(target_port), status = 'creating', gmt_validated = NULL`,
    [o.custinsId, connString(o.insName), p.hostname, p.ip, port, o.target.ip, o.target.port],
  );
  return toRoute(o.insName, (await routeRow(tx, o.custinsId))!);
}

/** The metadb follows the proxy: called after the driver re-pointed the route. */
export async function recordRouteTarget(tx: Db, custinsId: number, target: RouteTarget): Promise<void> {
  await tx.execute('UPDATE rds_data_route SET target_ip = ?, target_port = ?, gmt_repointed = NOW(3) WHERE custins_id = ?', [target.ip, target.port, custinsId]);
}

export async function markRouteValid(tx: Db, custinsId: number): Promise<void> {
  await tx.execute("UPDATE rds_data_route SET status = 'valid', gmt_validated = NOW() WHERE custins_id = ?", [custinsId]);
}

/** The proxy slot of a deleted route is free again (the unique key must not hold it). */
export const FREE_ROUTE_SQL = "UPDATE rds_data_route SET status = 'deleted', proxy_ip = NULL, proxy_port = NULL WHERE custins_id = ?";

/** `instance delete` frees the route (and its proxy port) with the rest of the instance's rows. */
export const ROUTE_TABLE: InstanceTable = { table: 'rds_data_route', release: FREE_ROUTE_SQL };
