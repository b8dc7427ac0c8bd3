import type { HostTarget } from '../remote/ssh-types.js';

// The data route of an instance: the address clients connect to (custins.conn_ip:conn_port), a
// TCP frontend on a host of the proxy layer that forwards to exactly one server, the current
// master. The HA flows see the proxy layer only through RouteDriver: in the lab and here it is
// HAProxy driven over SSH (haproxy.ts); a production proxy layer (maxscale, an SLB API) is
// another implementation of the same five calls.

export interface RouteTarget {
  ip: string;
  port: number;
}

export interface DataRoute {
  custinsId: number;
  insName: string;
  /** The proxy host that carries the route, and how to reach it. */
  proxy: HostTarget;
  /** The address and port clients connect to. */
  ip: string;
  port: number;
}

export interface RouteState {
  /** The route exists on the proxy (its config and its running frontend). */
  exists: boolean;
  /** Where the running proxy forwards new connections, or null when the route is missing. */
  target: RouteTarget | null;
  /** false: the route takes no new connections (moved away from a fenced master). */
  enabled: boolean;
  /** The persistent config agrees with the running proxy (a reload would keep this state). */
  persisted: boolean;
}

export interface RouteDriver {
  /** Create the route to `target`, or make an existing one lead there (idempotent). */
  ensure(route: DataRoute, target: RouteTarget, signal?: AbortSignal): Promise<void>;
  /**
   * Re-point a live route to `target` and enable it; sessions still open to any other server are
   * closed. Connections of other routes on the same proxy are not touched.
   */
  point(route: DataRoute, target: RouteTarget, signal?: AbortSignal): Promise<void>;
  /** Take no new connections and close the open ones: the route leads nowhere until point(). */
  block(route: DataRoute, signal?: AbortSignal): Promise<void>;
  inspect(route: DataRoute, signal?: AbortSignal): Promise<RouteState>;
  remove(route: DataRoute, signal?: AbortSignal): Promise<void>;
  /** What ensure/point/block would run, for --dry-run. */
  describe(route: DataRoute, action: 'ensure' | 'point' | 'block' | 'remove', target?: RouteTarget): string[];
}

export function sameTarget(a: RouteTarget | null, b: RouteTarget | null): boolean {
  return a !== null && b !== null && a.ip === b.ip && a.port === b.port;
}

export function showTarget(t: RouteTarget | null): string {
  return t ? `${t.ip}:${t.port}` : '-';
}
