import { ConflictError, UnhealthyError } from '../../core/errors.js';
import { readGreeting } from '../../remote/mysql-instance.js';
import { readFileScript, writeFileScript } from '../../rds/host-ops.js';
import type { Node } from '../../rds/layout.js';
import { findVswitch, firstFreeAddress, mappingVip, replaceMapping, slbVip, switchSlbToNglb, upsertSlb, usedVpcAddresses } from '../../rds/vpc.js';
import { ensureMaxscale, maxscaleStatus, replaceLinks } from '../../rds/maxscale.js';
import { addEcsSecurityGroup, renderRules, upsertWhitelistGroup, whitelistGroups, type WhitelistGroup } from '../../rds/whitelist.js';
import type { StepDef } from '../types.js';
import type { InstallCtx } from './context.js';
import { routeDriver } from '../../ha/driver.js';
import { sameTarget, showTarget } from '../../ha/route.js';
import { allocateRoute, loadRoute, markRouteValid, recordRouteTarget } from '../../ha/route-store.js';

// How clients reach the instance: whitelists and the ECS security-group relation, the SLB and
// VPC address of a VPC instance, the maxscale proxy's topology and the data route. The whitelist
// rules file on each NC and the data route on the proxy layer are real; the SLB, VPC and
// maxscale steps record metadata that later commands read (the lab has no SLB or maxscale).

type Step = StepDef<InstallCtx, Node>;

const VPC_RULE = 'applies to VPC instances only';
const vpcOnly = (c: InstallCtx): string | null => (c.custins.network_type === 'vpc' ? null : `${VPC_RULE}; this instance is on the classic network`);

export const doAddRdsEcsSgRel: Step = {
  name: 'do_add_rds_ecs_sg_rel',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  group: 'init_db',
  skipRule: 'applies when --ecs-sg is given',
  skip: (c) => (c.params.ecs_sg ? null : 'no ECS security group was given (--ecs-sg)'),
  async run(c) {
    await c.tx((tx) => addEcsSecurityGroup(tx, c.custins.id, c.params.ecs_sg!));
    return c.params.ecs_sg!;
  },
};

const groups = whitelistGroups;

/** Write the group's row, then render every group of the instance into each NC's rules file. */
function flushWhitelist(name: string, group: { name: string; type: WhitelistGroup['group_type']; ips: (c: InstallCtx) => string[] }, batch?: string): Step {
  return {
    name,
    role: 'both',
    timeoutSec: 30,
    effect: 'remote',
    ...(batch ? { group: batch } : {}),
    plan: (n, v) => [`${writeFileScript(n.layout.whitelistFile, '0644')}  # stdin: the whitelist rules of ${v.insName} (port ${n.port}) after group ${group.name} is written to custins_whitelist`],
    async probe(c, nodes, s) {
      const gs = await groups(c.db, c.custins.id);
      const mine = gs.find((g) => g.group_name === group.name);
      if (!mine || mine.ips !== group.ips(c).join(',')) return false;
      const text = renderRules(c.custins.ins_name, c.master.port, gs);
      const files = await Promise.all(nodes.map((n) => c.remote(n, readFileScript(n.layout.whitelistFile), s)));
      return files.every((f) => f === text);
    },
    async run(c, nodes, s) {
      const ips = group.ips(c);
      await c.tx((tx) => upsertWhitelistGroup(tx, c.custins.id, { name: group.name, type: group.type, ips }));
      const text = renderRules(c.custins.ins_name, c.master.port, await groups(c.db, c.custins.id));
      await Promise.all(nodes.map((n) => c.remote(n, writeFileScript(n.layout.whitelistFile, '0644'), s, { stdin: text })));
      return `${group.name}: ${ips.join(',')} -> ${nodes.map((n) => n.host).join(', ')}:${c.master.layout.whitelistFile}`;
    },
  };
}

// The control plane reaches the instance from the pair's own NCs (HA, replication, backups) and
// from local agents on each NC.
// The admin whitelist runs alongside mariadb-install-db (group init_db), the user whitelist
// alongside the checks of its result (group check_init): other files on the same hosts. Never the
// two together: both rewrite the same rules file.
export const doFlushAdminWhitelist = flushWhitelist('do_flush_admin_whitelist', { name: 'rds_admin', type: 'admin', ips: (c) => ['127.0.0.1', c.master.ip, c.slave.ip] }, 'init_db');
export const doFlushUserWhitelist = flushWhitelist('do_flush_user_whitelist', { name: 'default', type: 'user', ips: (c) => c.params.whitelist }, 'check_init');

