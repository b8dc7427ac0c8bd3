import type { LogicalDb } from '../core/config.js';
import { reservedAddress, stableHex, type Topology } from './topology.js';

// The lab's metadb rows, generated from the topology: deterministic (same topology and clock →
// same rows), with explicit ids so that foreign keys between tables are plain numbers. Tables are
// listed in insertion order. Inserted by mariadb.ts with multi-row parameterized INSERTs.
//
// What later commands can count on (documented here because tests depend on it):
//   houyi     zones cn-hangzhou-a/-b; clusters hz{a,b}-{rds,ecs}-01; NCs nc-a01…; VMs vm-001…;
//             some NCs locked/offline/maintain and some VMs stopped (see topology.ts).
//   dbaas     hostinfo mirrors the RDS NCs; mysql 5.6 / 5.7 / 8.0 (8.0 default); 7 classes; 3
//             storage types; mycnf_template per version; operators root (admin), alice
//             (readonly), bob (operator) and the OS user who ran `lab up` (admin).
//   xuanyuan  8 lb_node (lvs-04 offline, lvs-07 maintain), 6 proxy (proxy-03 offline); the
//             service_port of each is the lab's SSH port, which the online ones really answer on.
//   tianji    rule 1 violated: cluster houyi-ctl-hz runs service houyi-apiserver, but its role
//             ApiProxy# is on no machine. Rule 2 violated: rds-ctl-02 runs Pengine# without the
//             role's app pengine-agent.
//   pangu     pangu-hz-a: every chunk has exactly 3 healthy replicas on cs-a01..cs-a03, so taking
//             cs-a01:sdb offline would leave chunk 1 with 2 (refused by the replica rule);
//             cs-a04 holds no chunk (its disks can go offline); cs-a05 already has 2 disks offline,
//             its cluster's max_offline_disks_per_cs (refused by the safety rule).
//             pangu-hz-b: cs-b02 abnormal with disk sdc in error (chunks on it are under-replicated).
//   vpc       3 VPCs with a vswitch per zone, system routes per vswitch and custom routes.

export type SqlValue = string | number | null | Date;
export type SeedRow = Record<string, SqlValue>;

export interface SeedTable {
  table: string;
  rows: SeedRow[];
}

export type Seed = Record<LogicalDb, SeedTable[]>;

export interface SeedInput {
  topology: Topology;
  /** Heartbeat times are relative to this, so the seed stays deterministic. */
  now: Date;
  /** The operator running `lab up`; made an admin in dbaas.operator. */
  osUser?: string;
}

export function generateSeed(input: SeedInput): Seed {
  return {
    houyi: houyiRows(input.topology),
    dbaas: dbaasRows(input.topology, input.osUser),
    xuanyuan: xuanyuanRows(input.topology),
    tianji: tianjiRows(input.topology),
    pangu: panguRows(input.topology, input.now),
    vpc: vpcRows(input.topology),
  };
}

const id1 = <T>(list: T[], pred: (x: T) => boolean): number => list.findIndex(pred) + 1;

