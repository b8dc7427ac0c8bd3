import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// The Tianji model of the lab seed: products rds/ecs/oss with one cluster each. Violations:
// houyi-ctl-hz runs houyi-apiserver without its role ApiProxy# (service_roles), and rds-ctl-02
// runs Pengine# without the app pengine-agent (role_apps).

jest.setTimeout(60_000);

let lab: TestLab;
beforeAll(() => {
  lab = sharedLab();
});

interface Violation {
  rule: string;
  cluster: string;
  service: string;
  server_role: string;
  machine: string | null;
  application: string | null;
  message: string;
}
interface SrStatus {
  cluster: string;
  product: string;
  service: string | null;
  sr_instances: Array<{ machine: string; service: string; server_role: string; status: string; apps: Array<{ name: string; status: string }>; missing_apps: string[] }>;
  violations: Violation[];
}

test('product list', async () => {
  const r = await lab.run(['tianji', 'product', 'list', '-o', 'json']);
  expect(r.code).toBe(0);
  expect(json(r)).toEqual([
    { name: 'ecs', clusters: 1, machines: 3, services: 2 },
    { name: 'oss', clusters: 1, machines: 3, services: 1 },
    { name: 'rds', clusters: 1, machines: 3, services: 2 },
  ]);
  const t = await lab.run(['tianji', 'product', 'list']);
  expect(t.stdout.split('\n')[0]).toMatch(/^PRODUCT\s+CLUSTERS\s+MACHINES\s+SERVICES$/);
});

test('cluster list, all and by product; an unknown product is not-found with a near name', async () => {
  const all = await lab.run(['tianji', 'cluster', 'list', '-o', 'json']);
  expect(all.code).toBe(0);
  expect(json<Array<{ name: string }>>(all).map((c) => c.name)).toEqual(['houyi-ctl-hz', 'pangu-ctl-hz', 'rds-ctl-hz']);
  const oss = await lab.run(['tianji', 'cluster', 'list', '--product', 'oss', '-o', 'json']);
  expect(json(oss)).toEqual([{ name: 'pangu-ctl-hz', product: 'oss', machines: 3, services: 1, sr_instances: 4 }]);
  const bad = await lab.run(['tianji', 'cluster', 'list', '--product', 'osss']);
  expect(bad.code).toBe(3);
  expect(bad.stderr).toBe('rdsctl: Tianji product osss not found (did you mean: oss)\n');
});

