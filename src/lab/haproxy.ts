import fs from 'node:fs';
import { UnavailableError } from '../core/errors.js';
import { createDb } from '../remote/mysql.js';
import { haproxyArgv, haproxyLayout, renderBaseConfig, type HaproxyLayout } from '../ha/haproxy.js';
import { which } from './binaries.js';
import { hostDiskPath } from './hosts.js';
import { hostExec } from './power.js';
import { sh } from '../remote/quote.js';
import type { Secrets } from './mariadb.js';
import type { LabHostSpec, Topology } from './topology.js';

// The lab's RDS proxy layer: HAProxy inside every online Tengine proxy host (proxy-01, …),
// started by lab up in the host (nsenter, power.ts) and ending with the host. Each starts with the base config and no route; the
// install flow's do_create_rds_data_route adds the routes (src/ha/haproxy.ts). The hosts are
// registered in dbaas.rds_proxy_node, as a production proxy layer registers itself.

export interface LabProxyHost {
  name: string;
  address: string;
  layout: HaproxyLayout;
}

export function labProxyHosts(t: Topology): LabProxyHost[] {
  return t.proxies.filter((p) => p.status === 'online' && p.kind === 'tengine').map((p) => ({ name: p.name, address: p.address, layout: haproxyLayout() }));
}

export function haproxyBinary(env: NodeJS.ProcessEnv): string {
  const b = which(['haproxy'], env);
  if (!b) throw new UnavailableError('lab up: not installed: HAProxy (haproxy)', { hint: 'apt-get install -y haproxy socat, or run scripts/setup' });
  return b;
}

/**
 * Start HAProxy inside the proxy host unless it runs there (the base config, written to the
 * host's disk, is rewritten each time). It daemonizes inside the host, so it lives and ends with
 * the host. Returns whether it was started now.
 */
export async function startLabHaproxy(labDir: string, bin: string, h: LabProxyHost, spec: LabHostSpec): Promise<{ started: boolean }> {
  const l = h.layout;
  for (const d of [l.dir, l.routesDir]) fs.mkdirSync(hostDiskPath(labDir, h.name, d), { recursive: true, mode: 0o755 });
  fs.writeFileSync(hostDiskPath(labDir, h.name, l.baseConfig), renderBaseConfig(l, h.name), { mode: 0o644 });
  const script =
    sh`mkdir -p ${l.runDir}; if p=$(head -n 1 ${l.pidFile} 2>/dev/null) && kill -0 "$p" 2>/dev/null && [ -S ${l.statsSocket} ]; then echo running; exit 0; fi; ` +
    sh`rm -f ${[l.statsSocket, l.masterSocket, l.pidFile]}; ${bin} ${haproxyArgv(l)} && ` +
    sh`for i in $(seq 1 200); do [ -S ${l.statsSocket} ] && [ -s ${l.pidFile} ] && { echo started; exit 0; }; sleep 0.05; done; echo "no pid file or stats socket within 10s" >&2; exit 1`;
  const r = await hostExec(labDir, spec, ['/bin/sh', '-c', script], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new UnavailableError(`lab up: HAProxy on ${h.name} did not start: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}`);
  return { started: r.stdout.trim() === 'started' };
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
