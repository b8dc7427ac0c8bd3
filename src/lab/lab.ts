import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { InternalError, NotFoundError, UnavailableError, UsageError } from '../core/errors.js';
import { findLabBinaries, type LabBinaries } from './binaries.js';
import { rdsctlCacheDir } from '../core/xdg.js';
import { ensureBackupStores } from './backup-host.js';
import { checkMountablePath, ensureClientKey, ensureHostKeys, ensureHosts, knownHostsLines, LAB_BIN, readVmState, writeVmState } from './hosts.js';
import {
  checkMariadbPort,
  copyTemplate,
  createDatabases,
  ensureTemplate,
  ensureLabUser,
  ensureSecrets,
  installDatadir,
  loadSeed,
  mariadbPaths,
  runningPid,
  schemaHash,
  startMariadb,
  templateDir,
  vmStatuses,
  writeClientCnf,
  type MariadbPaths,
  type Secrets,
  runsWithTls,
} from './mariadb.js';
import { ensureServerCert, labCaPaths } from './tls.js';
import { mapLimit } from '../core/concurrency.js';
import { bindProbe, portInUseMessage, tcpProbe } from './net.js';
import { defaultLabDir, paramsOf, readLabFile, resolveLabParams, writeLabFile, type LabParams, type ParsedFlags } from './params.js';
import { bootHost, checkIsolation, checkMysqlUser, hostExec, powerPid, procTree, sshdPid, type ProcTree } from './power.js';
import { labProcesses, stopProcesses } from './procs.js';
import { checkProfileSlot, installProfile, labProfile, removeProfile } from './profile.js';
import { FLEET, FLEET_NAME_WIDTH, loadFleet } from './fleet.js';
import { generateSeed } from './seed.js';
import { haproxyBinary, labProxyHosts, registerLabProxies, startLabHaproxy } from './haproxy.js';
import { componentRow, type ComponentProbe, type ComponentRow } from './status.js';
import { alwaysServed, buildTopology, labHosts, type LabHostSpec, type Topology } from './topology.js';

// `lab up`, `lab status` and `lab down`. Layout of a lab dir:
//   lab.json  secrets.json  client.cnf  audit.jsonl
//   ssh/      the client key (id_ed25519) and known_hosts (every host's own key)
//   mariadb/  data/, mariadb.sock, mariadb.pid, mariadb.log, seeded.json
//   share/ run/ hosts/   the hosts: skeleton root, per-host mounts and state, per-host disks (hosts.ts)
// Every host is its own namespaces (power.ts); its sshd runs inside it.

export interface LabLayout {
  params: LabParams;
  topology: Topology;
  hosts: LabHostSpec[];
  clientKey: string;
  knownHosts: string;
}

export function labLayout(params: LabParams): LabLayout {
  const sshDir = path.join(params.dir, 'ssh');
  const topology = buildTopology({ ncs: params.ncs, vms: params.vms, net: params.net, sshPort: params.sshPort, ...(params.scale === 'fleet' ? { nameWidth: FLEET_NAME_WIDTH } : {}) });
  return {
    params,
    topology,
    hosts: labHosts(topology),
    clientKey: path.join(sshDir, 'id_ed25519'),
    knownHosts: path.join(sshDir, 'known_hosts'),
  };
}

/** A host of the lab by name, or a not-found error. */
export function labHost(l: LabLayout, name: string): LabHostSpec {
  const h = l.hosts.find((x) => x.name === name);
  if (!h) throw new NotFoundError(`no host ${name} in the lab ${l.params.dir}`);
  return h;
}

/** --dir, else the active profile's lab, else the default lab dir. */
export function resolveLabDir(ctx: Context, flagDir: string | undefined): string {
  // An empty --dir must not fall through to the active lab: `lab down --dir "$UNSET"` would stop it.
  if (flagDir !== undefined) {
    if (!flagDir.trim() || flagDir.includes('\0')) throw new UsageError(`--dir ${JSON.stringify(flagDir)}: give a directory`);
    return path.resolve(flagDir);
  }
  try {
    const p = ctx.profile();
    if (p.lab_dir) return p.lab_dir;
  } catch {
    // no usable profile: the default lab
  }
  return defaultLabDir(ctx.env);
}

