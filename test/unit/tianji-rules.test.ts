import { evaluate, type Deployment } from '../../src/tianji/rules.js';

// A cluster c1 runs service s1 (roles r1 with apps a1+a2, r2 with app a3) and s2 (no roles).
function deployment(o: Partial<Deployment> = {}): Deployment {
  return {
    clusterRoles: [
      { cluster_id: 1, cluster: 'c1', service_id: 1, service: 's1', role_id: 1, role: 'r1' },
      { cluster_id: 1, cluster: 'c1', service_id: 1, service: 's1', role_id: 2, role: 'r2' },
      { cluster_id: 1, cluster: 'c1', service_id: 2, service: 's2', role_id: null, role: null },
    ],
    srInstances: [
      { sr_id: 10, machine_id: 100, hostname: 'm1', ip: '10.0.0.1', machine_status: 'good', cluster_id: 1, cluster: 'c1', role_id: 1, role: 'r1', service_id: 1, service: 's1', status: 'good', version: '1' },
      { sr_id: 11, machine_id: 101, hostname: 'm2', ip: '10.0.0.2', machine_status: 'good', cluster_id: 1, cluster: 'c1', role_id: 2, role: 'r2', service_id: 1, service: 's1', status: 'error', version: '1' },
    ],
    applications: [
      { app_id: 1, role_id: 1, name: 'a1', kind: 'process' },
      { app_id: 2, role_id: 1, name: 'a2', kind: 'docker' },
      { app_id: 3, role_id: 2, name: 'a3', kind: 'process' },
    ],
    appInstances: [
      { sr_id: 10, app_id: 1, status: 'running' },
      { sr_id: 10, app_id: 2, status: 'running' },
      { sr_id: 11, app_id: 3, status: 'stopped' },
    ],
    ...o,
  };
}

describe('Tianji deployment rules', () => {
  it('a complete deployment has no violation; a service without roles requires nothing', () => {
    const r = evaluate(deployment());
    expect(r.violations).toEqual([]);
    expect(r.srInstances.map((s) => [s.machine, s.server_role, s.apps.map((a) => a.name), s.missing_apps])).toEqual([
      ['m1', 'r1', ['a1', 'a2'], []],
      ['m2', 'r2', ['a3'], []],
    ]);
  });

  it('service_roles: a role of a service the cluster runs, on none of its machines', () => {
    const d = deployment();
    const r = evaluate({ ...d, srInstances: d.srInstances.slice(0, 1), appInstances: d.appInstances.slice(0, 2) });
    expect(r.violations).toEqual([
      { rule: 'service_roles', cluster: 'c1', service: 's1', server_role: 'r2', machine: null, application: null, message: 'cluster c1 runs service s1 but server role r2 is on none of its machines' },
    ]);
  });

  it('service_roles is per cluster: the role on another cluster\'s machine does not count', () => {
    const d = deployment();
    const moved = d.srInstances.map((s) => (s.sr_id === 11 ? { ...s, cluster_id: 2, cluster: 'c2' } : s));
    expect(evaluate({ ...d, srInstances: moved }).violations.map((v) => [v.rule, v.cluster, v.server_role])).toEqual([['service_roles', 'c1', 'r2']]);
  });

  it('role_apps: every missing application of a role on a machine, one violation each', () => {
    const d = deployment();
    const r = evaluate({ ...d, appInstances: d.appInstances.filter((a) => a.sr_id !== 10) });
    expect(r.violations.map((v) => [v.rule, v.machine, v.application])).toEqual([
      ['role_apps', 'm1', 'a1'],
      ['role_apps', 'm1', 'a2'],
    ]);
    expect(r.srInstances[0]!.missing_apps).toEqual(['a1', 'a2']);
    expect(r.violations[0]!.message).toBe('machine m1 runs server role s1.r1 but not its application a1');
  });

  it('an app in error is present for role_apps, and an app_error violation of its own; a stopped one is neither', () => {
    const base = deployment();
    const r = evaluate({ ...base, appInstances: base.appInstances.map((a) => (a.app_id === 3 ? { ...a, status: 'error' } : a)) });
    expect(r.srInstances[1]!.apps).toEqual([{ name: 'a3', kind: 'process', status: 'error' }]);
    expect(r.srInstances[1]!.missing_apps).toEqual([]);
    expect(r.violations.map((v) => [v.rule, v.machine, v.application])).toEqual([['app_error', r.srInstances[1]!.machine, 'a3']]);
    expect(r.violations[0]!.message).toBe(`application a3 of server role s1.r2 on machine ${r.srInstances[1]!.machine} is in state error`);
    expect(evaluate(deployment()).violations).toEqual([]);
  });

  it('both rules at once, in a stable order', () => {
    const d = deployment();
    const r = evaluate({ ...d, srInstances: d.srInstances.slice(0, 1), appInstances: [{ sr_id: 10, app_id: 1, status: 'running' }] });
    expect(r.violations.map((v) => v.rule)).toEqual(['service_roles', 'role_apps']);
  });
});
