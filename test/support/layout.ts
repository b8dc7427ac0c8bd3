import { hostLayout, type HostLayout } from '../../src/rds/layout.js';

/**
 * hostLayout(port) with every path moved under dir: where the jump host sees an instance's files
 * on a lab NC's disk (dir = the NC's disk), or a scratch directory for running the host scripts
 * on this machine without touching its own /mysqldata and /etc.
 */
export function layoutUnder(dir: string, port: number): HostLayout {
  const under = (v: unknown): unknown =>
    typeof v === 'string' ? dir + v : Array.isArray(v) ? v.map((x: string) => dir + x) : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, under(x)])) : v;
  const entries = Object.entries(hostLayout(port)).map(([k, v]) => [k, under(v)]);
  return Object.fromEntries(entries) as HostLayout;
}
