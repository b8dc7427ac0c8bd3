import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../core/errors.js';
import { newEd25519KeyPair } from '../remote/keys.js';
import { shq } from '../remote/quote.js';
import { BACKUP_STORE_DIR, type HostKind, type LabHostSpec, type Topology, type Vm } from './topology.js';

// The disk and the mounts of every lab host. A host is a set of namespaces made by util-linux
// `unshare` (host-init in fixtures/lab runs as its pid 1, see there); this file writes what it
// mounts. On the jump host a lab dir holds:
//   share/skel/        the read-only root every host starts from: empty mount points, the
//                      jump host's top-level symlinks (bin -> usr/bin …) and a minimal /dev
//   share/{bin,host,lower,vm}/  mount points under /rdsctl-lab inside the hosts
//   run/<host>/        written by the lab only, read-only in the host at /rdsctl-lab/host:
//                      host.env, fstab, power.pid, console.log; an NC's vms/<vm>/ for its VMs
//   hosts/<host>/      the host's disk: etc/ var/ usr/local/ (upper layers of the overlays on
//                      the jump host's /etc, /var, /usr/local), root/ tmp/ mysqldata/ home/ and
//                      .work/ (the overlays' work dirs). hosts/<host>/P is the host's /P.
// Inside a host: / and /usr (and /opt) read-only, /etc /var /usr/local copy-on-write private,
// /root /tmp /mysqldata /home private, its own /proc (with /proc/sys read-only), sysfs
// read-only, /dev with null zero full random urandom tty, its own devpts, /dev/shm and /run.
// An NC also sees its VMs' disks (/rdsctl-lab/vm/<vm>) and the jump host's /etc, /var and
// /usr/local read-only (/rdsctl-lab/lower), which its init needs to build a VM's root.

export const LAB_BIN = fileURLToPath(new URL('../../fixtures/lab', import.meta.url));
export const HOST_INIT = path.join(LAB_BIN, 'host-init');
export const VIRSH_STANDIN = path.join(LAB_BIN, 'virsh');

/** Jump-host directories a host sees copy-on-write: the overlay's upper layer is its own. */
const OVERLAYS = ['/etc', '/var', '/usr/local'];
/** Private directories every host has at these production names. */
const PRIVATE_DIRS = ['/root', '/tmp', '/mysqldata', '/home'];
/** More private top-level directories for some kinds of host (mount points in the skeleton). */
export const KIND_DIRS: Partial<Record<HostKind, string[]>> = { backup: [BACKUP_STORE_DIR] };
/** Devices of a host's /dev (character devices, major/minor as on Linux). */
const DEVICES: Array<[string, number, number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];
const SKEL_DIRS = ['usr', 'etc', 'var', 'root', 'tmp', 'mysqldata', 'home', 'proc', 'sys', 'dev', 'dev/pts', 'dev/shm', 'run', 'opt', 'srv', 'mnt', 'media', 'boot', 'rdsctl-lab'];

export function hostsDir(labDir: string): string {
  return path.join(labDir, 'hosts');
}

/** The host's disk on the jump host: hostRootOf(dir, h)/P is the host's /P for its private paths. */
export function hostRootOf(labDir: string, name: string): string {
  return path.join(hostsDir(labDir), name);
}

/** Where the host's file p (an absolute production path under a private directory) is on the jump host. */
export function hostDiskPath(labDir: string, name: string, p: string): string {
  const norm = path.posix.normalize(p);
  if (!path.posix.isAbsolute(p) || norm.split('/').includes('..')) throw new UsageError(`host path must be absolute: ${p}`);
  return path.join(hostRootOf(labDir, name), norm);
}

export function shareDir(labDir: string): string {
  return path.join(labDir, 'share');
}

/** The run dir of a host as the jump host sees it (a VM's is inside its NC's). */
export function runDirOf(labDir: string, h: Pick<LabHostSpec, 'name' | 'nc'>): string {
  return h.nc ? path.join(labDir, 'run', h.nc, 'vms', h.name) : path.join(labDir, 'run', h.name);
}

