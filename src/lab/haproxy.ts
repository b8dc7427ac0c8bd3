import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { UnavailableError } from '../core/errors.js';
import { createDb } from '../remote/mysql.js';
import { haproxyArgv, haproxyLayout, renderBaseConfig, type HaproxyLayout } from '../ha/haproxy.js';
import { which } from './binaries.js';
import { hostsDir } from './hosts.js';
import type { Secrets } from './mariadb.js';
import type { Topology } from './topology.js';

// The lab's RDS proxy layer: HAProxy on every online Tengine proxy host (proxy-01, …), started
// and stopped with the lab like its sshd. Each starts with the base config and no route; the
// install flow's do_create_rds_data_route adds the routes (src/ha/haproxy.ts). The hosts are
// registered in dbaas.rds_proxy_node, as a production proxy layer registers itself.

export interface LabProxyHost {
  name: string;
  address: string;
  layout: HaproxyLayout;
}

export function labProxyHosts(labDir: string, t: Topology): LabProxyHost[] {
  const profile = { host_root: path.join(hostsDir(labDir), '{host}') };
  return t.proxies.filter((p) => p.status === 'online' && p.kind === 'tengine').map((p) => ({ name: p.name, address: p.address, layout: haproxyLayout(profile, p.name) }));
}

export function haproxyBinary(env: NodeJS.ProcessEnv): string {
  const b = which(['haproxy'], env);
  if (!b) throw new UnavailableError('lab up: not installed: HAProxy (haproxy)', { hint: 'apt-get install -y haproxy socat, or run scripts/setup' });
  return b;
}

/** The master's pid when this proxy's HAProxy runs (pid file and a live process that is HAProxy). */
export function haproxyPid(h: LabProxyHost): number | undefined {
  try {
    const pid = Number(fs.readFileSync(h.layout.pidFile, 'utf8').trim().split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('haproxy') && cmd.includes(h.layout.baseConfig) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Start HAProxy on the host unless it runs; returns the master's pid. The base config is rewritten each time. */
export async function startLabHaproxy(bin: string, h: LabProxyHost): Promise<{ pid: number; started: boolean }> {
  const l = h.layout;
  for (const d of [l.dir, l.routesDir, l.runDir]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  fs.writeFileSync(l.baseConfig, renderBaseConfig(l, h.name), { mode: 0o644 });
  const running = haproxyPid(h);
  if (running) return { pid: running, started: false };
  for (const s of [l.statsSocket, l.masterSocket, l.pidFile]) fs.rmSync(s, { force: true });
  await new Promise<void>((resolve, reject) =>
    execFile(bin, haproxyArgv(l), { timeout: 20000 }, (err, _out, stderr) => (err ? reject(new UnavailableError(`lab up: HAProxy on ${h.name} did not start: ${String(stderr).trim().split('\n').pop() ?? err.message}`)) : resolve())),
  );
  const deadline = Date.now() + 10000;
  for (;;) {
    const pid = haproxyPid(h);
    if (pid && fs.existsSync(l.statsSocket)) return { pid, started: true };
    if (Date.now() > deadline) throw new UnavailableError(`lab up: HAProxy on ${h.name} wrote no pid file or stats socket within 10s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Record the proxy hosts in dbaas.rds_proxy_node (idempotent). */
export async function registerLabProxies(port: number, s: Secrets, hosts: LabProxyHost[], sshPort: number): Promise<void> {
  if (!hosts.length) return;
  const db = createDb('dbaas', { dsn: `mysql://${s.mariadb_user}@127.0.0.1:${port}/dbaas`, password: s.mariadb_password }, { connectionLimit: 1 });
  try {
    await db.execute(
      "INSERT INTO rds_proxy_node (hostname, ip, ssh_port, status) VALUES ? ON DUPLICATE KEY UPDATE ip = VALUES(ip), ssh_port = VALUES(ssh_port), status = 'online'",
      [hosts.map((h) => [h.name, h.address, sshPort, 'online'])],
    );
  } finally {
    await db.close();
  }
}