function houyiRows(t: Topology): SeedTable[] {
  const zone = t.zones.map((z, i) => ({ id: i + 1, name: z.name, region: t.region }));
  const cluster = t.clusters.map((c, i) => ({ id: i + 1, name: c.name, zone_id: id1(t.zones, (z) => z.name === c.zone), usage_type: c.usage }));
  const nc = t.ncs.map((n, i) => {
    const mine = t.vms.filter((v) => v.nc === n.hostname);
    return {
      id: i + 1,
      hostname: n.hostname,
      ip: n.address,
      sn: n.sn,
      cluster_id: id1(t.clusters, (c) => c.name === n.cluster),
      zone_id: id1(t.zones, (z) => z.name === n.zone),
      status: n.status,
      locked: n.status === 'locked' ? 1 : 0,
      lock_reason: n.lockReason,
      cpu_total: n.cpuTotal,
      cpu_allocated: mine.reduce((s, v) => s + v.vcpu, 0),
      mem_total_mb: n.memTotalMb,
      mem_allocated_mb: mine.reduce((s, v) => s + v.memMb, 0),
      disk_total_gb: n.diskTotalGb,
      ssh_port: t.sshPort,
    };
  });
  const vm = t.vms.map((v, i) => ({
    id: i + 1,
    instance_id: v.instanceId,
    name: v.name,
    uuid: v.uuid,
    nc_id: id1(t.ncs, (n) => n.hostname === v.nc),
    status: v.status,
    vcpu: v.vcpu,
    mem_mb: v.memMb,
    ip: v.address,
    ssh_port: t.sshPort,
    image: v.image,
    vpc_id: v.vpcId,
  }));
  const natgw = t.vpcs.map((v, i) => ({
    id: i + 1,
    natgw_id: natgwId(v.vpcId),
    vpc_id: v.vpcId,
    zone_id: 1,
    ip: reservedAddress(t.net, 204, i),
    status: 'available',
  }));
  const [g1, g2] = natgw;
  const natgw_acl = [
    { id: 1, natgw_id: g1!.natgw_id, direction: 'ingress', protocol: 'tcp', src_cidr: '0.0.0.0/0', dst_cidr: '172.16.1.0/24', port_range: '443/443', policy: 'accept', priority: 10, description: 'public HTTPS to web tier' },
    { id: 2, natgw_id: g1!.natgw_id, direction: 'egress', protocol: 'all', src_cidr: '172.16.0.0/12', dst_cidr: '0.0.0.0/0', port_range: '-1/-1', policy: 'accept', priority: 100, description: 'VPC egress' },
    { id: 3, natgw_id: g2!.natgw_id, direction: 'ingress', protocol: 'tcp', src_cidr: '0.0.0.0/0', dst_cidr: '10.1.0.0/16', port_range: '22/22', policy: 'drop', priority: 50, description: 'no SSH from outside' },
  ];
  return [
    { table: 'zone', rows: zone },
    { table: 'cluster', rows: cluster },
    { table: 'nc', rows: nc },
    { table: 'vm', rows: vm },
    { table: 'natgw', rows: natgw },
    { table: 'natgw_acl', rows: natgw_acl },
  ];
}

function natgwId(vpcId: string): string {
  return `ngw-bp1${stableHex(`natgw:${vpcId}`, 17)}`;
}

export const INSTANCE_CLASSES = [
  { class_code: 'rds.mysql.s1.small', cpu: 1, mem_mb: 2048, max_connections: 300, max_iops: 600 },
  { class_code: 'rds.mysql.s2.large', cpu: 2, mem_mb: 4096, max_connections: 600, max_iops: 1000 },
  { class_code: 'rds.mysql.s2.xlarge', cpu: 2, mem_mb: 8192, max_connections: 1200, max_iops: 2000 },
  { class_code: 'rds.mysql.s3.large', cpu: 4, mem_mb: 8192, max_connections: 2000, max_iops: 5000 },
  { class_code: 'rds.mysql.m1.medium', cpu: 4, mem_mb: 16384, max_connections: 4000, max_iops: 7000 },
  { class_code: 'rds.mysql.c1.large', cpu: 8, mem_mb: 16384, max_connections: 4000, max_iops: 8000 },
  { class_code: 'rds.mysql.c1.xlarge', cpu: 8, mem_mb: 32768, max_connections: 8000, max_iops: 12000 },
];

/** The lab classes whose servers refuse plain (non-TLS) TCP clients: require_secure_transport=ON. */
export const SECURE_TRANSPORT_CLASSES = ['rds.mysql.c1.large', 'rds.mysql.c1.xlarge'];

export const ENGINE_VERSIONS = [
  { engine: 'mysql', version: '5.6', minor_version: '5.6.51', is_default: 0, status: 'available' },
  { engine: 'mysql', version: '5.7', minor_version: '5.7.43', is_default: 0, status: 'available' },
  { engine: 'mysql', version: '8.0', minor_version: '8.0.36', is_default: 1, status: 'available' },
];

/**
 * Server parameters per version. Placeholders (see the mycnf_template comment in the schema):
 * {mem_mb}, {max_connections}, {max_iops}, {cpu}, optionally scaled as {mem_mb*3/4}. Every name is
 * also a valid option of Debian's mariadbd, which runs the lab's instances.
 */
