import type { Profile } from '../core/config.js';
import { RemoteError } from '../core/errors.js';
import { hostPath } from '../remote/paths.js';
import { sh } from '../remote/quote.js';
import type { SshPool } from '../remote/ssh-types.js';
import type { DataRoute, RouteDriver, RouteState, RouteTarget } from './route.js';

// The proxy layer as HAProxy on each proxy host, driven over SSH. One HAProxy per proxy host in
// master-worker mode: a base config plus one file per route in routes.d/ (HAProxy loads a
// directory's *.cfg files in order), a worker stats socket (level admin) and the master CLI.
//
// Two mechanisms, each where it is the only one that leaves other instances alone:
// - A new or removed route is a new or removed frontend, which HAProxy 2.6 cannot add at run
//   time: the route file is written, the whole config is checked (`haproxy -c`), and the master
//   is told to `reload`. That reload is seamless: the new worker takes the listening sockets
//   over from the old one (expose-fd listeners), and the old worker keeps serving the
//   connections it has until their clients close them (no hard-stop-after), so no other
//   instance's connection is cut.
// - Re-pointing a route (switchover, failover, fencing) only changes one server of one backend,
//   through the runtime API: `disable server`, `shutdown sessions server`, `set server … addr
//   … port …`, `enable server`. No process changes, it takes effect in microseconds, and only
//   sessions of that backend are closed. The route file is rewritten first, so a later reload
//   keeps the new target; old workers still draining an earlier reload are reached through the
//   master CLI (`@!<pid> show sess` / `shutdown session`) so none keeps a session to a fenced
//   server.

/** The seed-style paths of HAProxy on a proxy host (resolved per host by hostPath). */
export const HAPROXY_SEED_PATHS = {
  dir: '/etc/haproxy/rds',
  baseConfig: '/etc/haproxy/rds/haproxy.cfg',
  routesDir: '/etc/haproxy/rds/routes.d',
  runDir: '/run/haproxy',
  statsSocket: '/run/haproxy/rds.sock',
  masterSocket: '/run/haproxy/rds-master.sock',
  pidFile: '/run/haproxy/rds.pid',
};

export interface HaproxyLayout {
  dir: string;
  baseConfig: string;
  routesDir: string;
  runDir: string;
  statsSocket: string;
  masterSocket: string;
  pidFile: string;
}

export function haproxyLayout(profile: Pick<Profile, 'host_root'>, host: string): HaproxyLayout {
  const p = (x: string): string => hostPath(profile, host, x);
  const s = HAPROXY_SEED_PATHS;
  return { dir: p(s.dir), baseConfig: p(s.baseConfig), routesDir: p(s.routesDir), runDir: p(s.runDir), statsSocket: p(s.statsSocket), masterSocket: p(s.masterSocket), pidFile: p(s.pidFile) };
}

/** The command line that runs the proxy's HAProxy (the lab starts it so; a unit file does in production). */
export function haproxyArgv(l: HaproxyLayout): string[] {
  return ['-W', '-D', '-p', l.pidFile, '-S', `${l.masterSocket},mode,600`, '-f', l.baseConfig, '-f', l.routesDir];
}

export function renderBaseConfig(l: HaproxyLayout, host: string): string {
  return [
    `# HAProxy of proxy host ${safeComment(host)}: the RDS data routes. Written by rdsctl; one file per route in routes.d/.`,
    'global',
    `  stats socket ${l.statsSocket} mode 600 level admin expose-fd listeners`,
    `  pidfile ${l.pidFile}`,
    '  nbthread 1',
    '  maxconn 4000',
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    // MySQL's own idle limit (wait_timeout) decides when an idle session ends, not the proxy.
    '  timeout client 8h',
    '  timeout server 8h',
    '  option tcpka',
    '',
  ].join('\n');
}

export const backendName = (custinsId: number): string => `rds_${custinsId}`;
const SERVER = 'master';

function safeComment(s: string): string {
  return s.replace(/[^A-Za-z0-9_.:-]/g, '?');
}

function checkAddress(what: string, ip: string, port: number): void {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || !Number.isInteger(port) || port < 1 || port > 65535) throw new RemoteError(`${what} ${ip}:${port} is not an IPv4 address and port`);
}

/** One route's file: a TCP frontend on the route's address with the target as its only server. */
export function renderRouteConfig(route: DataRoute, target: RouteTarget, enabled: boolean): string {
  checkAddress('route', route.ip, route.port);
  checkAddress('route target', target.ip, target.port);
  return [
    `# data route of ${safeComment(route.insName)} (custins ${route.custinsId}), written by rdsctl. The target also changes at run time.`,
    `listen ${backendName(route.custinsId)}`,
    `  bind ${route.ip}:${route.port}`,
    `  server ${SERVER} ${target.ip}:${target.port}${enabled ? '' : ' disabled'}`,
    '',
  ].join('\n');
}

