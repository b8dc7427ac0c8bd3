import { ConflictError, UsageError } from '../core/errors.js';
import { loadInstallCtx, withSu, type InstallCtx } from '../flow/install/context.js';
import type { FlowEnv, StepRole } from '../flow/types.js';
import { REPLICATOR, SUPERUSER, secretOf } from '../rds/accounts.js';
import type { Node } from '../rds/layout.js';
import type { InstanceSession } from '../remote/mysql-instance.js';
import { openInstance } from '../remote/mysql-instance.js';
import { routeDriver } from './driver.js';
import type { RouteDriver } from './route.js';
import { loadRoute, type LoadedRoute } from './route-store.js';
import { instanceTrust } from '../rds/instance-tls.js';

// What the HA flow steps (switchover, failover) see: the install context's doors (remote, su,
// tx under the lease) plus the pair named by the task's parameters: the server that was master
// when the task was written ("from") and the one that becomes master ("to"). They are fixed by
// instance id, not by the metadb role, because the roles swap during the flow and a resumed
// flow must act on the same servers. Step roles (task_step.role): 'master' = from, 'slave' = to.

export interface HaParams {
  from_instance_id: number;
  to_instance_id: number;
  accept_data_loss?: boolean;
  /** failover: why (watcher verdict or the operator's reason) */
  cause?: string;
  requested_by?: string;
  quiet_sec?: number;
}

export interface HaCtx {
  base: InstallCtx;
  params: HaParams;
  from: Node;
  to: Node;
  route: LoadedRoute;
  driver: RouteDriver;
  session<T>(n: Node, fn: (su: InstanceSession) => Promise<T>): Promise<T>;
  /** session with its own connect timeout (a server that may be gone). */
  sessionWithin<T>(n: Node, connectMs: number, fn: (su: InstanceSession) => Promise<T>): Promise<T>;
  replicatorPassword(): Promise<string>;
  /** Set by the failover's fence in this run when neither the old master nor its NC answered. */
  fromUnreachable?: boolean;
}

export function parseHaParams(p: Record<string, unknown>): HaParams {
  const id = (k: string): number => {
    const v = Number(p[k]);
    if (!Number.isInteger(v) || v <= 0) throw new UsageError(`task parameter ${k} must be an instance id`);
    return v;
  };
  return {
    from_instance_id: id('from_instance_id'),
    to_instance_id: id('to_instance_id'),
    ...(p.accept_data_loss === true ? { accept_data_loss: true } : {}),
    ...(typeof p.cause === 'string' ? { cause: p.cause } : {}),
    ...(typeof p.requested_by === 'string' ? { requested_by: p.requested_by } : {}),
    ...(typeof p.quiet_sec === 'number' ? { quiet_sec: p.quiet_sec } : {}),
  };
}

export async function loadHaCtx(env: FlowEnv): Promise<HaCtx> {
  const base = await loadInstallCtx(env);
  const params = parseHaParams(env.task.params);
  const pick = (id: number): Node => {
    const n = [base.master, base.slave].find((x) => x.instanceId === id);
    if (!n) throw new ConflictError(`instance ${base.custins.ins_name} has no live instance row ${id} (task ${env.task.id})`);
    return n;
  };
  const route = await loadRoute(base.db, base.custins.id, base.custins.ins_name);
  return {
    base,
    params,
    from: pick(params.from_instance_id),
    to: pick(params.to_instance_id),
    route,
    driver: routeDriver(base.ssh),
    session: (n, fn) => withSu(base, n, fn),
    async sessionWithin(n, connectMs, fn) {
      base.lease.assertHeld();
      const su = await openInstance({ name: n.host, host: n.ip, port: n.port, user: SUPERUSER, password: await secretOf(base.db, base.custins.id, SUPERUSER), tls: await instanceTrust(base.db, base.custins.id, base.custins.ins_name), connectTimeoutMs: connectMs, queryTimeoutMs: 2 * connectMs });
      try {
        return await fn(su);
      } finally {
        await su.close();
      }
    },
    replicatorPassword: () => secretOf(base.db, base.custins.id, REPLICATOR),
  };
}

export function haNodesOf(c: HaCtx, role: StepRole): Node[] {
  return role === 'master' ? [c.from] : role === 'slave' ? [c.to] : role === 'both' ? [c.from, c.to] : [];
}