function mycnfParams(version: string): Array<[string, string]> {
  const utf8 = version === '5.6' ? 'utf8' : 'utf8mb4';
  return [
    ['innodb_buffer_pool_size', '{mem_mb*3/4}M'],
    ['max_connections', '{max_connections}'],
    ['innodb_io_capacity', '{max_iops}'],
    ['thread_cache_size', '{cpu*16/1}'],
    ['character_set_server', utf8],
    ['collation_server', `${utf8}_general_ci`],
    ['innodb_flush_log_at_trx_commit', '1'],
    ['sync_binlog', '1'],
    ['binlog_format', 'ROW'],
    ['transaction_isolation', 'READ-COMMITTED'],
    ['max_allowed_packet', '1073741824'],
    ['table_open_cache', '2000'],
    ['long_query_time', '1'],
    ['slow_query_log', 'ON'],
    ['lower_case_table_names', '1'],
    ['log_bin_trust_function_creators', '1'],
    ['explicit_defaults_for_timestamp', version === '5.6' ? 'OFF' : 'ON'],
    ...(version === '8.0' ? [] : [['query_cache_type', '0'] as [string, string]]),
  ];
}

function dbaasRows(t: Topology, osUser: string | undefined): SeedTable[] {
  const hostinfo = t.ncs
    .filter((n) => n.usage === 'rds')
    .map((n, i) => ({
      id: i + 1,
      hostname: n.hostname,
      ip: n.address,
      zone: n.zone,
      cluster: n.cluster,
      ssh_port: t.sshPort,
      status: n.status === 'online' ? 'online' : n.status === 'offline' ? 'offline' : 'maintain',
      cpu_total: n.cpuTotal,
      cpu_allocated: 0,
      mem_total_mb: n.memTotalMb,
      mem_allocated_mb: 0,
      disk_total_gb: n.diskTotalGb,
      disk_allocated_gb: 0,
      port_min: 3001,
      port_max: 3999,
    }));
  const instance_class = INSTANCE_CLASSES.map((c, i) => ({ ...c, engine: 'mysql', sort_order: (i + 1) * 10 }));
  const storage_type = [
    { name: 'local_ssd', min_gb: 5, max_gb: 2000, step_gb: 5, description: 'local NVMe SSD on the NC' },
    { name: 'cloud_ssd', min_gb: 20, max_gb: 6000, step_gb: 10, description: 'SSD cloud disk' },
    { name: 'cloud_essd', min_gb: 20, max_gb: 32000, step_gb: 10, description: 'enhanced SSD cloud disk (PL1)' },
  ];
  let n = 0;
  const mycnf_template = ENGINE_VERSIONS.flatMap((v) => mycnfParams(v.version).map(([name, value]) => ({ id: ++n, engine: v.engine, version: v.version, class_code: '', name, value })));
  // require_secure_transport per class (#16): the dedicated classes (rds.mysql.c1.*) refuse plain
  // TCP logins (the socket stays allowed); the shared s*/m* classes keep accepting plain clients for
  // applications that cannot speak TLS yet. Every class's servers offer verified TLS.
  for (const v of ENGINE_VERSIONS) {
    for (const c of INSTANCE_CLASSES) if (SECURE_TRANSPORT_CLASSES.includes(c.class_code)) mycnf_template.push({ id: ++n, engine: v.engine, version: v.version, class_code: c.class_code, name: 'require_secure_transport', value: 'ON' });
  }
  const operators: Array<{ os_user: string; role: string; full_name: string }> = [
    { os_user: 'root', role: 'admin', full_name: 'root on the AG' },
    { os_user: 'alice', role: 'readonly', full_name: 'Alice (on call, read only)' },
    { os_user: 'bob', role: 'operator', full_name: 'Bob (SRE)' },
  ];
  if (osUser && !operators.some((o) => o.os_user === osUser)) operators.push({ os_user: osUser, role: 'admin', full_name: 'lab owner' });
  return [
    { table: 'hostinfo', rows: hostinfo },
    { table: 'engine_version', rows: ENGINE_VERSIONS },
    { table: 'instance_class', rows: instance_class },
    { table: 'storage_type', rows: storage_type },
    { table: 'mycnf_template', rows: mycnf_template },
    { table: 'operator', rows: operators },
  ];
}

function xuanyuanRows(t: Topology): SeedTable[] {
  return [
    {
      table: 'lb_node',
      rows: t.lbNodes.map((n, i) => ({ id: i + 1, hostname: n.name, ip_addr: n.address, status: n.status, cluster: n.cluster, role: n.role, vip: n.vip, service_port: t.sshPort })),
    },
    {
      table: 'proxy',
      rows: t.proxies.map((p, i) => ({ id: i + 1, hostname: p.name, ip_adr: p.address, status: p.status, cluster: p.cluster, kind: p.kind, service_port: t.sshPort })),
    },
  ];
}