async function vswitch(c: InstallCtx) {
  if (!c.custins.vpc_id || !c.params.vswitch_id) throw new ConflictError(`instance ${c.custins.ins_name} is VPC but has no vpc_id/vswitch_id`);
  return findVswitch(c.ctx.db('vpc'), c.custins.vpc_id, c.params.vswitch_id);
}

export const doCreateSlbIns4vpc: Step = {
  name: 'do_create_slb_ins_4vpc',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  skipRule: VPC_RULE,
  skip: vpcOnly,
  async run(c) {
    const sw = await vswitch(c);
    const vip = await c.tx(async (tx) => {
      const have = await slbVip(tx, c.custins.id);
      if (have) return have;
      const ip = firstFreeAddress(sw.cidr, await usedVpcAddresses(tx, sw.vpc_id));
      await upsertSlb(tx, c.custins.id, { slbId: `lb-${c.custins.ins_name}`, vip: ip, vport: c.master.port, vpcId: sw.vpc_id, vswitchId: sw.vswitch_id });
      return ip;
    });
    return `SLB lb-${c.custins.ins_name} ${vip}:${c.master.port} in ${sw.vswitch_id}`;
  },
};

export const doCreateVpcCustinsMappingAddress: Step = {
  name: 'do_create_vpc_custins_mapping_address',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  skipRule: VPC_RULE,
  skip: vpcOnly,
  async run(c) {
    const sw = await vswitch(c);
    const vip = await c.tx(async (tx) => {
      const have = await mappingVip(tx, c.custins.id);
      if (have) return have;
      const ip = firstFreeAddress(sw.cidr, await usedVpcAddresses(tx, sw.vpc_id));
      await replaceMapping(tx, c.custins.id, { vpcId: sw.vpc_id, vswitchId: sw.vswitch_id, tunnelId: sw.tunnel_id, vip: ip, vport: c.master.port, targetIp: c.master.ip, targetPort: c.master.port });
      return ip;
    });
    return `${vip}:${c.master.port} (tunnel ${sw.tunnel_id}) -> ${c.master.ip}:${c.master.port}`;
  },
};

export const doSwitchNglbIfNeeded: Step = {
  name: 'do_switch_nglb_if_needed',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  skipRule: VPC_RULE,
  skip: vpcOnly,
  async run(c) {
    await c.tx(async (tx) => {
      if (!(await switchSlbToNglb(tx, c.custins.id))) throw new ConflictError(`instance ${c.custins.ins_name} has no SLB record: run do_create_slb_ins_4vpc first`);
    });
    return `lb-${c.custins.ins_name} on NGLB`;
  },
};

const maxscaleName = (c: InstallCtx): string => `mxs-${c.custins.ins_name}`.slice(0, 64);

export const doCreateSingleTenantInsAndWaitFinish: Step = {
  name: 'do_create_single_tenant_ins_and_wait_finish',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) => ensureMaxscale(tx, c.custins.id, maxscaleName(c)));
    return maxscaleName(c);
  },
};

export const doWaitForCreatingMaxscaleTaskFinish: Step = {
  name: 'do_wait_for_creating_maxscale_task_finish',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const status = await maxscaleStatus(c.db, c.custins.id);
    if (status !== 'running') throw new UnhealthyError(`maxscale of ${c.custins.ins_name} is ${status ?? 'missing'}, not running`);
    return `${maxscaleName(c)} running`;
  },
};

function expectedLinks(c: InstallCtx): Array<{ n: Node; weight: number }> {
  // The standby of an HA pair takes no reads: it must be free to take over.
  return [
    { n: c.master, weight: 0 },
    { n: c.slave, weight: 0 },
  ];
}

export const doRefreshMaxscaleLinkTopology: Step = {
  name: 'do_refresh_maxscale_link_topology',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const version = await c.tx(async (tx) => {
      const links = expectedLinks(c).map(({ n, weight }) => ({ instanceId: n.instanceId, role: n.role, ip: n.ip, port: n.port, readWeight: weight }));
      const v = await replaceLinks(tx, c.custins.id, links);
      if (v === undefined) throw new ConflictError(`no maxscale for ${c.custins.ins_name}: run do_create_single_tenant_ins_and_wait_finish first`);
      return v;
    });
    return `topology v${version}: master ${c.master.ip}:${c.master.port}, slave ${c.slave.ip}:${c.slave.port}`;
  },
};

