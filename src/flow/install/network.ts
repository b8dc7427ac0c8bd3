import { ConflictError, UnhealthyError } from '../../core/errors.js';
import { readGreeting } from '../../remote/mysql-instance.js';
import type { Db } from '../../remote/mysql.js';
import { readFileScript, writeFileScript } from '../../rds/host-ops.js';
import type { Node } from '../../rds/layout.js';
import { findVswitch, firstFreeAddress, usedVpcAddresses } from '../../rds/vpc.js';
import { renderRules, type WhitelistGroup } from '../../rds/whitelist.js';
import type { StepDef } from '../types.js';
import type { InstallCtx } from './context.js';

// How clients reach the instance: whitelists and the ECS security-group relation, the SLB and
// VPC address of a VPC instance, the maxscale proxy's topology and the data route. Apart from
// the whitelist rules file on each NC, these steps only record metadata that later commands
// read; the lab has no SLB or maxscale processes to drive.

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
    await c.tx((tx) => tx.execute('INSERT IGNORE INTO rds_ecs_sg_rel (custins_id, ecs_sg_id) VALUES (?, ?)', [c.custins.id, c.params.ecs_sg]));
    return c.params.ecs_sg!;
  },
};

async function groups(db: Db, custinsId: number): Promise<WhitelistGroup[]> {
  return db.query<WhitelistGroup>('SELECT group_name, group_type, ips FROM custins_whitelist WHERE custins_id = ? ORDER BY group_name', [custinsId]);
}

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
      await c.tx((tx) =>
        tx.execute('INSERT INTO custins_whitelist (custins_id, group_name, group_type, ips) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE group_type = VALUES(group_type), ips = VALUES(ips)', [c.custins.id, group.name, group.type, ips.join(',')]),
      );
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
      const have = await tx.query<{ vip: string }>("SELECT vip FROM custins_slb WHERE custins_id = ? AND status <> 'deleted'", [c.custins.id]);
      if (have[0]) return have[0].vip;
      const ip = firstFreeAddress(sw.cidr, await usedVpcAddresses(tx, sw.vpc_id));
      await tx.execute(
        `INSERT INTO custins_slb (custins_id, slb_id, vip, vport, vpc_id, vswitch_id, nglb, status) VALUES (?, ?, ?, ?, ?, ?, 0, 'active')
         ON DUPLICATE KEY UPDATE slb_id = VALUES(slb_id), vip = VALUES(vip), vport = VALUES(vport), vpc_id = VALUES(vpc_id), vswitch_id = VALUES(vswitch_id), status = 'active'`,
        [c.custins.id, `lb-${c.custins.ins_name}`, ip, c.master.port, sw.vpc_id, sw.vswitch_id],
      );
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
      const have = await tx.query<{ vip: string }>('SELECT vip FROM vpc_custins_mapping WHERE custins_id = ? AND live_key = 1', [c.custins.id]);
      if (have[0]) return have[0].vip;
      const ip = firstFreeAddress(sw.cidr, await usedVpcAddresses(tx, sw.vpc_id));
      await tx.execute(
        `REPLACE INTO vpc_custins_mapping (custins_id, vpc_id, vswitch_id, tunnel_id, vip, vport, target_ip, target_port, live_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`,
        [c.custins.id, sw.vpc_id, sw.vswitch_id, sw.tunnel_id, ip, c.master.port, c.master.ip, c.master.port],
      );
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
      const r = await tx.execute("UPDATE custins_slb SET nglb = 1 WHERE custins_id = ? AND status <> 'deleted'", [c.custins.id]);
      if (r.affectedRows === 0) throw new ConflictError(`instance ${c.custins.ins_name} has no SLB record: run do_create_slb_ins_4vpc first`);
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
    await c.tx((tx) =>
      tx.execute("INSERT INTO maxscale_ins (custins_id, maxscale_name, status) VALUES (?, ?, 'running') ON DUPLICATE KEY UPDATE maxscale_name = VALUES(maxscale_name), status = 'running'", [c.custins.id, maxscaleName(c)]),
    );
    return maxscaleName(c);
  },
};

export const doWaitForCreatingMaxscaleTaskFinish: Step = {
  name: 'do_wait_for_creating_maxscale_task_finish',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const rows = await c.db.query<{ status: string }>('SELECT status FROM maxscale_ins WHERE custins_id = ?', [c.custins.id]);
    if (rows[0]?.status !== 'running') throw new UnhealthyError(`maxscale of ${c.custins.ins_name} is ${rows[0]?.status ?? 'missing'}, not running`);
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
      const r = await tx.execute('UPDATE maxscale_ins SET topology_version = topology_version + 1 WHERE custins_id = ?', [c.custins.id]);
      if (r.affectedRows === 0) throw new ConflictError(`no maxscale for ${c.custins.ins_name}: run do_create_single_tenant_ins_and_wait_finish first`);
      const v = (await tx.query<{ topology_version: number }>('SELECT topology_version FROM maxscale_ins WHERE custins_id = ?', [c.custins.id]))[0]!.topology_version;
      await tx.execute('DELETE FROM maxscale_link WHERE custins_id = ?', [c.custins.id]);
      const links = expectedLinks(c);
      await tx.execute(
        'INSERT INTO maxscale_link (custins_id, instance_id, role, ip, port, read_weight, topology_version) VALUES ?',
        [links.map(({ n, weight }) => [c.custins.id, n.instanceId, n.role, n.ip, n.port, weight, v])],
      );
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

const connString = (c: InstallCtx): string => `${c.custins.ins_name}.mysql.rds.aliyuncs.com`;

export const doCreateRdsDataRoute: Step = {
  name: 'do_create_rds_data_route',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx((tx) =>
      tx.execute(
        `INSERT INTO rds_data_route (custins_id, conn_string, target_ip, target_port, status) VALUES (?, ?, ?, ?, 'creating')
         ON DUPLICATE KEY UPDATE conn_string = VALUES(conn_string), target_ip = VALUES(target_ip), target_port = VALUES(target_port), status = 'creating', gmt_validated = NULL`,
        [c.custins.id, connString(c), c.master.ip, c.master.port],
      ),
    );
    return `${connString(c)} -> ${c.master.ip}:${c.master.port}`;
  },
};

export const doValidateRdsDataRoute: Step = {
  name: 'do_validate_rds_data_route',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const rows = await c.db.query<{ conn_string: string; target_ip: string; target_port: number }>('SELECT conn_string, target_ip, target_port FROM rds_data_route WHERE custins_id = ?', [c.custins.id]);
    const r = rows[0];
    if (!r) throw new ConflictError(`no data route for ${c.custins.ins_name}: run do_create_rds_data_route first`);
    if (r.target_ip !== c.master.ip || r.target_port !== c.master.port) throw new UnhealthyError(`data route ${r.conn_string} leads to ${r.target_ip}:${r.target_port}, not the master ${c.master.ip}:${c.master.port}`);
    const g = await readGreeting({ name: c.master.host, host: r.target_ip, port: r.target_port }, 3000);
    await c.tx((tx) => tx.execute("UPDATE rds_data_route SET status = 'valid', gmt_validated = NOW() WHERE custins_id = ?", [c.custins.id]));
    return `${r.conn_string} -> ${r.target_ip}:${r.target_port} answers (${g.serverVersion ?? g.refused!.message})`;
  },
};
