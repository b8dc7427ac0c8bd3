import {
  addInstanceConfLine,
  aliveTest,
  configResourceScript,
  instanceConfProbe,
  readFileScript,
  startBody,
  stopBody,
  writeFileScript,
  writeInsinfoLine,
  writeResourceSection,
} from '../../rds/host-ops.js';
import type { Node } from '../../rds/layout.js';
import { commentText } from '../../rds/mycnf.js';
import { RdsctlError } from '../../core/errors.js';
import type { StepDef } from '../types.js';
import { peerOf, type InstallCtx } from './context.js';

// The files on each NC that other components read: instance.conf (the patrol), the init
// script, the resource limits and /etc/rds_resource_config.conf, the instance name file and the
// insinfo file.

type Step = StepDef<InstallCtx, Node>;

// Each file is rendered in its own format: comments go through commentText (one printable line),
// values of the sourced limits file are integers, and the fields of insinfo.conf and the ini-style
// resource config are single words. The names were checked when loaded (rds/domain.ts); these
// checks keep a renderer from ever writing a second line whatever it is given.

/** A field of a whitespace-separated or key = value file: one word of plain characters. */
export function plainField(v: string | number, what: string): string {
  const s = String(v);
  if (!/^[A-Za-z0-9_.:%@/-]{1,128}$/.test(s)) throw new RdsctlError(`${what} ${JSON.stringify(s).slice(0, 80)} cannot be written to an NC file: not a plain word`, 1);
  return s;
}

/** A number for the shell-sourced limits file. */
function shInt(v: number, what: string): string {
  if (!Number.isSafeInteger(v) || v < 0) throw new RdsctlError(`${what} ${v}: not a non-negative integer`, 1);
  return String(v);
}

// do_rebuild_initd … do_write_insname_to_file (64-71) each write their own file on their own host:
// they run as one group.
const HOST_FILES = 'host_files';

function addPort(role: 'master' | 'slave'): Step {
  return {
    name: 'do_add_port_to_instance_config',
    role,
    timeoutSec: 30,
    effect: 'remote',
    group: 'port_conf',
    plan: (n) => [addInstanceConfLine(n.layout)],
    probe: (c, [n], s) => c.test(n!, instanceConfProbe(n!.layout), s),
    async run(c, [n], s) {
      const r = (await c.remote(n!, addInstanceConfLine(n!.layout), s)).trim();
      return `${n!.host}: "${n!.port} = 1" ${r} in ${n!.layout.instanceConf}`;
    },
  };
}
export const doAddPortToInstanceConfigMaster = addPort('master');
export const doAddPortToInstanceConfigSlave = addPort('slave');

export function initScript(c: InstallCtx, n: Node): string {
  const l = n.layout;
  return [
    '#!/bin/sh',
    '### BEGIN INIT INFO',
    `# Provides:          mysql${n.port}`,
    '# Required-Start:    $local_fs $network $remote_fs',
    '# Required-Stop:     $local_fs $network $remote_fs',
    '# Default-Start:     2 3 4 5',
    '# Default-Stop:      0 1 6',
    commentText(`# Short-Description: RDS instance ${c.custins.ins_name} (${n.role}, port ${n.port})`),
    '### END INIT INFO',
    '# Written by rdsctl do_rebuild_initd; rewritten whenever the step runs.',
    'set -e',
    'PATH="$PATH:/usr/sbin:/usr/local/sbin:/sbin"; export PATH',
    'case "$1" in',
    `  start) ${startBody(l)} ;;`,
    `  stop) ${stopBody(l)} ;;`,
    '  restart) "$0" stop; "$0" start ;;',
    `  status) if ${aliveTest(l)}; then echo "running (pid $p)"; else echo stopped; exit 3; fi ;;`,
    '  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;',
    'esac',
    '',
  ].join('\n');
}

function rebuildInitd(role: 'master' | 'slave'): Step {
  return {
    name: 'do_rebuild_initd',
    role,
    timeoutSec: 30,
    effect: 'remote',
    group: HOST_FILES,
    plan: (n) => [`${writeFileScript(n.layout.initScript, '0755')}  # stdin: the init script (start/stop/restart/status of mysql${n.port})`],
    probe: async (c, [n], s) => (await c.remote(n!, readFileScript(n!.layout.initScript), s)) === initScript(c, n!),
    async run(c, [n], s) {
      await c.remote(n!, writeFileScript(n!.layout.initScript, '0755'), s, { stdin: initScript(c, n!) });
      return `${n!.host}: ${n!.layout.initScript}`;
    },
  };
}
export const doRebuildInitdMaster = rebuildInitd('master');
export const doRebuildInitdSlave = rebuildInitd('slave');

async function openFiles(c: InstallCtx): Promise<number> {
  const rows = await c.db.query<{ value: string }>("SELECT value FROM mycnf_custinstance WHERE custins_id = ? AND name = 'open_files_limit'", [c.custins.id]);
  const v = Number(rows[0]?.value);
  return Number.isInteger(v) && v > 0 ? v : c.cls.max_connections * 5;
}

export async function limitsFile(c: InstallCtx, n: Node): Promise<string> {
  return [
    commentText(`# resource limits of ${c.custins.ins_name} (${n.role}, port ${n.port}), written by rdsctl do_config_resource.`),
    `# Sourced by ${n.layout.initScript} at start. NOFILE is enforced (ulimit at start, prlimit on the`,
    '# running server); CPU and memory need cgroups, which this NC setup does not give rdsctl: they are',
    '# recorded here and in /etc/rds_resource_config.conf, and memory is bounded by innodb_buffer_pool_size.',
    `NOFILE=${shInt(await openFiles(c), 'open_files_limit')}`,
    `CPU_CORES=${shInt(c.cls.cpu, 'instance_class.cpu')}`,
    `MEM_MB=${shInt(c.cls.mem_mb, 'instance_class.mem_mb')}`,
    `MAX_IOPS=${shInt(c.cls.max_iops, 'instance_class.max_iops')}`,
    '',
  ].join('\n');
}