export const doWaitForRefreshingMaxscaleTaskFinish: Step = {
  name: 'do_wait_for_refreshing_maxscale_task_finish',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const ins = await c.db.query<{ topology_version: number }>('SELECT topology_version FROM maxscale_ins WHERE custins_id = ?', [c.custins.id]);
    const links = await c.db.query<{ instance_id: number; role: string; ip: string; port: number; topology_version: number }>('SELECT instance_id, role, ip, port, topology_version FROM maxscale_link WHERE custins_id = ?', [c.custins.id]);
    const v = ins[0]?.topology_version;
    for (const { n } of expectedLinks(c)) {
      const l = links.find((x) => x.instance_id === n.instanceId);
      if (!l || l.role !== n.role || l.ip !== n.ip || l.port !== n.port || l.topology_version !== v) throw new UnhealthyError(`maxscale link of ${n.role} ${n.host} does not match topology v${v ?? '?'}`);
    }
    return `topology v${v} in place (${links.length} links)`;
  },
};

export const doAddReadinsToMaxscaleConfig: Step = {
  name: 'do_add_readins_to_maxscale_config',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  skipRule: 'applies when the instance has read-only instances',
  skip: () => 'a new instance has no read-only instances',
  async run(c) {
    throw new ConflictError(`instance ${c.custins.ins_name} has no read-only instances to add to maxscale`);
  },
};

// The data route: a TCP frontend on a proxy host of the RDS proxy layer, leading to the master
// (src/ha: HAProxy in the lab). Its address is the instance's endpoint (custins.conn_ip:conn_port).

function routeTo(c: InstallCtx): { ip: string; port: number } {
  return { ip: c.master.ip, port: c.master.port };
}

async function allocated(c: InstallCtx) {
  return c.tx((tx) => allocateRoute(tx, { custinsId: c.custins.id, insName: c.custins.ins_name, preferPort: c.master.port, target: routeTo(c) }));
}

export const doCreateRdsDataRoute: Step = {
  name: 'do_create_rds_data_route',
  role: 'master',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n, v) => [
    `metadb: rds_data_route of ${v.insName} on the online proxy host with the fewest routes (dbaas.rds_proxy_node), port ${n.port} when free there`,
    `on that proxy host: write /etc/haproxy/rds/routes.d/<custins_id>.cfg (listen rds_<custins_id>, bind <proxy ip>:<port>, server master ${n.ip}:${n.port}), haproxy -c, reload through the master CLI (seamless)`,
  ],
  async probe(c, _nodes, s) {
    const r = await loadRoute(c.db, c.custins.id, c.custins.ins_name).catch(() => null);
    if (!r) return false;
    const st = await routeDriver(c.ssh).inspect(r.route, s.signal);
    return st.exists && st.enabled && st.persisted && sameTarget(st.target, routeTo(c));
  },
  async run(c, _nodes, s) {
    const r = await allocated(c);
    await routeDriver(c.ssh).ensure(r.route, routeTo(c), s.signal);
    await c.tx((tx) => recordRouteTarget(tx, c.custins.id, routeTo(c)));
    return `${r.row.conn_string} = ${r.route.ip}:${r.route.port} on ${r.route.proxy.name} -> ${c.master.ip}:${c.master.port}`;
  },
};

export const doValidateRdsDataRoute: Step = {
  name: 'do_validate_rds_data_route',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c, _nodes, s) {
    const r = await loadRoute(c.db, c.custins.id, c.custins.ins_name);
    const st = await routeDriver(c.ssh).inspect(r.route, s.signal);
    if (!st.exists || !st.enabled || !sameTarget(st.target, routeTo(c))) {
      throw new UnhealthyError(`data route ${r.route.ip}:${r.route.port} on ${r.route.proxy.name} leads to ${st.exists ? showTarget(st.target) + (st.enabled ? '' : ' (blocked)') : 'nothing'}, not the master ${c.master.ip}:${c.master.port}`);
    }
    // Through the proxy, not to the master directly: the handshake proves the whole path.
    const g = await readGreeting({ name: `${r.route.proxy.name} (route of ${c.custins.ins_name})`, host: r.route.ip, port: r.route.port }, 3000);
    await c.tx((tx) => markRouteValid(tx, c.custins.id));
    return `${r.row.conn_string} ${r.route.ip}:${r.route.port} -> ${c.master.ip}:${c.master.port} answers through ${r.route.proxy.name} (${g.serverVersion ?? g.refused!.message})`;
  },
};