// Tianji: three control-plane clusters. Each service lists its roles, each role its apps.
const TJ_SERVICES: Array<{ name: string; roles: Array<{ name: string; apps: string[] }> }> = [
  { name: 'rds-api', roles: [{ name: 'RdsApi#', apps: ['rdsapi', 'rdsapi-nginx'] }] },
  { name: 'pengine', roles: [{ name: 'Pengine#', apps: ['pengine', 'pengine-agent'] }, { name: 'PengineScheduler#', apps: ['scheduler'] }] },
  { name: 'houyi-apiserver', roles: [{ name: 'ApiServer#', apps: ['apiserver'] }, { name: 'ApiProxy#', apps: ['apiproxy'] }] },
  { name: 'regionmaster', roles: [{ name: 'RegionMaster#', apps: ['regionmaster', 'pync-proxy'] }] },
  { name: 'pangu-master', roles: [{ name: 'PanguMaster#', apps: ['pangu_master'] }, { name: 'PanguSupervisor#', apps: ['supervisor'] }] },
];
const TJ_CLUSTERS: Array<{ name: string; product: string; services: string[]; machines: string[]; placement: Record<string, string[]> }> = [
  {
    name: 'rds-ctl-hz',
    product: 'rds',
    services: ['rds-api', 'pengine'],
    machines: ['rds-ctl-01', 'rds-ctl-02', 'rds-ctl-03'],
    placement: { 'RdsApi#': ['rds-ctl-01', 'rds-ctl-02', 'rds-ctl-03'], 'Pengine#': ['rds-ctl-01', 'rds-ctl-02'], 'PengineScheduler#': ['rds-ctl-03'] },
  },
  {
    name: 'houyi-ctl-hz',
    product: 'ecs',
    services: ['houyi-apiserver', 'regionmaster'],
    machines: ['houyi-ctl-01', 'houyi-ctl-02', 'houyi-ctl-03'],
    // ApiProxy# is deliberately on no machine: rule 1 violation.
    placement: { 'ApiServer#': ['houyi-ctl-01', 'houyi-ctl-02'], 'RegionMaster#': ['houyi-ctl-02', 'houyi-ctl-03'] },
  },
  {
    name: 'pangu-ctl-hz',
    product: 'oss',
    services: ['pangu-master'],
    machines: ['pangu-ctl-01', 'pangu-ctl-02', 'pangu-ctl-03'],
    placement: { 'PanguMaster#': ['pangu-ctl-01', 'pangu-ctl-02', 'pangu-ctl-03'], 'PanguSupervisor#': ['pangu-ctl-01'] },
  },
];
/** Apps left off a machine that runs their role: rule 2 violations ("machine/role" → missing apps). */
const TJ_MISSING_APPS: Record<string, string[]> = { 'rds-ctl-02/Pengine#': ['pengine-agent'] };