test('service list --cluster: services with their roles; --cluster is required', async () => {
  const r = await lab.run(['tianji', 'service', 'list', '--cluster', 'rds-ctl-hz', '-o', 'json']);
  expect(r.code).toBe(0);
  expect(json(r)).toEqual([
    { name: 'pengine', version: '3.12.0', server_roles: ['Pengine#', 'PengineScheduler#'], sr_instances: 3 },
    { name: 'rds-api', version: '3.12.0', server_roles: ['RdsApi#'], sr_instances: 3 },
  ]);
  const missing = await lab.run(['tianji', 'service', 'list']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toBe('rdsctl: tianji service list: --cluster is required\n');
  const hostile = await lab.run(['tianji', 'service', 'list', '--cluster', "rds'; DROP TABLE service; --"]);
  expect(hostile.code).toBe(2);
});

describe('serverrole status', () => {
  test('rule service_roles: a role of a service the cluster runs is on none of its machines → exit 4', async () => {
    const r = await lab.run(['tianji', 'serverrole', 'status', '--cluster', 'houyi-ctl-hz', '-o', 'json']);
    expect(r.code).toBe(4);
    const j = json<SrStatus>(r);
    expect(j).toMatchObject({ cluster: 'houyi-ctl-hz', product: 'ecs', service: null });
    expect(j.violations).toEqual([
      { rule: 'service_roles', cluster: 'houyi-ctl-hz', service: 'houyi-apiserver', server_role: 'ApiProxy#', machine: null, application: null, message: 'cluster houyi-ctl-hz runs service houyi-apiserver but server role ApiProxy# is on none of its machines' },
    ]);
    expect(j.sr_instances.map((s) => `${s.machine}/${s.server_role}`)).toEqual(['houyi-ctl-01/ApiServer#', 'houyi-ctl-02/ApiServer#', 'houyi-ctl-02/RegionMaster#', 'houyi-ctl-03/RegionMaster#']);
  });

  test('rule role_apps: a machine runs a role without one of its apps; table shows MISSING, stderr the violation', async () => {
    const r = await lab.run(['tianji', 'serverrole', 'status', '--cluster', 'rds-ctl-hz']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/rds-ctl-02\s+pengine\s+Pengine#\s+good\s+pengine\s+pengine-agent\n/);
    expect(r.stderr).toBe(
      'violation [role_apps]: machine rds-ctl-02 runs server role pengine.Pengine# but not its application pengine-agent\n' + 'cluster rds-ctl-hz (rds): 6 SR instances, 1 rule violation\n',
    );
    const j = json<SrStatus>(await lab.run(['tianji', 'serverrole', 'status', '--cluster', 'rds-ctl-hz', '-o', 'json']));
    expect(j.violations.map((v) => [v.rule, v.machine, v.server_role, v.application])).toEqual([['role_apps', 'rds-ctl-02', 'Pengine#', 'pengine-agent']]);
  });

  test('--service narrows the rules; a clean service exits 0', async () => {
    const api = await lab.run(['tianji', 'serverrole', 'status', '--cluster', 'rds-ctl-hz', '--service', 'rds-api', '-o', 'json']);
    expect(api.code).toBe(0);
    const j = json<SrStatus>(api);
    expect(j.service).toBe('rds-api');
    expect(j.sr_instances.every((s) => s.service === 'rds-api')).toBe(true);
  });

  test('rule app_error: an application instance in state error is a violation (exit 4), in JSON and on stderr', async () => {
    const pangu = await lab.run(['tianji', 'serverrole', 'status', '--cluster', 'pangu-ctl-hz', '-o', 'json']);
    expect(pangu.code).toBe(4);
    const j = json<SrStatus>(pangu);
    const broken = j.sr_instances.filter((s) => s.machine === 'pangu-ctl-03');
    expect(broken.length).toBeGreaterThan(0);
    const errored = broken.flatMap((s) => s.apps.filter((a) => a.status === 'error').map((a) => a.name)).sort();
    expect(errored.length).toBeGreaterThan(0);
    expect(j.violations.every((v) => v.rule === 'app_error' && v.machine === 'pangu-ctl-03')).toBe(true);
    expect(j.violations.map((v) => v.application).sort()).toEqual(errored);
    const table = await lab.run(['tianji', 'serverrole', 'status', '--cluster', 'pangu-ctl-hz']);
    expect(table.code).toBe(4);
    expect(table.stderr).toMatch(/violation \[app_error\]: application \S+ of server role \S+ on machine pangu-ctl-03 is in state error\n/);
  });

  test('unknown cluster or service: not-found', async () => {
    expect((await lab.run(['tianji', 'serverrole', 'status', '--cluster', 'rds-ctl'])).stderr).toMatch(/^rdsctl: Tianji cluster rds-ctl not found \(did you mean: rds-ctl-hz\)\n$/);
    const s = await lab.run(['tianji', 'serverrole', 'status', '--cluster', 'rds-ctl-hz', '--service', 'pengin']);
    expect(s.code).toBe(3);
    expect(s.stderr).toMatch(/did you mean: pengine/);
  });
});

describe('machine HOST', () => {
  interface MachineJson {
    machine: { hostname: string; ip: string; status: string; cluster: string; product: string };
    sr_instances: SrStatus['sr_instances'];
    violations: Violation[];
  }

  test('everything deployed on a machine, by hostname or IP, with its missing apps', async () => {
    // The same role_apps violation `serverrole status` exits 4 for: so does `machine`.
    const r = await lab.run(['tianji', 'machine', 'rds-ctl-02', '-o', 'json']);
    expect(r.code).toBe(4);
    const j = json<MachineJson>(r);
    expect(j.machine).toMatchObject({ hostname: 'rds-ctl-02', status: 'good', cluster: 'rds-ctl-hz', product: 'rds' });
    expect(j.sr_instances.map((s) => [s.service, s.server_role, s.apps.map((a) => a.name), s.missing_apps])).toEqual([
      ['pengine', 'Pengine#', ['pengine'], ['pengine-agent']],
      ['rds-api', 'RdsApi#', ['rdsapi', 'rdsapi-nginx'], []],
    ]);
    expect(j.violations.map((v) => v.application)).toEqual(['pengine-agent']);
    const byIp = await lab.run(['tianji', 'machine', j.machine.ip, '-o', 'json']);
    expect(json<MachineJson>(byIp).machine.hostname).toBe('rds-ctl-02');
  });

  test('tsv and table views', async () => {
    const tsv = await lab.run(['tianji', 'machine', 'pangu-ctl-03', '-o', 'tsv']);
    expect(tsv.code).toBe(4);
    expect(tsv.stdout).toMatch(/Rule violations\tapp_error\t/);
    expect(tsv.stdout).toContain('Machine pangu-ctl-03\tstatus\terror\n');
    const t = await lab.run(['tianji', 'machine', 'pangu-ctl-01']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/SR instances:\n\s+SERVICE\s+SERVER ROLE\s+STATUS/);
    expect(t.stdout).toMatch(/pangu-master\s+PanguSupervisor#\s+supervisor\s+process\s+running/);
  });

  test('an unknown machine is not-found with near names', async () => {
    const r = await lab.run(['tianji', 'machine', 'rds-ctl-04']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^rdsctl: Tianji machine rds-ctl-04 not found \(did you mean: rds-ctl-0\d/);
  });
});
