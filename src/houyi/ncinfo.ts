import type { Context } from '../core/context.js';
import { ExitCode, RdsctlError, RemoteError, oneLine } from '../core/errors.js';
import type { Section } from '../core/output.js';
import { sh } from '../remote/quote.js';
import type { SshPool } from '../remote/ssh-types.js';
import { instancesOnHost, type RdsInstanceOnHost } from '../rds/lookup.js';
import { findNc, ncTarget, vmCountsOnNc, type Nc } from './nc.js';

// go2ncinfo: one NC described from houyi (facts, capacity, VMs), dbaas (RDS instances on it) and,
// with --live, the host itself over SSH (uptime, load, free space under the data directory).
// A source that cannot be read is reported in `errors` and the rest is still shown.

/** Where RDS keeps instance data on an NC (the seeds: /mysqldata/dbs3006 …). */
export const DATA_DIR = '/mysqldata';

export interface LiveFacts {
  uptime_sec: number;
  load_1: number;
  load_5: number;
  load_15: number;
  data_dir: string;
  data_dir_exists: boolean;
  disk_total_kb: number | null;
  disk_used_kb: number | null;
  disk_free_kb: number | null;
  disk_used_pct: number | null;
}

export interface NcInfo {
  hostname: string;
  ip: string;
  sn: string;
  region: string;
  zone: string;
  cluster: string;
  status: string;
  locked: boolean;
  lock_reason: string | null;
  ssh_port: number;
  cpu_total: number;
  cpu_allocated: number;
  mem_total_mb: number;
  mem_allocated_mb: number;
  disk_total_gb: number;
  vm_count: number;
  vms_by_status: Record<string, number>;
  /** null when dbaas could not be read (see errors). */
  rds_instances: RdsInstanceOnHost[] | null;
  /** null without --live, or when the host could not be read (see errors). */
  live: LiveFacts | null;
  /** One line per source that failed: "dbaas: …", "live: …". */
  errors: string[];
}

const NO_DIR = 'RDSCTL-NO-DATA-DIR';

export function liveCommand(dataDir: string): string {
  return sh`cat /proc/uptime /proc/loadavg && if [ -d ${dataDir} ]; then df -Pk ${dataDir} | tail -n 1; else echo ${NO_DIR}; fi`;
}

/** Output of liveCommand: uptime line, loadavg line, one df -P line (or the no-dir marker). */
export function parseLive(out: string, dataDir: string): LiveFacts {
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  const up = Number(lines[0]?.split(/\s+/)[0]);
  const load = (lines[1] ?? '').split(/\s+/).slice(0, 3).map(Number);
  if (!Number.isFinite(up) || load.length !== 3 || load.some((n) => !Number.isFinite(n))) throw new RemoteError(`unexpected /proc/uptime or /proc/loadavg output: "${oneLine(out.slice(0, 120))}"`);
  const facts: LiveFacts = {
    uptime_sec: Math.floor(up),
    load_1: load[0]!,
    load_5: load[1]!,
    load_15: load[2]!,
    data_dir: dataDir,
    data_dir_exists: lines[2] !== NO_DIR,
    disk_total_kb: null,
    disk_used_kb: null,
    disk_free_kb: null,
    disk_used_pct: null,
  };
  if (facts.data_dir_exists) {
    // df -P: Filesystem 1024-blocks Used Available Capacity Mounted-on; the device name may hold spaces, so read from the right.
    const f = (lines[2] ?? '').split(/\s+/);
    const n = f.length;
    if (n < 6) throw new RemoteError(`unexpected df output: "${oneLine(lines[2] ?? '')}"`);
    facts.disk_total_kb = Number(f[n - 5]);
    facts.disk_used_kb = Number(f[n - 4]);
    facts.disk_free_kb = Number(f[n - 3]);
    facts.disk_used_pct = Number(String(f[n - 2]).replace('%', ''));
  }
  return facts;
}

export async function readLive(ctx: Context, pool: SshPool, nc: Nc, timeoutSec: number): Promise<LiveFacts> {
  const out = await pool.run(ncTarget(nc), liveCommand(DATA_DIR), { timeoutSec, signal: ctx.signal });
  return parseLive(out, DATA_DIR);
}

export interface NcInfoRequest {
  nc: string;
  live: boolean;
  /** Supplied when live: the pool to reach the NC with and the command timeout. */
  pool?: () => Promise<SshPool>;
  commandTimeoutSec: number;
}