const routeFile = (l: HaproxyLayout, id: number): string => `${l.routesDir}/${id}.cfg`;

const SOCAT = 'command -v socat >/dev/null 2>&1 || { echo "socat is not installed on this proxy host" >&2; exit 127; }; ';

/** Runtime API commands (one line, ';'-separated) to the current worker; its answer on stdout. */
function runtime(l: HaproxyLayout, line: string): string {
  return sh`printf '%s\\n' ${line} | socat -t 5 - UNIX-CONNECT:${l.statsSocket}`;
}

/** Close every session an old (draining) worker still holds for this backend. */
function drainOldWorkers(l: HaproxyLayout, id: number): string {
  const m = l.masterSocket;
  return (
    sh`for w in $(printf 'show proc\\n' | socat -t 5 - UNIX-CONNECT:${m} | awk '/^# old workers/{f=1;next} /^#/{f=0} f && $2=="worker"{print $1}'); do ` +
    sh`for s in $(printf '@!%s show sess\\n' "$w" | socat -t 5 - UNIX-CONNECT:${m} | awk -v b=${'be=' + backendName(id)} '{for(i=2;i<=NF;i++) if($i==b){sub(":$","",$1); print $1}}'); do ` +
    sh`printf '@!%s shutdown session %s\\n' "$w" "$s" | socat -t 5 - UNIX-CONNECT:${m} >/dev/null; done; done`
  );
}

/** Write the route file from stdin atomically. */
function writeRouteFile(l: HaproxyLayout, id: number): string {
  const f = routeFile(l, id);
  return sh`mkdir -p ${l.routesDir}; cat > ${f + '.tmp'}; mv -f ${f + '.tmp'} ${f}; `;
}

/**
 * New route: write the file, check the whole config, reload, and wait until the new worker
 * serves the backend. A config HAProxy rejects is put back as it was and nothing is reloaded.
 */
function createScript(l: HaproxyLayout, id: number): string {
  const f = routeFile(l, id);
  const be = backendName(id);
  return (
    'set -e; ' +
    SOCAT +
    sh`mkdir -p ${l.routesDir}; if [ -f ${f} ]; then cp -p ${f} ${f + '.prev'}; fi; cat > ${f + '.tmp'}; mv -f ${f + '.tmp'} ${f}; ` +
    sh`if ! err=$(haproxy -c -q -f ${l.baseConfig} -f ${l.routesDir} 2>&1); then if [ -f ${f + '.prev'} ]; then mv -f ${f + '.prev'} ${f}; else rm -f ${f}; fi; echo "haproxy rejects the route: $err" | head -n 5 >&2; exit 1; fi; rm -f ${f + '.prev'}; ` +
    sh`printf 'reload\\n' | socat -t 5 - UNIX-CONNECT:${l.masterSocket} >/dev/null; ` +
    sh`i=0; until printf 'show servers state %s\\n' ${be} | socat -t 5 - UNIX-CONNECT:${l.statsSocket} 2>/dev/null | grep -qE ${`^[0-9]+ ${be} `}; do i=$((i+1)); if [ $i -ge 200 ]; then echo "haproxy did not load ${be} within 10s of the reload" >&2; exit 1; fi; sleep 0.05; done; echo reloaded`
  );
}

function pointScript(l: HaproxyLayout, id: number, target: RouteTarget): string {
  const be = `${backendName(id)}/${SERVER}`;
  return (
    'set -e; ' +
    SOCAT +
    writeRouteFile(l, id) +
    runtime(l, `disable server ${be}; shutdown sessions server ${be}; set server ${be} addr ${target.ip} port ${target.port}; enable server ${be}`) +
    '; ' +
    drainOldWorkers(l, id)
  );
}

function blockScript(l: HaproxyLayout, id: number): string {
  const be = `${backendName(id)}/${SERVER}`;
  return 'set -e; ' + SOCAT + writeRouteFile(l, id) + runtime(l, `disable server ${be}; shutdown sessions server ${be}`) + '; ' + drainOldWorkers(l, id);
}

function inspectScript(l: HaproxyLayout, id: number): string {
  return SOCAT + runtime(l, `show servers state ${backendName(id)}`) + sh` 2>/dev/null; echo '@@file'; cat ${routeFile(l, id)} 2>/dev/null; true`;
}

function removeScript(l: HaproxyLayout, id: number): string {
  const f = routeFile(l, id);
  return 'set -e; ' + SOCAT + sh`if [ -f ${f} ]; then rm -f ${f}; printf 'reload\\n' | socat -t 5 - UNIX-CONNECT:${l.masterSocket} >/dev/null; echo removed; else echo absent; fi`;
}