function tianjiRows(t: Topology): SeedTable[] {
  const products = ['rds', 'ecs', 'oss'];
  const product = products.map((name, i) => ({ id: i + 1, name }));
  const tj_cluster = TJ_CLUSTERS.map((c, i) => ({ id: i + 1, name: c.name, product_id: products.indexOf(c.product) + 1 }));
  const service = TJ_SERVICES.map((s, i) => ({ id: i + 1, name: s.name }));
  const roles = TJ_SERVICES.flatMap((s, si) => s.roles.map((r) => ({ ...r, serviceId: si + 1 })));
  const server_role = roles.map((r, i) => ({ id: i + 1, service_id: r.serviceId, name: r.name }));
  const apps = roles.flatMap((r, ri) => r.apps.map((a) => ({ roleId: ri + 1, role: r.name, name: a })));
  const application = apps.map((a, i) => ({ id: i + 1, server_role_id: a.roleId, name: a.name, kind: a.name.includes('nginx') || a.name === 'apiproxy' ? 'docker' : 'process' }));
  const cluster_service = TJ_CLUSTERS.flatMap((c, ci) => c.services.map((s) => ({ cluster_id: ci + 1, service_id: TJ_SERVICES.findIndex((x) => x.name === s) + 1, version: '3.12.0' })));
  const machineList = TJ_CLUSTERS.flatMap((c, ci) => c.machines.map((m) => ({ name: m, clusterId: ci + 1 })));
  const machine = machineList.map((m, i) => ({ id: i + 1, hostname: m.name, ip: reservedAddress(t.net, 202, i), cluster_id: m.clusterId, status: m.name === 'pangu-ctl-03' ? 'error' : 'good' }));
  const sr_instance: SeedRow[] = [];
  const app_instance: SeedRow[] = [];
  for (const c of TJ_CLUSTERS) {
    for (const [roleName, hosts] of Object.entries(c.placement)) {
      const roleId = roles.findIndex((r) => r.name === roleName) + 1;
      for (const host of hosts) {
        const srId = sr_instance.length + 1;
        const broken = host === 'pangu-ctl-03';
        sr_instance.push({ id: srId, machine_id: machineList.findIndex((m) => m.name === host) + 1, server_role_id: roleId, status: broken ? 'error' : 'good', version: '3.12.0' });
        const missing = TJ_MISSING_APPS[`${host}/${roleName}`] ?? [];
        for (const a of apps.filter((x) => x.roleId === roleId && !missing.includes(x.name))) {
          app_instance.push({ id: app_instance.length + 1, sr_instance_id: srId, application_id: apps.indexOf(a) + 1, status: broken ? 'error' : 'running' });
        }
      }
    }
  }
  return [
    { table: 'product', rows: product },
    { table: 'tj_cluster', rows: tj_cluster },
    { table: 'service', rows: service },
    { table: 'cluster_service', rows: cluster_service },
    { table: 'server_role', rows: server_role },
    { table: 'application', rows: application },
    { table: 'machine', rows: machine },
    { table: 'sr_instance', rows: sr_instance },
    { table: 'app_instance', rows: app_instance },
  ];
}

const DEVICES = ['sdb', 'sdc', 'sdd', 'sde'];

function panguRows(t: Topology, now: Date): SeedTable[] {
  const pangu_cluster = [
    { id: 1, name: 'pangu-hz-a', replica_count: 3, max_offline_disks_per_cs: 2 },
    { id: 2, name: 'pangu-hz-b', replica_count: 3, max_offline_disks_per_cs: 2 },
  ];
  const csNames = ['cs-a01', 'cs-a02', 'cs-a03', 'cs-a04', 'cs-a05', 'cs-b01', 'cs-b02', 'cs-b03', 'cs-b04'];
  const chunkserver = csNames.map((name, i) => ({
    id: i + 1,
    hostname: name,
    ip: reservedAddress(t.net, 203, i),
    cluster_id: name.startsWith('cs-a') ? 1 : 2,
    status: name === 'cs-b02' ? 'abnormal' : 'normal',
    last_heartbeat: new Date(now.getTime() - (name === 'cs-b02' ? 900_000 : (i + 1) * 1000)),
  }));
  const special: Record<string, { status: string; error_count: number; offline_reason: string | null }> = {
    'cs-a05:sdb': { status: 'offline', error_count: 112, offline_reason: 'media errors; waiting for replacement' },
    'cs-a05:sdc': { status: 'offline', error_count: 64, offline_reason: 'SMART pre-fail; waiting for replacement' },
    'cs-b02:sdc': { status: 'error', error_count: 37, offline_reason: null },
    'cs-b04:sdd': { status: 'replacing', error_count: 0, offline_reason: 'new disk being filled' },
  };
  const disk = csNames.flatMap((cs, ci) =>
    DEVICES.map((dev, di) => {
      const s = special[`${cs}:${dev}`];
      return { id: ci * DEVICES.length + di + 1, chunkserver_id: ci + 1, device: dev, status: s?.status ?? 'ok', capacity_gb: 3726, used_gb: 0, error_count: s?.error_count ?? 0, offline_reason: s?.offline_reason ?? null };
    }),
  );
  const diskId = (cs: string, dev: string): number => csNames.indexOf(cs) * DEVICES.length + DEVICES.indexOf(dev) + 1;
  const chunk: SeedRow[] = [];
  const chunk_replica: SeedRow[] = [];
  const addChunk = (clusterId: number, file: string, replicas: Array<[string, string]>): void => {
    const id = chunk.length + 1;
    chunk.push({ id, cluster_id: clusterId, file_name: file, size_mb: 64 });
    for (const [cs, dev] of replicas) chunk_replica.push({ chunk_id: id, disk_id: diskId(cs, dev) });
  };
  // pangu-hz-a: chunk k on cs-a01/a02/a03, devices rotating, so chunk 1 sits on cs-a01:sdb.
  for (let k = 0; k < 12; k++) {
    addChunk(1, `/oss/bucket-logs/2024/part-${String(k + 1).padStart(5, '0')}`, [
      ['cs-a01', DEVICES[k % 4]!],
      ['cs-a02', DEVICES[(k + 1) % 4]!],
      ['cs-a03', DEVICES[(k + 2) % 4]!],
    ]);
  }
  // pangu-hz-b: the first two chunks have a replica on the failed disk cs-b02:sdc.
  for (let k = 0; k < 8; k++) {
    const second: [string, string] = k < 2 ? ['cs-b02', 'sdc'] : ['cs-b03', DEVICES[(k + 1) % 4]!];
    addChunk(2, `/oss/bucket-images/obj-${String(k + 1).padStart(5, '0')}`, [['cs-b01', DEVICES[k % 4]!], second, ['cs-b04', k % 4 === 2 ? 'sde' : DEVICES[k % 4]!]]);
  }
  for (const r of chunk_replica) {
    const d = disk[(r.disk_id as number) - 1]!;
    d.used_gb += 64;
  }
  return [
    { table: 'pangu_cluster', rows: pangu_cluster },
    { table: 'chunkserver', rows: chunkserver },
    { table: 'disk', rows: disk },
    { table: 'chunk', rows: chunk },
    { table: 'chunk_replica', rows: chunk_replica },
  ];
}