/** The lab in dir, or a not-found error naming it. */
export function openLab(dir: string): LabLayout {
  const f = readLabFile(dir);
  if (!f) throw new NotFoundError(`no lab in ${dir}; start one with \`rdsctl lab up\` (or name another with --dir)`);
  return labLayout({ ...paramsOf(f), dir });
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export interface UpResult {
  params: LabParams;
  profile: string;
  mariadbStarted: boolean;
  seeded: boolean;
  hostsStarted: number;
  hostsRunning: number;
  vmsRunning: number;
  ms: number;
}

/**
 * Bring the lab up, or make sure all of it is up. Everything that can fail before a process
 * starts is checked first (programs, privileges, ports, profile name); if a start fails later,
 * whatever this run started is stopped again, so a failed `lab up` leaves nothing half-running.
 */
export async function labUp(ctx: Context, flagDir: string | undefined, flags: ParsedFlags, log: (line: string) => void): Promise<UpResult> {
  const t0 = Date.now();
  const dir = resolveLabDir(ctx, flagDir);
  checkMountablePath('--dir', dir);
  checkMountablePath('rdsctl installed in', LAB_BIN);
  const existing = readLabFile(dir);
  if (!existing) refuseForeignDir(dir);
  const params = resolveLabParams(dir, flags, existing);
  const layout = labLayout(params);
  ctx.config();
  checkProfileSlot(ctx.configPath, params.name, dir);
  const bins = findLabBinaries(ctx.env, isRoot());
  const haproxy = haproxyBinary(ctx.env);
  checkIsolation(bins.unshare);
  checkMysqlUser();
  const maria = mariadbPaths(dir);

  const mariaPid = runningPid(maria);
  if (!mariaPid) await checkMariadbPort(params.port);
  const tree = procTree();
  await checkSshAddresses(layout, tree);

  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existing) writeLabFile(params, ctx.configPath, ctx.clock.now());
  const clientKey = ensureClientKey(path.join(dir, 'ssh'));
  ensureHostKeys(dir, layout.hosts);
  fs.writeFileSync(layout.knownHosts, knownHostsLines(dir, layout.hosts, params.sshPort), { mode: 0o644 });
  ensureHosts(dir, layout.topology, layout.hosts, { sshPort: params.sshPort, clientKeyPub: clientKey + '.pub' });
  ensureBackupStores(dir, layout.topology, { clientKeyPub: clientKey + '.pub' });
  const secrets = ensureSecrets(dir);

  // Three things run at once, each as soon as what it needs is there: the metadb (made, started,
  // seeded), the hosts booting (NCs first), and on each NC its VMs once the NC is up and it is
  // known which of them run; HAProxy starts in each proxy host once that host is up.
  // Every branch runs to its end before a failure is reported, so the cleanup below sees every
  // process this run started.
  const started: number[] = [];
  const failures: unknown[] = [];
  const settle = <T>(p: Promise<T>): Promise<T | undefined> =>
    p.catch((e: unknown) => {
      failures.push(e);
      return undefined;
    });
  const cache = rdsctlCacheDir(ctx.env);
  // A new datadir is always seeded, whatever a marker left behind says.
  const seedNow = !fs.existsSync(maria.seededMarker) || (!mariaPid && !fs.existsSync(path.join(maria.datadir, 'mysql')));
  const metadb = settle(
    (async () => {
      let fresh = false;
      if (!mariaPid) {
        if (!fs.existsSync(path.join(maria.datadir, 'mysql'))) fresh = await newDatadir(bins, maria, cache, log);
        started.push(await startMariadb(bins, maria, params.port, ensureServerCert(dir, 'metadb', ['127.0.0.1'], ['localhost'])));
      }
      writeClientCnf(dir, params.port, secrets);
      let seeded = false;
      if (seedNow) {
        log('seeding the metadbs');
        if (!fresh) await createDatabases(bins, maria);
        await ensureLabUser(bins, maria, secrets);
        await loadSeed(params.port, secrets, generateSeed({ topology: layout.topology, now: ctx.clock.now(), osUser: os.userInfo().username }));
        if (params.scale === 'fleet') await seedFleet(params.port, secrets, layout.topology, ctx.clock.now(), log);
        fs.writeFileSync(maria.seededMarker, JSON.stringify({ schema_hash: schemaHash(), seeded_at: ctx.clock.now().toISOString() }) + '\n');
        seeded = true;
      } else {
        await ensureLabUser(bins, maria, secrets);
        const marker = JSON.parse(fs.readFileSync(maria.seededMarker, 'utf8')) as { schema_hash?: string };
        if (marker.schema_hash !== schemaHash()) log(`fixtures/schema changed since this lab was seeded; for the new schema run \`rdsctl lab down --purge --dir ${dir}\` and \`lab up\` again`);
      }
      return { seeded };
    })(),
  );
  // VMs follow the metadb: a VM stopped there (by hyapi stop_vm, or in the seed) stays down. A
  // lab seeded by this run has the seed's statuses, known now: its VMs need not wait for MariaDB.
  const runningOf = (status: (name: string) => string | undefined): Set<string> => new Set(layout.topology.vms.filter((v) => status(v.name) === 'running').map((v) => v.name));
  const running: Promise<Set<string> | undefined> = seedNow
    ? Promise.resolve(runningOf((name) => layout.topology.vms.find((v) => v.name === name)?.status))
    : settle(
        metadb.then(async (m) => {
          if (!m) return undefined;
          const status = await vmStatuses(params.port, secrets);
          return runningOf((name) => status.get(name));
        }),
      );
  const proxies = labProxyHosts(layout.topology);
  const proxyByName = new Map(proxies.map((p) => [p.name, p]));
  const followers: Array<Promise<unknown>> = [];
  let vmsStarted = 0;
  // Their NCs start the VMs, as `virsh start` does (by domain UUID, as rdsctl addresses virsh).
  const startVms = async (nc: string, running: Set<string>): Promise<void> => {
    const mine = layout.topology.vms.filter((v) => v.nc === nc);
    // Walking /proc is synchronous and costs ~1 s with a fleet lab's 2,400 processes; done for each
    // of 1,000 VM-less NCs as it booted, it starved the event loop for seconds at a time and the
    // metadb seeding beside it failed its 5 s connect timeout (ETIMEDOUT).
    if (!mine.length) return;
    const tree = procTree();
    const vms: string[] = [];
    for (const vm of mine) {
      const up = powerPid(dir, labHost(layout, vm.name), tree) !== undefined;
      if (!up) writeVmState(dir, vm, running.has(vm.name));
      if (running.has(vm.name) && !up) vms.push(vm.uuid);
    }
    if (!vms.length) return;
    const r = await hostExec(dir, labHost(layout, nc), ['/bin/bash', '-c', 'rc=0; p=""; for vm; do virsh -q start "$vm" & p="$p $!"; done; for x in $p; do wait "$x" || rc=1; done; exit $rc', 'virsh-start', ...vms], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new UnavailableError(`lab up: VMs of ${nc} did not start: ${r.stderr.trim().split('\n').join('; ')}`);
    vmsStarted += vms.length;
  };
  let hostsStarted = 0;
  await mapLimit(alwaysServed(layout.topology), 16, async (h) => {
    if (!powerPid(dir, h, tree)) {
      const power = await settle(bootHost(dir, h, params.sshPort, bins.unshare));
      if (!power) return;
      started.push(power);
      hostsStarted++;
    }
    if (h.kind === 'nc') followers.push(settle(running.then((r) => r && startVms(h.name, r))));
    const proxy = proxyByName.get(h.name);
    // The RDS proxy layer: HAProxy inside the online proxy hosts.
    if (proxy) followers.push(settle(startLabHaproxy(dir, haproxy, proxy, h)));
  });
  const m = await metadb;
  await Promise.all(followers);
  const vmsRunning = await running;
  try {
    if (failures.length || !m || !vmsRunning) throw failures[0];
    // Registered in dbaas as a production proxy layer registers itself.
    await registerLabProxies(params.port, secrets, proxies, params.sshPort);
    installProfile(
      ctx.configPath,
      labProfile({
        name: params.name,
        dir,
        port: params.port,
        sshPort: params.sshPort,
        sshUser: os.userInfo().username,
        secrets,
        identityFile: layout.clientKey,
        knownHosts: layout.knownHosts,
        auditLog: path.join(dir, 'audit.jsonl'),
        backupStore: layout.topology.backupHosts[0]!,
        // Only when the server speaks TLS: one started by an older rdsctl keeps running without it.
        ...(runsWithTls(maria) ? { tlsCa: labCaPaths(dir).cert, tlsCaKey: labCaPaths(dir).key } : {}),
      }),
    );
    const hostsRunning = alwaysServed(layout.topology).length + vmsRunning.size;
    return { params, profile: params.name, mariadbStarted: !mariaPid, seeded: m.seeded, hostsStarted: hostsStarted + vmsStarted, hostsRunning, vmsRunning: vmsRunning.size, ms: Date.now() - t0 };
  } catch (e) {
    await stopProcesses(started, 5000);
    throw e;
  }
}

/**
 * A datadir for a new lab: a copy of the cached template (made now if missing), or, when the
 * cache cannot be used, mariadb-install-db here. Returns whether the databases already exist (template).
 */
async function newDatadir(bins: LabBinaries, maria: MariadbPaths, cacheDir: string, log: (line: string) => void): Promise<boolean> {
  const template = templateDir(cacheDir, bins);
  try {
    if (!fs.existsSync(path.join(template, 'mysql'))) {
      log(`making the metadb template ${template} (once per MariaDB build and schema)`);
      await ensureTemplate(bins, template);
    }
    await copyTemplate(template, maria);
    fs.rmSync(maria.seededMarker, { force: true });
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'ENOSPC' && code !== 'EPERM') throw e;
    log(`cannot use ${template} (${code}); installing MariaDB into ${maria.datadir}`);
    await installDatadir(bins, maria);
    fs.rmSync(maria.seededMarker, { force: true });
    return false;
  }
}