/** Where the virsh stand-in of an NC keeps its domains' state (the NC's /var/lib/libvirt/lab). */
export function libvirtDir(labDir: string, nc: string): string {
  return hostDiskPath(labDir, nc, '/var/lib/libvirt/lab');
}

export function vmStatePath(labDir: string, vm: Pick<Vm, 'name' | 'nc'>): string {
  return path.join(libvirtDir(labDir, vm.nc), `${vm.name}.state`);
}

function writeIfChanged(file: string, text: string, mode: number): void {
  try {
    if (fs.readFileSync(file, 'utf8') === text) return;
  } catch {
    // new file
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
}

/**
 * Mount options separate paths with ',' and ':' and fstab fields with blanks, so the lab dir
 * (and the rdsctl install) must not contain them.
 */
export function checkMountablePath(what: string, p: string): void {
  if (/[\s,:\\]/.test(p)) throw new UsageError(`${what} ${p}: a lab's paths must not contain blanks, ',', ':' or '\\' (they go into mount options); pick another --dir`);
}

function fstabPath(p: string): string {
  return p.replace(/[\s\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** The skeleton root and share dir, shared by every host of a lab. Devices need root (mknod). */
export function ensureShare(labDir: string, t: Topology): void {
  const share = shareDir(labDir);
  const skel = path.join(share, 'skel');
  const kindDirs = [...new Set(Object.values(KIND_DIRS).flat())].map((d) => d.slice(1));
  for (const d of [...SKEL_DIRS, ...kindDirs]) fs.mkdirSync(path.join(skel, d), { recursive: true, mode: 0o755 });
  fs.chmodSync(path.join(skel, 'tmp'), 0o1777);
  fs.chmodSync(path.join(skel, 'root'), 0o700);
  // The jump host's top-level symlinks (bin -> usr/bin on a merged-/usr system).
  for (const e of fs.readdirSync('/', { withFileTypes: true })) {
    if (!e.isSymbolicLink()) continue;
    const link = path.join(skel, e.name);
    if (!fs.existsSync(link) && !isLink(link)) fs.symlinkSync(fs.readlinkSync(path.join('/', e.name)), link);
  }
  const dev = path.join(skel, 'dev');
  for (const [name, major, minor] of DEVICES) {
    const p = path.join(dev, name);
    if (!fs.existsSync(p)) execFileSync('mknod', ['-m', '666', p, 'c', String(major), String(minor)]);
  }
  const links: Array<[string, string]> = [['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2'], ['ptmx', 'pts/ptmx']];
  for (const [name, target] of links) if (!isLink(path.join(dev, name))) fs.symlinkSync(target, path.join(dev, name));
  for (const d of ['bin', 'host', 'lower/etc', 'lower/var', 'lower/usr-local']) fs.mkdirSync(path.join(share, d), { recursive: true });
  for (const vm of t.vms) fs.mkdirSync(path.join(share, 'vm', vm.name), { recursive: true });
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** How a host's mounts name things: from the jump host, or (a VM) from inside its NC. */
interface MountView {
  share: string;
  bin: string;
  run: string;
  disk: string;
  lower: (dir: string) => string;
}

function jumpView(labDir: string, h: LabHostSpec): MountView {
  return { share: shareDir(labDir), bin: LAB_BIN, run: runDirOf(labDir, h), disk: hostRootOf(labDir, h.name), lower: (d) => d };
}

function ncView(h: LabHostSpec): MountView {
  return { share: '/rdsctl-lab', bin: '/rdsctl-lab/bin', run: `/rdsctl-lab/host/vms/${h.name}`, disk: `/rdsctl-lab/vm/${h.name}`, lower: (d) => `/rdsctl-lab/lower/${d.slice(1).replace('/', '-')}` };
}

/** What the jump host has that the mounts depend on. */
export interface JumpFacts {
  opt: boolean;
  /** /proc/sysrq-trigger (kernels with magic SysRq); read-only in every host. */
  sysrq: boolean;
}

export function jumpFacts(): JumpFacts {
  return { opt: fs.existsSync('/opt'), sysrq: fs.existsSync('/proc/sysrq-trigger') };
}

/** The fstab host-init mounts, in order. */
export function renderFstab(h: LabHostSpec, v: MountView, vms: string[], labDir: string, sys: JumpFacts): string {
  const root = `${v.share}/skel`;
  const lines: string[][] = [
    [root, root, 'none', 'bind,ro'],
    ['/usr', `${root}/usr`, 'none', 'bind,ro'],
    ...OVERLAYS.map((d) => ['overlay', `${root}${d}`, 'overlay', `lowerdir=${v.lower(d)},upperdir=${v.disk}${d},workdir=${v.disk}/.work/${d.slice(1).replace('/', '-')}`]),
    ...[...PRIVATE_DIRS, ...(KIND_DIRS[h.kind] ?? [])].map((d) => [`${v.disk}${d}`, `${root}${d}`, 'none', 'bind']),
    ...(sys.opt ? [['/opt', `${root}/opt`, 'none', 'bind,ro']] : []),
    ['proc', `${root}/proc`, 'proc', 'nosuid,nodev,noexec'],
    [`${root}/proc/sys`, `${root}/proc/sys`, 'none', 'bind,ro'],
    ...(sys.sysrq ? [[`${root}/proc/sysrq-trigger`, `${root}/proc/sysrq-trigger`, 'none', 'bind,ro']] : []),
    ['sysfs', `${root}/sys`, 'sysfs', 'ro,nosuid,nodev,noexec'],
    ['devpts', `${root}/dev/pts`, 'devpts', 'newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec'],
    ['tmpfs', `${root}/dev/shm`, 'tmpfs', 'nosuid,nodev,mode=1777'],
    ['tmpfs', `${root}/run`, 'tmpfs', 'nosuid,nodev,mode=755'],
    [v.share, `${root}/rdsctl-lab`, 'none', 'bind,ro'],
    [v.bin, `${root}/rdsctl-lab/bin`, 'none', 'bind,ro'],
    [v.run, `${root}/rdsctl-lab/host`, 'none', 'bind,ro'],
  ];
  if (vms.length) {
    for (const d of OVERLAYS) lines.push([d, `${root}/rdsctl-lab/lower/${d.slice(1).replace('/', '-')}`, 'none', 'bind,ro']);
    for (const vm of vms) lines.push([hostRootOf(labDir, vm), `${root}/rdsctl-lab/vm/${vm}`, 'none', 'bind']);
  }
  return `# rdsctl lab: the mounts of ${h.name} (generated by \`rdsctl lab up\`)\n` + lines.map((l) => `${fstabPath(l[0]!)} ${fstabPath(l[1]!)} ${l[2]} ${l[3]} 0 0`).join('\n') + '\n';
}

/**
 * The capabilities a host's sshd, its sessions and everything they start keep (setpriv's
 * --bounding-set syntax): file ownership and permissions, signals and identities inside the host,
 * chroot (sshd's privilege separation), low ports, resource limits. Gone is everything that
 * reaches past the host: network configuration and raw sockets (NET_ADMIN, NET_RAW), mounts and
 * namespaces (SYS_ADMIN), modules (SYS_MODULE), the clock (SYS_TIME), raw I/O and devices
 * (SYS_RAWIO, MKNOD), ptrace of other processes (SYS_PTRACE), reboot (SYS_BOOT), real-time
 * scheduling (SYS_NICE), the kernel log (SYSLOG), BPF and perf.
 */
export const SESSION_CAPS = '-all,+chown,+dac_override,+dac_read_search,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service,+sys_chroot,+audit_write,+setfcap,+sys_resource,+ipc_owner';

export function renderHostEnv(h: LabHostSpec, sshPort: number, root: string, hypervisor: boolean): string {
  return [`NAME=${shq(h.name)}`, `ADDRESS=${shq(h.address)}`, `SSH_PORT=${sshPort}`, `ROOT=${shq(root)}`, `HYPERVISOR=${hypervisor ? 1 : 0}`, `SESSION_CAPS=${SESSION_CAPS}`].join('\n') + '\n';
}

export function renderSshdConfig(h: LabHostSpec, sshPort: number): string {
  return [
    `# rdsctl lab: sshd of ${h.name} (generated; rewritten by \`rdsctl lab up\`)`,
    `ListenAddress ${h.address}:${sshPort}`,
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PidFile /run/sshd.pid',
    'AuthorizedKeysFile .ssh/authorized_keys',
    'UsePAM no',
    'UseDNS no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PrintMotd no',
    'PrintLastLog no',
    'AllowTcpForwarding yes',
    'PermitOpen any',
    // Fan-out of a thousand hosts opens many handshakes at once; the default 10:30:100 drops them.
    'MaxStartups 1000:30:2000',
    'MaxSessions 64',
    'LogLevel ERROR',
    'Subsystem sftp internal-sftp',
  ].join('\n') + '\n';
}

function hostsFile(h: LabHostSpec): string {
  let base = '';
  try {
    base = fs.readFileSync('/etc/hosts', 'utf8');
  } catch {
    base = '127.0.0.1\tlocalhost\n';
  }
  return `${base.replace(/\n?$/, '\n')}${h.address}\t${h.name}\n`;
}

export interface HostFiles {
  sshPort: number;
  /** The lab's client public key: root's authorized_keys on every host. */
  clientKeyPub: string;
}

/**
 * The disk of one host and its run dir: directories, sshd config, /etc/hostname and /etc/hosts,
 * root's authorized_keys, and (NCs) virsh, its VMs' run dirs and domain files. Existing data
 * (instances, logs, keys) is left alone.
 */
export function ensureHost(labDir: string, h: LabHostSpec, vms: Vm[], f: HostFiles, sys: JumpFacts = jumpFacts()): void {
  const disk = hostRootOf(labDir, h.name);
  for (const d of [...OVERLAYS, ...PRIVATE_DIRS, ...(KIND_DIRS[h.kind] ?? [])]) fs.mkdirSync(path.join(disk, d), { recursive: true });
  for (const d of OVERLAYS) fs.mkdirSync(path.join(disk, '.work', d.slice(1).replace('/', '-')), { recursive: true });
  fs.chmodSync(path.join(disk, 'tmp'), 0o1777);
  fs.chmodSync(path.join(disk, 'root'), 0o700);
  fs.mkdirSync(path.join(disk, 'home/mysql'), { recursive: true, mode: 0o755 });
  writeIfChanged(path.join(disk, 'etc/hostname'), h.name + '\n', 0o644);
  writeIfChanged(path.join(disk, 'etc/hosts'), hostsFile(h), 0o644);
  writeIfChanged(path.join(disk, 'etc/rdsctl-lab-host'), JSON.stringify({ name: h.name, kind: h.kind, address: h.address }) + '\n', 0o644);
  writeIfChanged(path.join(disk, 'etc/ssh/sshd_config'), renderSshdConfig(h, f.sshPort), 0o644);
  fs.mkdirSync(path.join(disk, 'root/.ssh'), { recursive: true, mode: 0o700 });
  writeIfChanged(path.join(disk, 'root/.ssh/authorized_keys'), fs.readFileSync(f.clientKeyPub, 'utf8'), 0o600);

  const run = runDirOf(labDir, h);
  fs.mkdirSync(run, { recursive: true, mode: 0o755 });
  const top = !h.nc;
  const view = top ? jumpView(labDir, h) : ncView(h);
  writeIfChanged(path.join(run, 'host.env'), renderHostEnv(h, f.sshPort, `${view.share}/skel`, h.kind === 'nc'), 0o644);
  writeIfChanged(path.join(run, 'fstab'), renderFstab(h, view, vms.map((v) => v.name), labDir, sys), 0o644);

  if (h.kind === 'nc') {
    fs.mkdirSync(path.join(disk, 'usr/local/bin'), { recursive: true });
    const virsh = path.join(disk, 'usr/local/bin/virsh');
    if (!isLink(virsh)) {
      fs.rmSync(virsh, { force: true });
      fs.symlinkSync('/rdsctl-lab/bin/virsh', virsh);
    }
    const dir = libvirtDir(labDir, h.name);
    fs.mkdirSync(dir, { recursive: true });
    for (const vm of vms) {
      const conf = { name: vm.name, id: vm.domId, uuid: vm.uuid, vcpu: vm.vcpu, memory_kib: vm.memMb * 1024 };
      writeIfChanged(path.join(dir, `${vm.name}.conf`), Object.entries(conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', 0o644);
    }
  }
}

/** Write a new ed25519 key pair to key and key.pub (replacing a half-written one). */
export function writeKeyPair(key: string, comment: string): void {
  fs.mkdirSync(path.dirname(key), { recursive: true });
  fs.rmSync(key + '.pub', { force: true });
  const k = newEd25519KeyPair(comment);
  fs.writeFileSync(key, k.private, { mode: 0o600 });
  fs.chmodSync(key, 0o600);
  fs.writeFileSync(key + '.pub', k.public, { mode: 0o644 });
}

function hasKeyPair(key: string): boolean {
  return fs.existsSync(key) && fs.existsSync(key + '.pub');
}

/** The lab's client key (root's authorized key on every host), made once. Returns its path. */
export function ensureClientKey(sshDir: string): string {
  fs.mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  const key = path.join(sshDir, 'id_ed25519');
  if (!hasKeyPair(key)) writeKeyPair(key, 'rdsctl-lab');
  return key;
}

/** Host keys, one per host, made once. */
export function ensureHostKeys(labDir: string, hosts: LabHostSpec[]): void {
  for (const h of hosts) {
    const key = hostKeyPath(labDir, h.name);
    if (!hasKeyPair(key)) writeKeyPair(key, `root@${h.name}`);
  }
}

export function hostKeyPath(labDir: string, name: string): string {
  return hostDiskPath(labDir, name, '/etc/ssh/ssh_host_ed25519_key');
}

/** A known_hosts line for every host, each with its own key ([addr]:port form when the port is not 22). */
export function knownHostsLines(labDir: string, hosts: LabHostSpec[], port: number): string {
  return (
    hosts
      .map((h) => {
        const key = fs.readFileSync(hostKeyPath(labDir, h.name) + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
        return `${port === 22 ? h.address : `[${h.address}]:${port}`} ${key}`;
      })
      .join('\n') + '\n'
  );
}

/** Record the domain state virsh would report, as `lab up` decided it from the metadb. */
export function writeVmState(labDir: string, vm: Pick<Vm, 'name' | 'nc'>, running: boolean): void {
  fs.mkdirSync(libvirtDir(labDir, vm.nc), { recursive: true });
  fs.writeFileSync(vmStatePath(labDir, vm), running ? 'running\nbooted\n' : 'shut off\nshutdown\n');
}

/** The state virsh last set for a VM ("running" / "shut off"), if any. */
export function readVmState(labDir: string, vm: Pick<Vm, 'name' | 'nc'>): string | undefined {
  try {
    return fs.readFileSync(vmStatePath(labDir, vm), 'utf8').split('\n')[0];
  } catch {
    return undefined;
  }
}

export function ensureHosts(labDir: string, t: Topology, hosts: LabHostSpec[], f: HostFiles): void {
  ensureShare(labDir, t);
  const sys = jumpFacts();
  for (const h of hosts) ensureHost(labDir, h, h.kind === 'nc' ? t.vms.filter((v) => v.nc === h.name) : [], f, sys);
}