const VSWITCH_CIDRS: Record<string, [string, string]> = {
  'prod-core': ['172.16.1.0/24', '172.16.2.0/24'],
  'prod-data': ['10.1.0.0/16', '10.2.0.0/16'],
  staging: ['192.168.1.0/24', '192.168.2.0/24'],
};

function vpcRows(t: Topology): SeedTable[] {
  const vpc = t.vpcs.map((v, i) => ({ id: i + 1, vpc_id: v.vpcId, name: v.name, cidr: v.cidr, tunnel_id: v.tunnelId, region: t.region, status: 'available' }));
  const vswitch = t.vpcs.flatMap((v) =>
    t.zones.map((z, zi) => ({ vswitch_id: `vsw-bp1${stableHex(`vsw:${v.vpcId}:${z.name}`, 17)}`, vpc_id: v.vpcId, zone: z.name, cidr: VSWITCH_CIDRS[v.name]![zi]! })),
  ).map((s, i) => ({ id: i + 1, ...s }));
  const routes: Array<{ vpc_id: string; dst_cidr: string; next_hop: string; kind: string; description: string }> = [];
  for (const s of vswitch) {
    // A vswitch's system route points at its gateway, the CIDR's .253.
    const gw = s.cidr.replace(/\.\d+\/\d+$/, '.253');
    routes.push({ vpc_id: s.vpc_id, dst_cidr: s.cidr, next_hop: gw, kind: 'system', description: `system route of ${s.vswitch_id}` });
  }
  t.vpcs.slice(0, 2).forEach((v, i) => routes.push({ vpc_id: v.vpcId, dst_cidr: '0.0.0.0/0', next_hop: reservedAddress(t.net, 204, i), kind: 'custom', description: `default route via ${natgwId(v.vpcId)}` }));
  const gatewayVm = t.vms.find((v) => v.vpcId === t.vpcs[0]!.vpcId);
  if (gatewayVm) routes.push({ vpc_id: t.vpcs[0]!.vpcId, dst_cidr: '10.200.0.0/16', next_hop: gatewayVm.address, kind: 'custom', description: `IDC VPN via ECS ${gatewayVm.name}` });
  const route_entry = routes.map((r, i) => ({ id: i + 1, route_id: `rte-bp1${stableHex(`rte:${r.vpc_id}:${r.dst_cidr}`, 17)}`, ...r }));
  return [
    { table: 'vpc', rows: vpc },
    { table: 'vswitch', rows: vswitch },
    { table: 'route_entry', rows: route_entry },
  ];
}