async function seedFleet(port: number, secrets: Secrets, topology: Topology, now: Date, log: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  log(`growing the metadb to fleet size (${FLEET.ncs} NCs, ${FLEET.vms} VMs, ${FLEET.custins} RDS instances with their install tasks)`);
  // The step library is loaded only here: the fixture records the install flow's real steps.
  const { installFlow } = await import('../flow/install/index.js');
  const steps = installFlow.steps.map((s) => ({ name: s.name, role: s.role, ...(s.skipRule ? { skipRule: s.skipRule } : {}) }));
  const counts = await loadFleet(port, secrets, { topology, now, steps, flow: installFlow.name }, log);
  log(`fleet seeded in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

/**
 * A lab owns its directory: `lab down` stops every process that names a path inside it and
 * `--purge` deletes it. So a new lab only goes into a directory that is new or empty.
 */
function refuseForeignDir(dir: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new UsageError(`--dir ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (entries.length) throw new UsageError(`--dir ${dir} is not empty and holds no lab (no lab.json); give a new or empty directory`);
}

/** Every address this lab serves must be free on the SSH port, unless its own host holds it. */
async function checkSshAddresses(l: LabLayout, tree: ProcTree): Promise<void> {
  const busy = await mapLimit(l.hosts, 32, async (h) => {
    if (powerPid(l.params.dir, h, tree)) return undefined;
    const code = await bindProbe(h.address, l.params.sshPort);
    return code ? portInUseMessage(h.address, l.params.sshPort, code) : undefined;
  });
  const msgs = busy.filter((m): m is string => m !== undefined);
  if (msgs.length) {
    throw new UnavailableError(`${msgs[0]}${msgs.length > 1 ? ` (and ${msgs.length - 1} more lab addresses)` : ''}`, {
      hint: 'another lab may use this --net; pick another --net or --ssh-port',
    });
  }
}

/** Probe every component in parallel with a short timeout. */
export async function labStatus(l: LabLayout, timeoutMs = 1000): Promise<ComponentRow[]> {
  const maria = mariadbPaths(l.params.dir);
  const served = new Set(alwaysServed(l.topology).map((h) => h.name));
  const vmByName = new Map(l.topology.vms.map((v) => [v.name, v]));
  const tree = procTree();
  const probes: Array<Omit<ComponentProbe, 'answers'>> = [
    { name: 'mariadb', kind: 'mariadb', address: '127.0.0.1', port: l.params.port, wanted: true, pid: runningPid(maria) },
    ...l.hosts.map((h) => {
      const vm = vmByName.get(h.name);
      const wanted = vm ? readVmState(l.params.dir, vm) === 'running' : served.has(h.name);
      const power = powerPid(l.params.dir, h, tree);
      return { name: h.name, kind: h.kind, address: h.address, port: l.params.sshPort, wanted, pid: power ? sshdPid(tree, power) : undefined };
    }),
  ];
  return mapLimit(probes, 64, async (p) => componentRow({ ...p, answers: await tcpProbe(p.address, p.port, timeoutMs) }));
}

export interface DownResult {
  dir: string;
  stopped: number;
  purged: boolean;
  profileRemoved: boolean;
}

/**
 * Stop every process of the lab (procs.ts says which), then with purge remove its files and its
 * profile. Running it on a lab that is already down is fine. The hosts' own processes (MariaDB
 * instances, sessions) get SIGTERM first; then the hosts' power processes end, and with them
 * every namespace of the lab.
 */
export async function labDown(ctx: Context, dir: string, purge: boolean): Promise<DownResult> {
  // Only a lab's own directory: "every process that names a path inside it" must never mean /tmp.
  if (!readLabFile(dir)) {
    if (fs.existsSync(dir)) throw new NotFoundError(`${dir} is not a lab directory (no lab.json); nothing stopped`);
    return { dir, stopped: 0, purged: false, profileRemoved: purge && removeProfile(ctx.configPath, dir) };
  }
  let stopped = 0;
  // A frozen host's processes would not act on SIGTERM until the end of the grace time.
  for (const p of labProcesses(dir)) signalQuietly(p.pid, 'SIGCONT');
  // A later round catches what a dying session started meanwhile.
  for (let round = 0; round < 4; round++) {
    const procs = labProcesses(dir);
    if (procs.length === 0) break;
    const holders = new Set(procs.filter((p) => isHostHolder(p, procs)).map((p) => p.pid));
    const first = round === 0 ? procs.filter((p) => !holders.has(p.pid)) : procs;
    const left = await stopProcesses(first.map((p) => p.pid), round === 0 ? 8000 : 3000);
    stopped += first.length - left.length;
    if (left.length && round === 3) throw new InternalError(`lab down: could not stop pid ${left.join(', ')} of the lab in ${dir}`);
  }
  let profileRemoved = false;
  if (purge) {
    const f = readLabFile(dir);
    for (const cfg of new Set([ctx.configPath, ...(f ? [f.config] : [])])) profileRemoved = removeProfile(cfg, dir) || profileRemoved;
    fs.rmSync(mariadbPaths(dir).socket, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { dir, stopped, purged: purge, profileRemoved };
}

/** A host's power process or its init: ending either ends the whole host, so they go last. */
function isHostHolder(p: { pid: number; ppid: number; cmdline: string }, procs: Array<{ pid: number; cmdline: string }>): boolean {
  const isPower = (c: string): boolean => /(^|\/)unshare /.test(c) && / \/bin\/bash \S*host-init \S+$/.test(c);
  if (isPower(p.cmdline)) return true;
  const parent = procs.find((x) => x.pid === p.ppid);
  return parent !== undefined && isPower(parent.cmdline);
}

function signalQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}
