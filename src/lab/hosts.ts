import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { shq } from '../remote/quote.js';
import type { SshdPaths } from './sshd.js';
import { unitConfigPath, unitLogPath, unitPidPath } from './sshd.js';
import type { LabHostSpec, Topology, Vm } from './topology.js';

// Each lab host's filesystem root, <dir>/hosts/<name>: what a production host has at "/" for the
// paths rdsctl touches (/mysqldata, /home/mysql, /usr/local/rds/var, /etc). Its usr/bin comes
// first on the PATH of SSH sessions to that host (sshd.ts), so the stand-ins found there
// (hostname, and virsh on NCs) answer for this host rather than for the machine running the lab.

export const VIRSH_STANDIN = fileURLToPath(new URL('../../fixtures/lab/virsh', import.meta.url));

/** Directories every host root has. */
const HOST_DIRS = ['etc', 'usr/bin', 'usr/local/bin', 'usr/local/rds/var', 'mysqldata', 'home/mysql', 'tmp', 'var/log'];

export function hostsDir(labDir: string): string {
  return path.join(labDir, 'hosts');
}

export function hostRootOf(labDir: string, name: string): string {
  return path.join(hostsDir(labDir), name);
}

/** Where the virsh stand-in of an NC keeps its domains. */
export function libvirtDir(labDir: string, nc: string): string {
  return path.join(hostRootOf(labDir, nc), 'var/lib/libvirt/lab');
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
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
}

/** hostname(1) for one host: its name, or its address with -i / -I. */
export function hostnameShim(h: LabHostSpec): string {
  return [
    '#!/bin/sh',
    '# rdsctl lab: hostname(1) of this lab host',
    'case "${1:-}" in',
    `  -i | -I | --ip-address | --all-ip-addresses) echo ${shq(h.address)} ;;`,
    `  *) echo ${shq(h.name)} ;;`,
    'esac',
    '',
  ].join('\n');
}

/** Create (or refresh) the root of one host. Existing data (instances, logs) is left alone. */
export function ensureHostRoot(labDir: string, h: LabHostSpec): string {
  const root = hostRootOf(labDir, h.name);
  for (const d of HOST_DIRS) fs.mkdirSync(path.join(root, d), { recursive: true });
  writeIfChanged(path.join(root, 'etc/hostname'), h.name + '\n', 0o644);
  writeIfChanged(path.join(root, 'etc/rdsctl-lab-host'), JSON.stringify({ name: h.name, kind: h.kind, address: h.address, lab_dir: labDir }) + '\n', 0o644);
  writeIfChanged(path.join(root, 'usr/bin/hostname'), hostnameShim(h), 0o755);
  // Login shells (interactive go2nc) reset PATH in /etc/profile; the host's own ~/.profile puts
  // the host's bin/ back in front, as a real NC's tools would be.
  fs.mkdirSync(path.join(root, 'root'), { recursive: true, mode: 0o700 });
  writeIfChanged(path.join(root, 'root/.profile'), 'export PATH="$RDS_HOST_ROOT/usr/local/bin:$RDS_HOST_ROOT/usr/bin:$PATH"\n', 0o644);
  return root;
}

/** virsh on an NC and one domain file per VM placed on it. */
export function ensureNcHypervisor(labDir: string, nc: string, vms: Vm[], paths: SshdPaths, sshdBin: string): void {
  const root = hostRootOf(labDir, nc);
  writeIfChanged(path.join(root, 'usr/bin/virsh'), fs.readFileSync(VIRSH_STANDIN, 'utf8'), 0o755);
  const dir = libvirtDir(labDir, nc);
  fs.mkdirSync(dir, { recursive: true });
  for (const vm of vms) {
    const conf = {
      name: vm.name,
      id: vm.domId,
      uuid: vm.uuid,
      vcpu: vm.vcpu,
      memory_kib: vm.memMb * 1024,
      sshd: sshdBin,
      config: path.resolve(unitConfigPath(paths, { id: vm.name })),
      pidfile: path.resolve(unitPidPath(paths, { id: vm.name })),
      log: path.resolve(unitLogPath(paths, { id: vm.name })),
    };
    writeIfChanged(path.join(dir, `${vm.name}.conf`), Object.entries(conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', 0o644);
  }
}

/** Record the domain state virsh would report, as `lab up` decided it from the metadb. */
export function writeVmState(labDir: string, vm: Pick<Vm, 'name' | 'nc'>, running: boolean): void {
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

export function ensureHostRoots(labDir: string, t: Topology, hosts: LabHostSpec[], paths: SshdPaths, sshdBin: string): void {
  for (const h of hosts) ensureHostRoot(labDir, h);
  for (const nc of t.ncs) ensureNcHypervisor(labDir, nc.hostname, t.vms.filter((v) => v.nc === nc.hostname), paths, sshdBin);
}
