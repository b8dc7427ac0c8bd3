import { createHash } from 'node:crypto';

// The lab region's inventory: which hosts exist, their names, their loopback addresses and how
// VMs are placed on NCs. Pure and deterministic: the same sizes and net always give the same
// region, so the seed rows (seed.ts), the sshd units and the host roots agree with each other.
//
// Address scheme inside the lab's net 127.X (each lab has its own X, so two labs never clash):
//   127.X.1.1 …          NCs, 250 per third octet (NC i → 127.X.(1 + ⌊i/250⌋).(1 + i mod 250))
//   next octet …         VMs, 250 per octet, starting at the octet after the NCs'
//                        (12 NCs → VMs at 127.X.2.1 …; 300 NCs → VMs at 127.X.3.1 …)
//   127.X.200.N          SLB lb_node (LVS) hosts        127.X.201.N  SLB proxy (Tengine / keyserver)
//   127.X.202.N          Tianji machines (metadata only) 127.X.203.N  Pangu chunkservers (metadata only)
//   127.X.204.N          NAT gateways (metadata only)    127.X.210.N  SLB VIPs (metadata only)
//   127.X.206.N          backup store hosts (bak-01: backup sets and archived binlogs under /backup)
// NCs and VMs together must fit below 127.X.200 (≤ 199 octets).

export const REGION = 'cn-hangzhou';
export const HOSTS_PER_OCTET = 250;

export type NcStatus = 'online' | 'offline' | 'maintain' | 'locked';
export type VmStatus = 'running' | 'stopped';
export type NodeStatus = 'online' | 'offline' | 'maintain';
/** Kinds of host the lab serves over SSH. */
export type HostKind = 'nc' | 'vm' | 'lb_node' | 'proxy' | 'backup';

export interface TopologyInput {
  ncs: number;
  vms: number;
  /** "127.77" */
  net: string;
  sshPort: number;
  /** Digits in NC names; a fleet lab names its NCs for the whole fleet (nc-a0001 … nc-a5000). */
  nameWidth?: number;
}

export interface Zone {
  name: string;
  /** The zone's letter in names: a, b. */
  letter: string;
}

export interface Cluster {
  name: string;
  zone: string;
  usage: 'rds' | 'ecs';
}

export interface Nc {
  hostname: string;
  address: string;
  sn: string;
  zone: string;
  cluster: string;
  usage: 'rds' | 'ecs';
  status: NcStatus;
  lockReason: string | null;
  cpuTotal: number;
  memTotalMb: number;
  diskTotalGb: number;
}

export interface Vm {
  name: string;
  instanceId: string;
  nc: string;
  address: string;
  status: VmStatus;
  vcpu: number;
  memMb: number;
  image: string;
  vpcId: string;
  /** The libvirt domain id virsh shows while it runs. */
  domId: number;
  uuid: string;
}

export interface SlbNode {
  /** Lab host name (directory and sshd unit); the metadb knows the node by its address. */
  name: string;
  address: string;
  status: NodeStatus;
  cluster: string;
}

export interface LbNode extends SlbNode {
  role: 'master' | 'backup';
  vip: string;
}

export interface Proxy extends SlbNode {
  kind: 'tengine' | 'keyserver';
}

/** A backup store: an SSH host holding backup sets and archived binlogs (issue 12). */
export interface BackupHost {
  name: string;
  address: string;
  /** Where sets and binlogs live on it. */
  dir: string;
}

export const BACKUP_STORE_DIR = '/backup';

export interface Vpc {
  vpcId: string;
  name: string;
  cidr: string;
  tunnelId: number;
}

export interface Topology {
  net: string;
  sshPort: number;
  region: string;
  zones: Zone[];
  clusters: Cluster[];
  ncs: Nc[];
  vms: Vm[];
  lbNodes: LbNode[];
  proxies: Proxy[];
  backupHosts: BackupHost[];
  vpcs: Vpc[];
}

/** One host the lab can serve over SSH, whatever its kind. */
export interface LabHostSpec {
  name: string;
  kind: HostKind;
  address: string;
  /** VMs only: the NC the VM runs on. */
  nc?: string;
}

export const NET_RE = /^127\.(\d{1,3})$/;

function addressAt(net: string, firstOctet: number, i: number): string {
  return `${net}.${firstOctet + Math.floor(i / HOSTS_PER_OCTET)}.${1 + (i % HOSTS_PER_OCTET)}`;
}

export function ncAddress(net: string, i: number): string {
  return addressAt(net, 1, i);
}

export function vmAddress(net: string, ncs: number, j: number): string {
  return addressAt(net, 1 + Math.ceil(ncs / HOSTS_PER_OCTET), j);
}

