// The two deployment rules the seeds state for Tianji, evaluated over rows already fetched
// (set-based: a handful of queries per cluster, never one per SR instance):
//   service_roles: if a cluster runs a service, every server role of that service is deployed on
//                  at least one of the cluster's machines;
//   role_apps:     if a machine runs a server role, every application of that role is on that
//                  machine;
//   app_error:     no application instance is in state error (Tianji's own "not good": present
//                  but failing is as broken as missing).
// Pure, so each rule is unit-tested without a database.

export interface ClusterServiceRole {
  cluster_id: number;
  cluster: string;
  service_id: number;
  service: string;
  /** null when the service has no roles at all (nothing to require). */
  role_id: number | null;
  role: string | null;
}

export interface SrInstanceRow {
  sr_id: number;
  machine_id: number;
  hostname: string;
  ip: string;
  machine_status: string;
  cluster_id: number;
  cluster: string;
  role_id: number;
  role: string;
  service_id: number;
  service: string;
  status: string;
  version: string;
}

export interface ApplicationRow {
  app_id: number;
  role_id: number;
  name: string;
  kind: string;
}

export interface AppInstanceRow {
  sr_id: number;
  app_id: number;
  status: string;
}

export interface Violation {
  rule: 'service_roles' | 'role_apps' | 'app_error';
  cluster: string;
  service: string;
  server_role: string;
  /** role_apps only: the machine missing an application. */
  machine: string | null;
  application: string | null;
  message: string;
}

export interface SrAppView {
  name: string;
  kind: string;
  status: string;
}

/** An SR instance as `serverrole status` and `machine` print it. */
export interface SrInstanceView {
  machine: string;
  ip: string;
  machine_status: string;
  cluster: string;
  service: string;
  server_role: string;
  status: string;
  version: string;
  apps: SrAppView[];
  /** Applications of the role that are not on the machine (rule role_apps). */
  missing_apps: string[];
}

export interface Deployment {
  clusterRoles: ClusterServiceRole[];
  srInstances: SrInstanceRow[];
  applications: ApplicationRow[];
  appInstances: AppInstanceRow[];
}

export function evaluate(d: Deployment): { srInstances: SrInstanceView[]; violations: Violation[] } {
  const violations: Violation[] = [];

  // service_roles: roles present per cluster, from the SR instances on its machines.
  const deployed = new Set(d.srInstances.map((s) => `${s.cluster_id}:${s.role_id}`));
  for (const cr of d.clusterRoles) {
    if (cr.role_id === null || deployed.has(`${cr.cluster_id}:${cr.role_id}`)) continue;
    violations.push({
      rule: 'service_roles',
      cluster: cr.cluster,
      service: cr.service,
      server_role: cr.role!,
      machine: null,
      application: null,
      message: `cluster ${cr.cluster} runs service ${cr.service} but server role ${cr.role} is on none of its machines`,
    });
  }

  // role_apps: every application of the role has an instance under this SR instance.
  const appsByRole = groupBy(d.applications, (a) => a.role_id);
  const appById = new Map(d.applications.map((a) => [a.app_id, a]));
  const instancesBySr = groupBy(d.appInstances, (ai) => ai.sr_id);

  const srInstances = d.srInstances.map((s): SrInstanceView => {
    const present = instancesBySr.get(s.sr_id) ?? [];
    const presentIds = new Set(present.map((p) => p.app_id));
    const missing = (appsByRole.get(s.role_id) ?? []).filter((a) => !presentIds.has(a.app_id));
    for (const a of missing) {
      violations.push({
        rule: 'role_apps',
        cluster: s.cluster,
        service: s.service,
        server_role: s.role,
        machine: s.hostname,
        application: a.name,
        message: `machine ${s.hostname} runs server role ${s.service}.${s.role} but not its application ${a.name}`,
      });
    }
    for (const p of present) {
      if (p.status !== 'error') continue;
      const name = appById.get(p.app_id)?.name ?? `#${p.app_id}`;
      violations.push({
        rule: 'app_error',
        cluster: s.cluster,
        service: s.service,
        server_role: s.role,
        machine: s.hostname,
        application: name,
        message: `application ${name} of server role ${s.service}.${s.role} on machine ${s.hostname} is in state error`,
      });
    }
    return {
      machine: s.hostname,
      ip: s.ip,
      machine_status: s.machine_status,
      cluster: s.cluster,
      service: s.service,
      server_role: s.role,
      status: s.status,
      version: s.version,
      apps: present
        .map((p) => ({ name: appById.get(p.app_id)?.name ?? `#${p.app_id}`, kind: appById.get(p.app_id)?.kind ?? '-', status: p.status }))
        .sort((x, y) => x.name.localeCompare(y.name)),
      missing_apps: missing.map((a) => a.name).sort(),
    };
  });
  return { srInstances, violations };
}

function groupBy<T, K>(rows: readonly T[], key: (r: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}