export async function ncInfo(ctx: Context, req: NcInfoRequest): Promise<NcInfo> {
  const houyi = ctx.db('houyi');
  const nc = await findNc(houyi, req.nc);
  const errors: string[] = [];
  // houyi and dbaas at the same time: two metadbs, two connections that need not wait on each other.
  const [counts, rds] = await Promise.all([
    vmCountsOnNc(houyi, nc.id),
    instancesOnHost(ctx.db('dbaas'), nc.hostname).catch((e: unknown): RdsInstanceOnHost[] | null => {
      errors.push(`dbaas: ${errorText(e)}`);
      return null;
    }),
  ]);
  let live: LiveFacts | null = null;
  if (req.live && req.pool) {
    try {
      live = await readLive(ctx, await req.pool(), nc, req.commandTimeoutSec);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      errors.push(`live: ${errorText(e)}`);
    }
  }
  return {
    hostname: nc.hostname,
    ip: nc.ip,
    sn: nc.sn,
    region: nc.region,
    zone: nc.zone,
    cluster: nc.cluster,
    status: nc.status,
    locked: nc.locked,
    lock_reason: nc.lock_reason,
    ssh_port: nc.ssh_port,
    cpu_total: nc.cpu_total,
    cpu_allocated: nc.cpu_allocated,
    mem_total_mb: nc.mem_total_mb,
    mem_allocated_mb: nc.mem_allocated_mb,
    disk_total_gb: nc.disk_total_gb,
    vm_count: counts.total,
    vms_by_status: counts.by_status,
    rds_instances: rds,
    live,
    errors,
  };
}

/** After printing: a dbaas that could not be read is "unavailable", a host that could not be read "remote". */
export function ncInfoExitCode(i: NcInfo): number {
  if (i.errors.some((e) => e.startsWith('dbaas:'))) return ExitCode.UNAVAILABLE;
  if (i.errors.some((e) => e.startsWith('live:'))) return ExitCode.REMOTE;
  return ExitCode.OK;
}

function errorText(e: unknown): string {
  return oneLine(e instanceof RdsctlError || e instanceof Error ? e.message : String(e));
}

function pct(part: number, total: number): string {
  return total > 0 ? `${Math.round((part / total) * 100)}%` : '-';
}

function duration(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m`;
}

export function ncInfoSections(i: NcInfo): Section[] {
  const sections: Section[] = [
    {
      title: `NC ${i.hostname}`,
      fields: [
        ['ip', i.ip],
        ['sn', i.sn],
        ['region', i.region],
        ['zone', i.zone],
        ['cluster', i.cluster],
        ['status', i.status],
        ['locked', i.locked ? `yes${i.lock_reason ? ` (${i.lock_reason})` : ''}` : 'no'],
        ['ssh_port', i.ssh_port],
      ],
    },
    {
      title: 'Capacity',
      fields: [
        ['cpu', `${i.cpu_allocated}/${i.cpu_total} allocated (${pct(i.cpu_allocated, i.cpu_total)})`],
        ['memory', `${i.mem_allocated_mb}/${i.mem_total_mb} MB allocated (${pct(i.mem_allocated_mb, i.mem_total_mb)})`],
        ['disk', `${i.disk_total_gb} GB`],
      ],
    },
    {
      title: 'VMs',
      fields: [['count', i.vm_count], ...Object.entries(i.vms_by_status).map(([k, v]): [string, unknown] => [k, v])],
    },
    i.rds_instances === null
      ? { title: 'RDS instances', empty: '(dbaas unavailable)' }
      : {
          title: 'RDS instances',
          table: { headers: ['INS_NAME', 'ROLE', 'PORT', 'STATUS', 'ENGINE'], rows: i.rds_instances.map((r) => [r.ins_name, r.role, r.port, r.status, `${r.engine} ${r.version}`]) },
          empty: '(none)',
        },
  ];
  if (i.live) {
    const l = i.live;
    sections.push({
      title: 'Live',
      fields: [
        ['uptime', duration(l.uptime_sec)],
        ['load', `${l.load_1} ${l.load_5} ${l.load_15}`],
        ['data_dir', l.data_dir_exists ? l.data_dir : `${l.data_dir} (missing)`],
        ...(l.data_dir_exists ? [['disk_free', `${Math.round((l.disk_free_kb ?? 0) / 1024)} MB free of ${Math.round((l.disk_total_kb ?? 0) / 1024)} MB (${l.disk_used_pct}% used)`] as [string, unknown]] : []),
      ],
    });
  }
  if (i.errors.length) sections.push({ title: 'Errors', fields: i.errors.map((e, n): [string, unknown] => [String(n + 1), e]) });
  return sections;
}
