import { DataError } from '../core/errors.js';

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
  const lines = [`# whitelist of ${insName} (port ${port}), rendered by rdsctl from dbaas.custins_whitelist`, '*filter', `:${chain} - [0:0]`];
  for (const g of [...groups].sort((a, b) => a.group_type.localeCompare(b.group_type) || a.group_name.localeCompare(b.group_name))) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(g.group_name)) throw new DataError(`whitelist group name "${g.group_name}" is not plain`);
    for (const ip of g.ips.split(',').filter(Boolean)) {
      if (!/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(ip)) throw new DataError(`whitelist group ${g.group_name}: "${ip}" is not an IPv4 address or CIDR`);
      lines.push(`-A ${chain} -s ${toCidr(ip)} -p tcp --dport ${port} -m comment --comment ${g.group_type}:${g.group_name} -j ACCEPT`);
    }
  }
  lines.push(`-A ${chain} -p tcp --dport ${port} -j DROP`, 'COMMIT', '');
  return lines.join('\n');
}
