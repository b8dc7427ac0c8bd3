import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { InternalError, NotFoundError, UnavailableError, UsageError } from '../core/errors.js';
import { findLabBinaries } from './binaries.js';
import { ensureBackupStores, storeAuthorizedKeysPath } from './backup-host.js';
import { ensureHostRoots, hostsDir, readVmState, writeVmState } from './hosts.js';
import {
  checkMariadbPort,
  createDatabases,
  ensureLabUser,
  ensureSecrets,
  installDatadir,
  loadSeed,
  mariadbPaths,
  runningPid,
  schemaHash,
  startMariadb,
  vmStatuses,
  writeClientCnf,
  type Secrets,
} from './mariadb.js';
import { mapLimit } from '../core/concurrency.js';
import { bindProbe, portInUseMessage, tcpProbe } from './net.js';
import { defaultLabDir, paramsOf, readLabFile, resolveLabParams, writeLabFile, type LabParams, type ParsedFlags } from './params.js';
import { labProcesses, stopProcesses } from './procs.js';
import { checkProfileSlot, installProfile, labProfile, removeProfile } from './profile.js';
import { FLEET, FLEET_NAME_WIDTH, loadFleet } from './fleet.js';
import { generateSeed } from './seed.js';
import { haproxyBinary, labProxyHosts, registerLabProxies, startLabHaproxy } from './haproxy.js';
import { ensureKeys, knownHostsLines, startUnitAsync, unitPid, writeUnitConfig, type SshdPaths, type SshdUnit } from './sshd.js';
import { componentRow, type ComponentProbe, type ComponentRow } from './status.js';
import { alwaysServed, buildTopology, labHosts, type LabHostSpec, type Topology } from './topology.js';

// `lab up`, `lab status` and `lab down`. Layout of a lab dir:
//   lab.json  secrets.json  client.cnf  audit.jsonl
//   ssh/      host key, client key (id_ed25519), authorized_keys, known_hosts
//   sshd/     one config, pid file and log per host: sshd-<host>.{conf,pid,log}
//   mariadb/  data/, mariadb.sock, mariadb.pid, mariadb.log, seeded.json
//   hosts/<host>/  each host's filesystem root (hosts.ts)

export interface LabLayout {
  params: LabParams;
  topology: Topology;
  hosts: LabHostSpec[];
  sshd: SshdPaths;
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
    sshd: { dir: path.join(params.dir, 'sshd'), hostKey: path.join(sshDir, 'ssh_host_ed25519_key'), authorizedKeys: path.join(sshDir, 'authorized_keys') },
    clientKey: path.join(sshDir, 'id_ed25519'),
    knownHosts: path.join(sshDir, 'known_hosts'),
  };
}

export function unitOf(l: LabLayout, h: LabHostSpec): SshdUnit {
  const keys = h.kind === 'backup' ? { authorizedKeys: storeAuthorizedKeysPath(l.params.dir, h.name) } : {};
  return { id: h.name, port: l.params.sshPort, hosts: [{ name: h.name, address: h.address, root: path.join(hostsDir(l.params.dir), h.name), ...keys }] };
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
  unitsStarted: number;
  unitsRunning: number;
  vmsRunning: number;
  ms: number;
}

/**
 * Bring the lab up, or make sure all of it is up. Everything that can fail before a process
 * starts is checked first (programs, ports, profile name); if a start fails later, whatever this
 * run started is stopped again, so a failed `lab up` leaves nothing half-running.
 */
