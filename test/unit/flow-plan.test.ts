import { INSTALL_FLOW } from '../../src/flow/install/index.js';
import { installPlan } from '../../src/flow/install/plan.js';

// --dry-run of instance create lists the flow from the step definitions themselves: a step that
// changes the NCs must say what it would run there, and only those steps do.

const plan = installPlan({ insName: 'rm-plan1', timeZone: 'Asia/Shanghai', port: 3306, master: { hostname: 'nc-a01', ip: '127.0.0.11' }, slave: { hostname: 'nc-a02', ip: '127.0.0.12' } });

test('every remote-effect step has a plan hook, and no other step does', () => {
  expect(INSTALL_FLOW.filter((s) => (s.effect === 'remote') !== Boolean(s.plan)).map((s) => `${s.name}:${s.role}`)).toEqual([]);
});

test('the plan has the 80 entries in flow order, each on the hosts of its role', () => {
  expect(plan.map((s) => s.name)).toEqual(INSTALL_FLOW.map((s) => s.name));
  for (const s of plan) {
    const want = s.role === 'master' ? ['nc-a01'] : s.role === 'slave' ? ['nc-a02'] : s.role === 'both' ? ['nc-a01', 'nc-a02'] : ['metadb'];
    expect(s.hosts).toEqual(want);
    if (s.effect === 'remote') expect([...new Set(s.remote.map((r) => r.host))]).toEqual(want);
  }
});

test('shell steps show the command built for the node; SQL steps the peer and a masked password', () => {
  const mk = plan.find((s) => s.name === 'do_make_dir' && s.role === 'slave')!;
  expect(mk.remote[0]!.command).toMatch(/^set -e; .*\/mysqldata\/dbs3306/);
  const rep = plan.find((s) => s.name === 'do_install_duallmaster_master')!;
  expect(rep.remote[0]!.command).toContain("MASTER_HOST='127.0.0.12', MASTER_PORT=3306");
  expect(rep.remote[0]!.command).toContain('MASTER_PASSWORD=<masked>');
  expect(plan.find((s) => s.name === 'do_reset_named_timezone_config')!.remote[0]!.command).toContain("SET GLOBAL time_zone = 'Asia/Shanghai'");
});
