import type { Db } from '../remote/mysql.js';
import { DataError, UnavailableError, UsageError } from '../core/errors.js';
import type { InstanceTable } from './instance-tables.js';

// A VPC instance's network: the VPC and vswitch come from the vpc database (go2vpc); its
// addresses (the SLB VIP, the custins mapping address) are taken from the vswitch's CIDR,
// skipping the network, gateway (.1) and broadcast addresses and every address in use.

export interface VswitchInfo {
  vpc_id: string;
  vswitch_id: string;
  zone: string;
  cidr: string;
  tunnel_id: number;
}

export async function findVswitch(vpc: Db, vpcId: string, vswitchId: string, zone?: string): Promise<VswitchInfo> {
  const v = await vpc.query<{ vpc_id: string; tunnel_id: number; status: string }>('SELECT vpc_id, tunnel_id, status FROM vpc WHERE vpc_id = ?', [vpcId]);
  if (!v[0] || v[0].status === 'deleted') throw new UsageError(`--vpc-id ${vpcId}: no such VPC in the vpc database`);
  if (v[0].status !== 'available') throw new UsageError(`--vpc-id ${vpcId}: VPC is ${v[0].status}`);
  const sw = await vpc.query<{ vswitch_id: string; zone: string; cidr: string }>('SELECT vswitch_id, zone, cidr FROM vswitch WHERE vpc_id = ? ORDER BY vswitch_id', [vpcId]);
  const hit = sw.find((s) => s.vswitch_id === vswitchId);
  if (!hit) throw new UsageError(`--vswitch-id ${vswitchId}: not a vswitch of ${vpcId} (valid: ${sw.map((s) => s.vswitch_id).join(', ') || 'none'})`);
  if (zone !== undefined && hit.zone !== zone) throw new UsageError(`--vswitch-id ${vswitchId} is in zone ${hit.zone}, not ${zone}`);
  return { vpc_id: vpcId, vswitch_id: hit.vswitch_id, zone: hit.zone, cidr: hit.cidr, tunnel_id: v[0].tunnel_id };
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** The first usable address of `cidr` not in `used` (network, .1 gateway and broadcast excluded). */
export function firstFreeAddress(cidr: string, used: Set<string>): string {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new DataError(`vswitch CIDR "${cidr}" is not IPv4 a.b.c.d/n`);
  const bits = Number(m[2]);
  if (bits > 29) throw new UnavailableError(`vswitch CIDR ${cidr} is too small for instance addresses`);
  const size = 2 ** (32 - bits);
  const base = ipToInt(m[1]!) - (ipToInt(m[1]!) % size);
  for (let i = 2; i < size - 1; i++) {
    const ip = intToIp(base + i);
    if (!used.has(ip)) return ip;
  }
  throw new UnavailableError(`vswitch CIDR ${cidr} has no free address left`);
}

/** Addresses of the VPC already given to instances (SLB VIPs and mapping addresses), locked for the caller's transaction. */
export async function usedVpcAddresses(tx: Db, vpcId: string): Promise<Set<string>> {
  const a = await tx.query<{ vip: string }>("SELECT vip FROM custins_slb WHERE vpc_id = ? AND status <> 'deleted' FOR UPDATE", [vpcId]);
  const b = await tx.query<{ vip: string }>('SELECT vip FROM vpc_custins_mapping WHERE vpc_id = ? AND live_key = 1 FOR UPDATE', [vpcId]);
  return new Set([...a, ...b].map((r) => r.vip));
}

// --- Writers of custins_slb and vpc_custins_mapping (the install flow's) ---

export const SLB_TABLE: InstanceTable = { table: 'custins_slb', release: "UPDATE custins_slb SET status = 'deleted' WHERE custins_id = ?" };
export const VPC_MAPPING_TABLE: InstanceTable = { table: 'vpc_custins_mapping', release: 'UPDATE vpc_custins_mapping SET live_key = NULL WHERE custins_id = ?' };

/** The instance's SLB VIP, if it has a live SLB record. */
export async function slbVip(tx: Db, custinsId: number): Promise<string | undefined> {
  return (await tx.query<{ vip: string }>("SELECT vip FROM custins_slb WHERE custins_id = ? AND status <> 'deleted'", [custinsId]))[0]?.vip;
}

export async function upsertSlb(tx: Db, custinsId: number, s: { slbId: string; vip: string; vport: number; vpcId: string; vswitchId: string }): Promise<void> {
  await tx.execute(
    `INSERT INTO custins_slb (custins_id, slb_id, vip, vport, vpc_id, vswitch_id, nglb, status) VALUES (?, ?, ?, ?, ?, ?, 0, 'active')
         ON DUPLICATE KEY UPDATE slb_id = VALUES(slb_id), vip = VALUES(vip), vport = VALUES(vport), vpc_id = VALUES(vpc_id), vswitch_id = VALUES(vswitch_id), status = 'active'`,
    [custinsId, s.slbId, s.vip, s.vport, s.vpcId, s.vswitchId],
  );
}

/** Put the instance's SLB on NGLB; false when it has no live SLB record. */
export async function switchSlbToNglb(tx: Db, custinsId: number): Promise<boolean> {
  return (await tx.execute("UPDATE custins_slb SET nglb = 1 WHERE custins_id = ? AND status <> 'deleted'", [custinsId])).affectedRows > 0;
}

/** The instance's live VPC mapping address, if any. */
export async function mappingVip(tx: Db, custinsId: number): Promise<string | undefined> {
  return (await tx.query<{ vip: string }>('SELECT vip FROM vpc_custins_mapping WHERE custins_id = ? AND live_key = 1', [custinsId]))[0]?.vip;
}

export async function replaceMapping(tx: Db, custinsId: number, m: { vpcId: string; vswitchId: string; tunnelId: string | number; vip: string; vport: number; targetIp: string; targetPort: number }): Promise<void> {
  await tx.execute(
    `REPLACE INTO vpc_custins_mapping (custins_id, vpc_id, vswitch_id, tunnel_id, vip, vport, target_ip, target_port, live_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`,
    [custinsId, m.vpcId, m.vswitchId, m.tunnelId, m.vip, m.vport, m.targetIp, m.targetPort],
  );
}
