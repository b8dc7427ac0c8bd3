import { bad } from './domain.js';
import { commentText } from './mycnf.js';
import type { Db } from '../remote/mysql.js';
import type { InstanceTable } from './instance-tables.js';

// Instance whitelists: rows in custins_whitelist, "flushed" to the NC as an iptables-restore
// file with one chain per instance port. Loading that file into netfilter is the NC agent's job;
// rdsctl writes it and never touches the kernel's tables (lab NCs share the jump host's kernel).

export interface WhitelistGroup {
  group_name: string;
  group_type: 'admin' | 'user' | 'ecs_sg';
  ips: string;
}

export function toCidr(entry: string): string {
  return entry.includes('/') ? entry : `${entry}/32`;
}

export function renderRules(insName: string, port: number, groups: WhitelistGroup[]): string {
  const chain = `RDS-${port}`;
  const lines = [commentText(`# whitelist of ${insName} (port ${port}), rendered by rdsctl from dbaas.custins_whitelist`), '*filter', `:${chain} - [0:0]`];
  for (const g of [...groups].sort((a, b) => a.group_type.localeCompare(b.group_type) || a.group_name.localeCompare(b.group_name))) {
    const ref = { table: 'dbaas.custins_whitelist', key: `group_name=${JSON.stringify(g.group_name)}` };
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(g.group_name)) bad(ref, 'group_name', g.group_name, 'a plain group name');
    if (!['admin', 'user', 'ecs_sg'].includes(g.group_type)) bad(ref, 'group_type', g.group_type, 'admin, user or ecs_sg');
    for (const ip of g.ips.split(',').filter(Boolean)) {
      const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(ip);
      if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] !== undefined && Number(m[5]) > 32)) bad(ref, 'ips', g.ips, 'a comma list of IPv4 addresses or CIDRs');
      lines.push(`-A ${chain} -s ${toCidr(ip)} -p tcp --dport ${port} -m comment --comment ${g.group_type}:${g.group_name} -j ACCEPT`);
    }
  }
  lines.push(`-A ${chain} -p tcp --dport ${port} -j DROP`, 'COMMIT', '');
  return lines.join('\n');
}

// --- Writers of custins_whitelist and rds_ecs_sg_rel (the install flow's) ---

export const WHITELIST_TABLE: InstanceTable = { table: 'custins_whitelist', release: 'DELETE FROM custins_whitelist WHERE custins_id = ?' };
export const ECS_SG_TABLE: InstanceTable = { table: 'rds_ecs_sg_rel', release: 'DELETE FROM rds_ecs_sg_rel WHERE custins_id = ?' };

export async function whitelistGroups(db: Db, custinsId: number): Promise<WhitelistGroup[]> {
  return db.query<WhitelistGroup>('SELECT group_name, group_type, ips FROM custins_whitelist WHERE custins_id = ? ORDER BY group_name', [custinsId]);
}

export async function upsertWhitelistGroup(tx: Db, custinsId: number, g: { name: string; type: WhitelistGroup['group_type']; ips: string[] }): Promise<void> {
  await tx.execute('INSERT INTO custins_whitelist (custins_id, group_name, group_type, ips) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE group_type = VALUES(group_type), ips = VALUES(ips)', [custinsId, g.name, g.type, g.ips.join(',')]);
}

export async function addEcsSecurityGroup(tx: Db, custinsId: number, sg: string): Promise<void> {
  await tx.execute('INSERT IGNORE INTO rds_ecs_sg_rel (custins_id, ecs_sg_id) VALUES (?, ?)', [custinsId, sg]);
}