export async function labUp(ctx: Context, flagDir: string | undefined, flags: ParsedFlags, log: (line: string) => void): Promise<UpResult> {
  const t0 = Date.now();
  const dir = resolveLabDir(ctx, flagDir);
  const existing = readLabFile(dir);
  if (!existing) refuseForeignDir(dir);
  const params = resolveLabParams(dir, flags, existing);
  const layout = labLayout(params);
  ctx.config();
  checkProfileSlot(ctx.configPath, params.name, dir);
  const bins = findLabBinaries(ctx.env, isRoot());
  const haproxy = haproxyBinary(ctx.env);
  const maria = mariadbPaths(dir);

  const mariaPid = runningPid(maria);
  if (!mariaPid) await checkMariadbPort(params.port);
  await checkSshAddresses(layout);

  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existing) writeLabFile(params, ctx.configPath, ctx.clock.now());
  const keys = ensureKeys(path.join(dir, 'ssh'), bins.sshKeygen);
  const units = layout.hosts.map((h) => unitOf(layout, h));
  fs.writeFileSync(layout.knownHosts, knownHostsLines(keys.hostKey + '.pub', units), { mode: 0o644 });
  for (const u of units) writeUnitConfig(layout.sshd, u);
  ensureHostRoots(dir, layout.topology, layout.hosts, layout.sshd, bins.sshd);
  ensureBackupStores(dir, layout.topology, { sshKeygen: bins.sshKeygen, hostKeyPub: keys.hostKey + '.pub', clientKeyPub: keys.clientKey + '.pub' });

  const started: number[] = [];
  try {
    let seeded = false;
    if (!mariaPid) {
      if (!fs.existsSync(path.join(maria.datadir, 'mysql'))) {
        log(`installing MariaDB into ${maria.datadir}`);
        await installDatadir(bins, maria);
        fs.rmSync(maria.seededMarker, { force: true });
      }
      started.push(await startMariadb(bins, maria, params.port));
    }
    const secrets = ensureSecrets(dir);
    writeClientCnf(dir, params.port, secrets);
    if (!fs.existsSync(maria.seededMarker)) {
      log('creating the metadbs from fixtures/schema and seeding them');
      await createDatabases(bins, maria);
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

    // VMs follow the metadb: a VM stopped there (by hyapi stop_vm, or in the seed) stays down.
    const vmStatus = await vmStatuses(params.port, secrets);
    const runningVms = new Set(layout.topology.vms.filter((v) => vmStatus.get(v.name) === 'running').map((v) => v.name));
    for (const vm of layout.topology.vms) writeVmState(dir, vm, runningVms.has(vm.name) || unitPid(layout.sshd, { id: vm.name }) !== undefined);
    const wanted = [...alwaysServed(layout.topology), ...layout.hosts.filter((h) => runningVms.has(h.name))];
    let unitsStarted = 0;
    await mapLimit(wanted, 16, async (h) => {
      const u = unitOf(layout, h);
      if (unitPid(layout.sshd, u)) return;
      started.push(await startUnitAsync(layout.sshd, u, bins.sshd));
      unitsStarted++;
    });
    // The RDS proxy layer: HAProxy on the online proxy hosts, registered in dbaas.
    const proxies = labProxyHosts(dir, layout.topology);
    for (const h of proxies) {
      const r = await startLabHaproxy(haproxy, h);
      if (r.started) started.push(r.pid);
    }
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
        hostRoot: path.join(hostsDir(dir), '{host}'),
        auditLog: path.join(dir, 'audit.jsonl'),
        backupStore: layout.topology.backupHosts[0]!,
      }),
    );
    return { params, profile: params.name, mariadbStarted: !mariaPid, seeded, unitsStarted, unitsRunning: wanted.length, vmsRunning: runningVms.size, ms: Date.now() - t0 };
  } catch (e) {
    await stopProcesses(started, 5000);
    throw e;
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

/** Every address this lab serves must be free on the SSH port, unless its own sshd holds it. */
async function checkSshAddresses(l: LabLayout): Promise<void> {
  const busy = await mapLimit(l.hosts, 32, async (h) => {
    if (unitPid(l.sshd, unitOf(l, h))) return undefined;
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
  const probes: Array<Omit<ComponentProbe, 'answers'>> = [
    { name: 'mariadb', kind: 'mariadb', address: '127.0.0.1', port: l.params.port, wanted: true, pid: runningPid(maria) },
    ...l.hosts.map((h) => {
      const vm = vmByName.get(h.name);
      const wanted = vm ? readVmState(l.params.dir, vm) === 'running' : served.has(h.name);
      return { name: h.name, kind: h.kind, address: h.address, port: l.params.sshPort, wanted, pid: unitPid(l.sshd, unitOf(l, h)) };
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
 * profile. Running it on a lab that is already down is fine.
 */
export async function labDown(ctx: Context, dir: string, purge: boolean): Promise<DownResult> {
  // Only a lab's own directory: "every process that names a path inside it" must never mean /tmp.
  if (!readLabFile(dir)) {
    if (fs.existsSync(dir)) throw new NotFoundError(`${dir} is not a lab directory (no lab.json); nothing stopped`);
    return { dir, stopped: 0, purged: false, profileRemoved: purge && removeProfile(ctx.configPath, dir) };
  }
  let stopped = 0;
  // A second round catches what a dying session started meanwhile.
  for (let round = 0; round < 3; round++) {
    const procs = labProcesses(dir);
    if (procs.length === 0) break;
    const left = await stopProcesses(procs.map((p) => p.pid));
    stopped += procs.length - left.length;
    if (left.length && round === 2) throw new InternalError(`lab down: could not stop pid ${left.join(', ')} of the lab in ${dir}`);
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