function configResource(role: 'master' | 'slave'): Step {
  return {
    name: 'do_config_resource',
    role,
    timeoutSec: 30,
    effect: 'remote',
    group: HOST_FILES,
    // NOFILE comes from the open_files_limit row do_build_params writes: not known before then.
    plan: (n) => [`configResourceScript(${n.layout.limitsFile}, NOFILE = open_files_limit from mycnf_custinstance)  # stdin: the limits file; writes it, then prlimit --nofile on the running mysqld of port ${n.port}`],
    probe: async (c, [n], s) => (await c.remote(n!, readFileScript(n!.layout.limitsFile), s)) === (await limitsFile(c, n!)),
    async run(c, [n], s) {
      const out = await c.remote(n!, configResourceScript(n!.layout, await openFiles(c)), s, { stdin: await limitsFile(c, n!) });
      return `${n!.host}: ${out.trim()}`;
    },
  };
}

export function resourceSection(c: InstallCtx, n: Node): string {
  const f = plainField;
  return [`[${f(n.port, 'port')}]`, `ins_name = ${f(c.custins.ins_name, 'ins_name')}`, `role = ${f(n.role, 'role')}`, `cpu_cores = ${f(c.cls.cpu, 'cpu')}`, `mem_mb = ${f(c.cls.mem_mb, 'mem_mb')}`, `disk_gb = ${f(c.custins.storage_gb, 'disk_gb')}`, `max_iops = ${f(c.cls.max_iops, 'max_iops')}`, `max_connections = ${f(c.cls.max_connections, 'max_connections')}`, ''].join('\n');
}

function persistResourceConfig(role: 'master' | 'slave'): Step {
  return {
    name: 'do_persist_resource_config',
    role,
    timeoutSec: 30,
    effect: 'remote',
    group: HOST_FILES,
    plan: (n, v) => [`${writeResourceSection(n.layout)}  # stdin: section [${n.port}] ins_name = ${v.insName}, role = ${n.role}, class cpu/mem/iops/connections, disk_gb`],
    async probe(c, [n], s) {
      const text = await c.remote(n!, readFileScript(n!.layout.resourceConf), s);
      return sectionOf(text, String(n!.port)) === resourceSection(c, n!);
    },
    async run(c, [n], s) {
      await c.remote(n!, writeResourceSection(n!.layout), s, { stdin: resourceSection(c, n!) });
      return `${n!.host}: [${n!.port}] in ${n!.layout.resourceConf}`;
    },
  };
}

/** The [name] section of an ini text, header included, with a trailing newline. */
export function sectionOf(text: string, name: string): string | null {
  const lines = text.split('\n');
  const i = lines.indexOf(`[${name}]`);
  if (i < 0) return null;
  let j = i + 1;
  while (j < lines.length && !lines[j]!.startsWith('[')) j++;
  return lines.slice(i, j).filter((l, k) => k === 0 || l !== '').join('\n') + '\n';
}

export const doConfigResourceMaster = configResource('master');
export const doPersistResourceConfigMaster = persistResourceConfig('master');
export const doConfigResourceSlave = configResource('slave');
export const doPersistResourceConfigSlave = persistResourceConfig('slave');

function writeInsname(role: 'master' | 'slave'): Step {
  return {
    name: 'do_write_insname_to_file',
    role,
    timeoutSec: 30,
    effect: 'remote',
    group: HOST_FILES,
    plan: (n, v) => [`${writeFileScript(n.layout.insnameFile, '0644')}  # stdin: ${v.insName}`],
    probe: async (c, [n], s) => (await c.remote(n!, readFileScript(n!.layout.insnameFile), s)) === plainField(c.custins.ins_name, 'ins_name') + '\n',
    async run(c, [n], s) {
      await c.remote(n!, writeFileScript(n!.layout.insnameFile, '0644'), s, { stdin: plainField(c.custins.ins_name, 'ins_name') + '\n' });
      return `${n!.host}: ${n!.layout.insnameFile}`;
    },
  };
}
export const doWriteInsnameToFileMaster = writeInsname('master');
export const doWriteInsnameToFileSlave = writeInsname('slave');

export function insinfoLine(c: InstallCtx, n: Node): string {
  const p = peerOf(c, n);
  const f = plainField;
  return `${f(n.port, 'port')} ${f(c.custins.ins_name, 'ins_name')} ${f(n.role, 'role')} ${f(c.custins.id, 'custins id')} ${f(p.ip, 'peer ip')}:${f(p.port, 'peer port')}\n`;
}

export const doFlushInsinfoFile: Step = {
  name: 'do_flush_insinfo_file',
  role: 'both',
  timeoutSec: 30,
  effect: 'remote',
  plan: (n, v) => [`${writeInsinfoLine(n.layout)}  # stdin: "${n.port} ${v.insName} ${n.role} <custins id> ${v.peer.ip}:${v.peer.port}"`],
  async probe(c, nodes, s) {
    const ok = await Promise.all(nodes.map(async (n) => (await c.remote(n, readFileScript(n.layout.insinfoFile), s)).split('\n').includes(insinfoLine(c, n).trimEnd())));
    return ok.every(Boolean);
  },
  async run(c, nodes, s) {
    await Promise.all(nodes.map((n) => c.remote(n, writeInsinfoLine(n.layout), s, { stdin: insinfoLine(c, n) })));
    return nodes.map((n) => `${n.host}: ${insinfoLine(c, n).trim()}`).join('; ');
  },
};

