import { hostLayout } from '../../rds/layout.js';
import type { PlanNode } from '../types.js';
import { INSTALL_FLOW } from './index.js';

// What `instance create --dry-run` shows of the install flow: every one of its entries with the
// hosts it acts on and, for the steps that change the NCs, what they would run there.

export interface PlannedStep {
  seq: number;
  name: string;
  role: string;
  hosts: string[];
  effect: string;
  skip_rule: string | null;
  remote: Array<{ host: string; command: string }>;
}

export interface PlanHost {
  hostname: string;
  ip: string;
}

export function installPlan(i: { insName: string; timeZone: string; port: number; master: PlanHost; slave: PlanHost }): PlannedStep[] {
  const node = (role: 'master' | 'slave', h: PlanHost): PlanNode => ({ role, host: h.hostname, ip: h.ip, port: i.port, layout: hostLayout(i.port) });
  const master = node('master', i.master);
  const slave = node('slave', i.slave);
  return INSTALL_FLOW.map((s, k) => {
    const nodes = s.role === 'master' ? [master] : s.role === 'slave' ? [slave] : s.role === 'both' ? [master, slave] : [];
    const remote = s.plan ? nodes.flatMap((n) => s.plan!(n, { insName: i.insName, timeZone: i.timeZone, peer: n === master ? slave : master }).map((command) => ({ host: n.host, command }))) : [];
    return { seq: k + 1, name: s.name, role: s.role, hosts: nodes.length ? nodes.map((n) => n.host) : ['metadb'], effect: s.effect, skip_rule: s.skipRule ?? null, remote };
  });
}
