import { backendName, haproxyLayout, HaproxyRouteDriver, parseInspect, renderBaseConfig, renderRouteConfig } from '../../src/ha/haproxy.js';
import type { DataRoute } from '../../src/ha/route.js';
import type { SshPool } from '../../src/remote/ssh-types.js';

// The HAProxy side of the data route: config rendering (nothing from the metadb reaches a config
// file unchecked), the parser of the runtime API's answer, and the commands sent to a proxy host.

const route: DataRoute = { custinsId: 7, insName: 'rm-abc', proxy: { name: 'proxy-01', address: '127.9.201.1', port: 2222 }, ip: '127.9.201.1', port: 3001 };

test('a route file is one listen section bound to the route address, with the target as its only server', () => {
  expect(renderRouteConfig(route, { ip: '127.9.1.1', port: 3001 }, true).split('\n').slice(1)).toEqual(['listen rds_7', '  bind 127.9.201.1:3001', '  server master 127.9.1.1:3001', '']);
  expect(renderRouteConfig(route, { ip: '127.9.1.1', port: 3001 }, false)).toContain('server master 127.9.1.1:3001 disabled');
});

test('addresses that are not IPv4 and ports out of range are refused before anything is written', () => {
  expect(() => renderRouteConfig(route, { ip: '127.0.0.1\n  server evil 1.2.3.4:1', port: 3001 }, true)).toThrow(/not an IPv4/);
  expect(() => renderRouteConfig({ ...route, port: 70000 }, { ip: '127.9.1.1', port: 3001 }, true)).toThrow(/not an IPv4 address and port/);
  expect(renderRouteConfig({ ...route, insName: 'rm-x\nlisten evil' }, { ip: '127.9.1.1', port: 1 }, true).split('\n')[1]).toBe('listen rds_7');
});

test('the base config has an admin stats socket that hands its listeners over on reload, and no hard stop', () => {
  const l = haproxyLayout();
  expect(l.statsSocket).toBe('/run/haproxy/rds.sock');
  const cfg = renderBaseConfig(l, 'proxy-01');
  expect(cfg).toContain('stats socket /run/haproxy/rds.sock mode 600 level admin expose-fd listeners');
  expect(cfg).not.toContain('hard-stop-after');
});

const STATE_HEADER = '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n';

test('parseInspect reads the running target, the admin state and whether the file agrees', () => {
  const file = renderRouteConfig(route, { ip: '127.9.1.2', port: 3001 }, true);
  const up = `${STATE_HEADER}3 rds_7 1 master 127.9.1.2 2 0 1 1 4 1 0 2 0 0 0 0 - 3001 - 0 0 - - 0\n\n@@file\n${file}`;
  expect(parseInspect(up, 7)).toEqual({ exists: true, target: { ip: '127.9.1.2', port: 3001 }, enabled: true, persisted: true });
  const maint = up.replace('127.9.1.2 2 0 1', '127.9.1.2 0 1 1');
  expect(parseInspect(maint, 7)).toMatchObject({ enabled: false, persisted: false });
  const stale = `${STATE_HEADER}3 rds_7 1 master 127.9.1.1 2 0 1 1 4 1 0 2 0 0 0 0 - 3001 - 0 0 - - 0\n\n@@file\n${file}`;
  expect(parseInspect(stale, 7)).toMatchObject({ exists: true, target: { ip: '127.9.1.1', port: 3001 }, persisted: false });
  expect(parseInspect("Can't find backend.\n\n@@file\n", 7)).toEqual({ exists: false, target: null, enabled: false, persisted: false });
});

test('commands reach the proxy host\'s runtime API at its production socket; re-pointing changes one server through the runtime API, never by reload', () => {
  const d = new HaproxyRouteDriver({} as SshPool);
  const [point] = d.describe(route, 'point', { ip: '127.9.1.2', port: 3001 });
  expect(point).toContain('UNIX-CONNECT:/run/haproxy/rds.sock');
  expect(point).toContain(`disable server ${backendName(7)}/master; shutdown sessions server rds_7/master; set server rds_7/master addr 127.9.1.2 port 3001; enable server rds_7/master`);
  expect(point).not.toContain('reload');
  const [create] = d.describe(route, 'ensure', { ip: '127.9.1.2', port: 3001 });
  expect(create).toContain('haproxy -c -q');
  expect(create).toContain('reload');
});