/** Parse `show servers state BACKEND` plus the route file, as inspectScript prints them. */
export function parseInspect(out: string, id: number): RouteState {
  const [state = '', file = ''] = out.split('@@file\n');
  const be = backendName(id);
  let target: RouteTarget | null = null;
  let enabled = false;
  for (const line of state.split('\n')) {
    const f = line.trim().split(/\s+/);
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state … srv_port (19th)
    if (f[1] === be && f[3] === SERVER) {
      target = { ip: f[4]!, port: Number(f[18]) };
      enabled = (Number(f[6]) & 0x01) === 0;
    }
  }
  const m = /^\s*server\s+\S+\s+(\d[\d.]*):(\d+)(\s+disabled)?\s*$/m.exec(file);
  const fileTarget = m ? { ip: m[1]!, port: Number(m[2]) } : null;
  const persisted = fileTarget !== null && target !== null && fileTarget.ip === target.ip && fileTarget.port === target.port && !m![3] === enabled;
  return { exists: target !== null && fileTarget !== null, target, enabled: target !== null && enabled, persisted };
}

export class HaproxyRouteDriver implements RouteDriver {
  constructor(
    private readonly ssh: SshPool,
    private readonly profile: Pick<Profile, 'host_root'>,
  ) {}

  private layout(route: DataRoute): HaproxyLayout {
    return haproxyLayout(this.profile, route.proxy.name);
  }

  private run(route: DataRoute, command: string, signal?: AbortSignal, stdin?: string): Promise<string> {
    return this.ssh.run(route.proxy, command, { timeoutSec: 30, ...(signal ? { signal } : {}), ...(stdin === undefined ? {} : { stdin }) });
  }

  async ensure(route: DataRoute, target: RouteTarget, signal?: AbortSignal): Promise<void> {
    const st = await this.inspect(route, signal);
    if (st.exists) {
      if (!st.enabled || !st.persisted || st.target?.ip !== target.ip || st.target.port !== target.port) await this.point(route, target, signal);
      return;
    }
    await this.run(route, createScript(this.layout(route), route.custinsId), signal, renderRouteConfig(route, target, true));
    await this.verify(route, target, true, signal);
  }

  async point(route: DataRoute, target: RouteTarget, signal?: AbortSignal): Promise<void> {
    await this.run(route, pointScript(this.layout(route), route.custinsId, target), signal, renderRouteConfig(route, target, true));
    await this.verify(route, target, true, signal);
  }

  async block(route: DataRoute, signal?: AbortSignal): Promise<void> {
    const st = await this.inspect(route, signal);
    if (!st.exists || !st.target) throw new RemoteError(`${route.proxy.name}: route ${route.ip}:${route.port} of ${route.insName} does not exist; nothing to block`, { host: route.proxy.name });
    await this.run(route, blockScript(this.layout(route), route.custinsId), signal, renderRouteConfig(route, st.target, false));
    await this.verify(route, st.target, false, signal);
  }

  async inspect(route: DataRoute, signal?: AbortSignal): Promise<RouteState> {
    return parseInspect(await this.run(route, inspectScript(this.layout(route), route.custinsId), signal), route.custinsId);
  }

  async remove(route: DataRoute, signal?: AbortSignal): Promise<void> {
    await this.run(route, removeScript(this.layout(route), route.custinsId), signal);
  }

  describe(route: DataRoute, action: 'ensure' | 'point' | 'block' | 'remove', target?: RouteTarget): string[] {
    const l = this.layout(route);
    const id = route.custinsId;
    const t = target ?? { ip: '0.0.0.0', port: 1 };
    if (action === 'ensure') return [`${createScript(l, id)}  # stdin: ${renderRouteConfig(route, t, true).split('\n').slice(1).join(' ').trim()}`];
    if (action === 'point') return [`${pointScript(l, id, t)}  # stdin: the route file leading to ${t.ip}:${t.port}`];
    if (action === 'block') return [`${blockScript(l, id)}  # stdin: the route file with its server disabled`];
    return [removeScript(l, id)];
  }

  private async verify(route: DataRoute, target: RouteTarget, enabled: boolean, signal?: AbortSignal): Promise<void> {
    const st = await this.inspect(route, signal);
    if (!st.exists || st.target?.ip !== target.ip || st.target.port !== target.port || st.enabled !== enabled || !st.persisted) {
      throw new RemoteError(
        `${route.proxy.name}: route ${route.ip}:${route.port} of ${route.insName} is ${st.exists ? `${st.enabled ? 'open' : 'blocked'} to ${st.target?.ip}:${st.target?.port}${st.persisted ? '' : ' (config file differs)'}` : 'missing'} after the change, not ${enabled ? 'open' : 'blocked'} to ${target.ip}:${target.port}`,
        { host: route.proxy.name },
      );
    }
  }
}