export function reservedAddress(net: string, octet: number, i: number): string {
  return `${net}.${octet}.${i + 1}`;
}

/** Stable pseudo-random hex from a label: ids look real but never change between runs. */
export function stableHex(label: string, len: number): string {
  let out = '';
  for (let n = 0; out.length < len; n++) out += createHash('sha1').update(`${label}#${n}`).digest('hex');
  return out.slice(0, len);
}

function stableUuid(label: string): string {
  const h = stableHex(label, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export const IMAGES = [
  'centos_7_9_x64_20G_alibase_20230718.vhd',
  'ubuntu_22_04_x64_20G_alibase_20230815.vhd',
  'aliyun_3_x64_20G_alibase_20230727.vhd',
  'debian_12_x64_20G_alibase_20230925.vhd',
];
export const VM_SHAPES: Array<{ vcpu: number; memMb: number }> = [
  { vcpu: 1, memMb: 2048 },
  { vcpu: 2, memMb: 4096 },
  { vcpu: 2, memMb: 8192 },
  { vcpu: 4, memMb: 16384 },
];

export function buildTopology(input: TopologyInput): Topology {
  const { ncs: ncCount, vms: vmCount, net, sshPort } = input;
  const zones: Zone[] = [
    { name: `${REGION}-a`, letter: 'a' },
    { name: `${REGION}-b`, letter: 'b' },
  ];
  const clusters: Cluster[] = zones.flatMap((z) => [
    { name: `hz${z.letter}-rds-01`, zone: z.name, usage: 'rds' as const },
    { name: `hz${z.letter}-ecs-01`, zone: z.name, usage: 'ecs' as const },
  ]);
  const vpcs: Vpc[] = [
    { name: 'prod-core', cidr: '172.16.0.0/12', tunnelId: 1001 },
    { name: 'prod-data', cidr: '10.0.0.0/8', tunnelId: 1002 },
    { name: 'staging', cidr: '192.168.0.0/16', tunnelId: 1003 },
  ].map((v) => ({ ...v, vpcId: `vpc-bp1${stableHex(`vpc:${v.name}`, 17)}` }));

  // NCs: names nc-a01 … (one sequence, so `nc-a[01-12]` names them all), the first half in zone a.
  // In each zone the first half are RDS hosts and the rest ECS hosts.
  const width = input.nameWidth ?? Math.max(2, String(ncCount).length);
  const perZone = [Math.ceil(ncCount / 2), ncCount - Math.ceil(ncCount / 2)];
  const ncs: Nc[] = [];
  zones.forEach((z, zi) => {
    const k = perZone[zi]!;
    const rds = Math.ceil(k / 2);
    for (let m = 0; m < k; m++) {
      const i = ncs.length;
      const usage = m < rds ? 'rds' : 'ecs';
      ncs.push({
        hostname: `nc-a${pad(i + 1, width)}`,
        address: ncAddress(net, i),
        sn: `2102${z.letter.toUpperCase()}${stableHex(`sn:${i}`, 8).toUpperCase()}`,
        zone: z.name,
        cluster: `hz${z.letter}-${usage}-01`,
        usage,
        status: 'online',
        lockReason: null,
        cpuTotal: usage === 'rds' ? 64 : 96,
        memTotalMb: usage === 'rds' ? 262144 : 393216,
        diskTotalGb: usage === 'rds' ? 7200 : 3600,
      });
    }
  });
  // A few NCs out of service, only where the zone keeps enough of its kind:
  //   zone a's last ECS NC locked, zone b's last ECS NC offline (its VMs are all stopped),
  //   zone b's last RDS NC in maintenance when the zone has at least three.
  const inZone = (zone: string, usage: 'rds' | 'ecs'): Nc[] => ncs.filter((n) => n.zone === zone && n.usage === usage);
  const ecsA = inZone(zones[0]!.name, 'ecs');
  const ecsB = inZone(zones[1]!.name, 'ecs');
  const rdsB = inZone(zones[1]!.name, 'rds');
  if (ecsA.length >= 2) Object.assign(ecsA[ecsA.length - 1]!, { status: 'locked', lockReason: 'disk SMART warning, waiting for replacement' });
  if (ecsB.length >= 2) ecsB[ecsB.length - 1]!.status = 'offline';
  if (rdsB.length >= 3) rdsB[rdsB.length - 1]!.status = 'maintain';

  // VMs round-robin over the ECS NCs; every fifth VM is stopped, and so is every VM on an offline NC.
  const ecsNcs = ncs.filter((n) => n.usage === 'ecs');
  const vmWidth = Math.max(3, String(vmCount).length);
  const perNc = new Map<string, number>();
  const vms: Vm[] = [];
  for (let j = 0; j < vmCount; j++) {
    const nc = ecsNcs[j % ecsNcs.length]!;
    const shape = VM_SHAPES[j % VM_SHAPES.length]!;
    const name = `vm-${pad(j + 1, vmWidth)}`;
    const domId = (perNc.get(nc.hostname) ?? 0) + 1;
    perNc.set(nc.hostname, domId);
    vms.push({
      name,
      instanceId: `i-bp1${stableHex(`vm:${name}`, 17)}`,
      nc: nc.hostname,
      address: vmAddress(net, ncCount, j),
      status: nc.status === 'offline' || (j + 1) % 5 === 0 ? 'stopped' : 'running',
      vcpu: shape.vcpu,
      memMb: shape.memMb,
      image: IMAGES[j % IMAGES.length]!,
      vpcId: vpcs[j % vpcs.length]!.vpcId,
      domId,
      uuid: stableUuid(`vm:${name}`),
    });
  }
  // Capacity follows placement, so a large --vms never overcommits an NC on paper.
  for (const nc of ecsNcs) {
    const mine = vms.filter((v) => v.nc === nc.hostname);
    const cpu = mine.reduce((s, v) => s + v.vcpu, 0);
    const mem = mine.reduce((s, v) => s + v.memMb, 0);
    nc.cpuTotal = Math.max(nc.cpuTotal, Math.ceil(cpu / 32) * 32);
    nc.memTotalMb = Math.max(nc.memTotalMb, Math.ceil(mem / 131072) * 131072);
  }

  // SLB: eight LVS nodes in two clusters (master/backup pairs sharing a VIP), six proxies.
  const lbStatus: NodeStatus[] = ['online', 'online', 'online', 'offline', 'online', 'online', 'maintain', 'online'];
  const lbNodes: LbNode[] = lbStatus.map((status, k) => ({
    name: `lvs-${pad(k + 1, 2)}`,
    address: reservedAddress(net, 200, k),
    status,
    cluster: k < 4 ? 'slb-hza-01' : 'slb-hzb-01',
    role: k % 2 === 0 ? 'master' : 'backup',
    vip: reservedAddress(net, 210, Math.floor(k / 2)),
  }));
  const proxyStatus: NodeStatus[] = ['online', 'online', 'offline', 'online', 'online', 'online'];
  const proxies: Proxy[] = proxyStatus.map((status, k) => ({
    name: `proxy-${pad(k + 1, 2)}`,
    address: reservedAddress(net, 201, k),
    status,
    cluster: k < 3 ? 'slb-hza-01' : 'slb-hzb-01',
    kind: k % 3 === 2 ? 'keyserver' : 'tengine',
  }));

  const backupHosts: BackupHost[] = [{ name: 'bak-01', address: reservedAddress(net, 206, 0), dir: BACKUP_STORE_DIR }];

  return { net, sshPort, region: REGION, zones, clusters, ncs, vms, lbNodes, proxies, backupHosts, vpcs };
}

/**
 * Every host the lab knows over SSH (NCs, VMs, SLB nodes), whether or not it is served now.
 * known_hosts lists all of them; which ones run is decided by `servedByDefault` and the metadb.
 */
export function labHosts(t: Topology): LabHostSpec[] {
  return [
    ...t.ncs.map((n) => ({ name: n.hostname, kind: 'nc' as const, address: n.address })),
    ...t.vms.map((v) => ({ name: v.name, kind: 'vm' as const, address: v.address, nc: v.nc })),
    ...t.lbNodes.map((n) => ({ name: n.name, kind: 'lb_node' as const, address: n.address })),
    ...t.proxies.map((n) => ({ name: n.name, kind: 'proxy' as const, address: n.address })),
    ...t.backupHosts.map((b) => ({ name: b.name, kind: 'backup' as const, address: b.address })),
  ];
}

/**
 * Hosts the lab keeps up on its own: every NC and backup store, and the SLB nodes the metadb says are online (so
 * `lb_node status --live` finds reality and metadb agreeing until someone stops one). VMs follow
 * their metadb status instead and are started or stopped by the virsh stand-in.
 */
export function alwaysServed(t: Topology): LabHostSpec[] {
  const online = new Set([...t.lbNodes, ...t.proxies].filter((n) => n.status === 'online').map((n) => n.name));
  return labHosts(t).filter((h) => h.kind === 'nc' || h.kind === 'backup' || online.has(h.name));
}
