import type { Context } from '../core/context.js';
import { ConflictError, ExitCode, NotFoundError, RdsctlError, RemoteError, UnavailableError, UsageError, describeError } from '../core/errors.js';
import { printRecords, printSections, type Column, type OutputFormat, jsonText } from '../core/output.js';
import { findNc, listNcs, vmCountsOnNc, type Nc } from './nc.js';
import { powerVm, type PowerResult } from './power.js';
import type { PowerAction } from './virsh.js';
import { findVm, vmsOnNc, type Vm } from './vm.js';
import { ACL_COLUMNS, NATGW_ACL_ACTIONS, type AclAnswer, type HyapiAction } from '../vpc/natgw-acl.js';

// `hyapi ACTION key=value…`, the go2hyapi of the AG: the Houyi API's actions over the houyi metadb
// and the NCs. Answers come in the API's envelope {code, message, data}: code "200" on success,
// an error code string otherwise. The action table drives parsing, validation and --help.

export interface ParamSpec {
  name: string;
  required: boolean;
  help: string;
}

export interface ActionSpec {
  name: string;
  summary: string;
  params: ParamSpec[];
  /** Changes state: audited, takes --dry-run and --reason. */
  mutating: boolean;
  /** An action another domain owns (the NAT gateway ACL in vpc/): it validates and runs itself; hyapi prints its answer. */
  delegate?: HyapiAction;
}

const VM_NAME: ParamSpec = { name: 'vm_name', required: true, help: 'VM name, instance ID (i-…) or IP' };
const NC_NAME: ParamSpec = { name: 'nc_name', required: true, help: 'NC hostname, IP or SN' };

export const ACTIONS: ActionSpec[] = [
  { name: 'detail_vm', summary: 'one VM: status, NC, resources, image', params: [VM_NAME], mutating: false },
  { name: 'list_vm', summary: 'the VMs on an NC', params: [NC_NAME], mutating: false },
  { name: 'detail_nc', summary: 'one NC: zone, cluster, status, capacity, VM count', params: [NC_NAME], mutating: false },
  {
    name: 'list_nc',
    summary: 'every NC, optionally in one zone and/or cluster',
    params: [
      { name: 'zone', required: false, help: 'zone name' },
      { name: 'cluster', required: false, help: 'cluster name' },
    ],
    mutating: false,
  },
  { name: 'start_vm', summary: 'virsh start on the NC; houyi says running once the NC confirms', params: [VM_NAME], mutating: true },
  { name: 'stop_vm', summary: 'virsh shutdown on the NC; houyi says stopped once the NC confirms', params: [VM_NAME], mutating: true },
  { name: 'reboot_vm', summary: 'virsh reboot on the NC; done once the NC reports it running', params: [VM_NAME], mutating: true },
  ...NATGW_ACL_ACTIONS.map(
    (a): ActionSpec => ({
      name: a.name,
      summary: a.summary,
      params: a.params.map((name) => ({ name, required: a.required.includes(name), help: '' })),
      mutating: a.mutating,
      delegate: a,
    }),
  ),
];

export function actionsHelp(): string {
  const w = Math.max(...ACTIONS.map((a) => a.name.length));
  const lines = ['', 'Actions:'];
  for (const a of ACTIONS) {
    const params = a.params.map((p) => (p.required ? `${p.name}=…` : `[${p.name}=…]`)).join(' ');
    lines.push(`  ${a.name.padEnd(w)}  ${params.padEnd(22)}  ${a.summary}`);
    if (params.length > 22) lines[lines.length - 1] = `  ${a.name.padEnd(w)}  ${a.summary}\n  ${' '.repeat(w)}    ${params}`;
  }
  lines.push('', 'Parameters:', `  ${VM_NAME.name}  ${VM_NAME.help}`, `  ${NC_NAME.name}  ${NC_NAME.help}`, '');
  return lines.join('\n');
}

export interface HyapiCall {
  action: ActionSpec;
  params: Record<string, string>;
}

/** ACTION and key=value words → a checked call; anything unknown or missing is a usage error naming the valid ones. */
export function parseCall(actionName: string, words: readonly string[]): HyapiCall {
  const action = ACTIONS.find((a) => a.name === actionName);
  if (!action) throw new UsageError(`hyapi: unknown action "${actionName}" (valid: ${ACTIONS.map((a) => a.name).join(', ')})`);
  const valid = action.params.map((p) => p.name);
  const validText = valid.length ? valid.join(', ') : 'none';
  const params: Record<string, string> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UsageError(`hyapi ${action.name}: "${w}" is not key=value (valid keys: ${validText})`);
    const key = w.slice(0, eq);
    const value = w.slice(eq + 1);
    if (!valid.includes(key)) throw new UsageError(`hyapi ${action.name}: unknown parameter "${key}" (valid: ${validText})`);
    if (key in params) throw new UsageError(`hyapi ${action.name}: parameter "${key}" given twice`);
    if (value === '') throw new UsageError(`hyapi ${action.name}: ${key} is empty`);
    params[key] = value;
  }
  const missing = action.params.filter((p) => p.required && !(p.name in params)).map((p) => p.name);
  if (missing.length) throw new UsageError(`hyapi ${action.name}: missing ${missing.join(', ')} (valid: ${validText})`);
  return { action, params };
}

export interface Envelope<T> {
  code: string;
  message: string;
  data: T | null;
}

/** The API's error code for what went wrong, in the Houyi API's spelling. */
export function apiErrorCode(err: unknown, action: ActionSpec): string {
  const noun = action.params[0]?.name === 'nc_name' ? 'NcName' : action.params[0]?.name === 'vm_name' ? 'VmName' : 'Parameter';
  if (err instanceof NotFoundError) return `Invalid${noun}.NotFound`;
  if (err instanceof ConflictError) return 'IncorrectVmStatus';
  if (err instanceof RemoteError) return 'Hypervisor.OperationFailed';
  if (err instanceof UnavailableError) return 'ServiceUnavailable';
  if (err instanceof RdsctlError && err.exitCode === ExitCode.INTERRUPTED) return 'Interrupted';
  return 'InternalError';
}

export interface VmDetail {
  vm_name: string;
  instance_id: string;
  status: string;
  nc_name: string;
  nc_ip: string;
  cluster: string;
  zone: string;
  vcpu: number;
  mem_mb: number;
  ip: string;
  ssh_port: number;
  image: string;
  vpc_id: string | null;
  gmt_created: Date;
  gmt_modified: Date;
}

export function vmDetail(v: Vm): VmDetail {
  return {
    vm_name: v.name,
    instance_id: v.instance_id,
    status: v.status,
    nc_name: v.nc_hostname,
    nc_ip: v.nc_ip,
    cluster: v.cluster,
    zone: v.zone,
    vcpu: v.vcpu,
    mem_mb: v.mem_mb,
    ip: v.ip,
    ssh_port: v.ssh_port,
    image: v.image,
    vpc_id: v.vpc_id,
    gmt_created: v.gmt_created,
    gmt_modified: v.gmt_modified,
  };
}

export interface NcDetail {
  nc_name: string;
  ip: string;
  sn: string;
  region: string;
  zone: string;
  cluster: string;
  status: string;
  locked: boolean;
  lock_reason: string | null;
  cpu_total: number;
  cpu_allocated: number;
  mem_total_mb: number;
  mem_allocated_mb: number;
  disk_total_gb: number;
  ssh_port: number;
}

export function ncDetail(n: Nc): NcDetail {
  return {
    nc_name: n.hostname,
    ip: n.ip,
    sn: n.sn,
    region: n.region,
    zone: n.zone,
    cluster: n.cluster,
    status: n.status,
    locked: n.locked,
    lock_reason: n.lock_reason,
    cpu_total: n.cpu_total,
    cpu_allocated: n.cpu_allocated,
    mem_total_mb: n.mem_total_mb,
    mem_allocated_mb: n.mem_allocated_mb,
    disk_total_gb: n.disk_total_gb,
    ssh_port: n.ssh_port,
  };
}

export interface CallFlags {
  dryRun: boolean;
  yes: boolean;
  reason: string | null;
  waitSec: number;
}

export type CallResult =
  | { kind: 'vm'; data: VmDetail }
  | { kind: 'vms'; data: VmDetail[] }
  | { kind: 'nc'; data: NcDetail & { vm_count: number } }
  | { kind: 'ncs'; data: NcDetail[] }
  | { kind: 'power'; data: PowerResult }
  | { kind: 'dry-run' }
  | Exclude<AclAnswer, { kind: 'dry-run' }>;

export async function callAction(ctx: Context, call: HyapiCall, flags: CallFlags, format: OutputFormat): Promise<CallResult> {
  const p = call.params;
  if (call.action.delegate) return call.action.delegate.run(ctx, p, { output: format, flags: { dryRun: flags.dryRun, yes: flags.yes, reason: flags.reason } });
  const houyi = (): ReturnType<Context['db']> => ctx.db('houyi');
  switch (call.action.name) {
    case 'detail_vm':
      return { kind: 'vm', data: vmDetail(await findVm(houyi(), p.vm_name!)) };
    case 'list_vm': {
      const nc = await findNc(houyi(), p.nc_name!);
      return { kind: 'vms', data: (await vmsOnNc(houyi(), nc.id)).map(vmDetail) };
    }
    case 'detail_nc': {
      const nc = await findNc(houyi(), p.nc_name!);
      return { kind: 'nc', data: { ...ncDetail(nc), vm_count: (await vmCountsOnNc(houyi(), nc.id)).total } };
    }
    case 'list_nc':
      return { kind: 'ncs', data: (await listNcs(houyi(), { zone: p.zone, cluster: p.cluster })).map(ncDetail) };
    default: {
      const action = call.action.name.replace(/_vm$/, '') as PowerAction;
      const r = await powerVm(ctx, { action, vm: p.vm_name!, dryRun: flags.dryRun, reason: flags.reason, waitSec: flags.waitSec }, format === 'json' ? 'json' : 'text');
      return r ? { kind: 'power', data: r } : { kind: 'dry-run' };
    }
  }
}

const VM_COLUMNS: Column<VmDetail>[] = [
  { header: 'VM_NAME', value: (v) => v.vm_name },
  { header: 'INSTANCE_ID', value: (v) => v.instance_id },
  { header: 'STATUS', value: (v) => v.status, tone: (v) => (v.status === 'running' ? 'ok' : v.status === 'stopped' ? 'warn' : undefined) },
  { header: 'VCPU', value: (v) => v.vcpu, align: 'right' },
  { header: 'MEM_MB', value: (v) => v.mem_mb, align: 'right' },
  { header: 'IP', value: (v) => v.ip },
  { header: 'IMAGE', value: (v) => v.image },
  { header: 'NC', value: (v) => v.nc_name, wide: true },
  { header: 'VPC_ID', value: (v) => v.vpc_id, wide: true },
];

const NC_COLUMNS: Column<NcDetail>[] = [
  { header: 'NC_NAME', value: (n) => n.nc_name },
  { header: 'IP', value: (n) => n.ip },
  { header: 'ZONE', value: (n) => n.zone },
  { header: 'CLUSTER', value: (n) => n.cluster },
  { header: 'STATUS', value: (n) => n.status, tone: (n) => (n.status === 'online' ? 'ok' : 'warn') },
  { header: 'LOCKED', value: (n) => n.locked },
  { header: 'CPU', value: (n) => `${n.cpu_allocated}/${n.cpu_total}`, align: 'right' },
  { header: 'MEM_MB', value: (n) => `${n.mem_allocated_mb}/${n.mem_total_mb}`, align: 'right' },
  { header: 'SN', value: (n) => n.sn, wide: true },
];

function fieldsOf(o: object): Array<[string, unknown]> {
  return Object.entries(o);
}

/** Print a call's answer: the envelope as JSON, or tables/sections for people. */
export function printAnswer(ctx: Context, format: OutputFormat, r: CallResult): void {
  if (r.kind === 'dry-run') return;
  if (format === 'json') {
    const envelope: Envelope<unknown> = { code: '200', message: 'success', data: r.data };
    ctx.io.out(jsonText(envelope));
    return;
  }
  switch (r.kind) {
    case 'vms':
      printRecords(ctx.io, format, VM_COLUMNS, r.data);
      return;
    case 'acl-rules':
      printRecords(ctx.io, format, ACL_COLUMNS, r.data);
      return;
    case 'acl-rule':
      printRecords(ctx.io, format, ACL_COLUMNS, [r.data]);
      return;
    case 'ncs':
      printRecords(ctx.io, format, NC_COLUMNS, r.data);
      return;
    case 'vm':
      printSections(ctx.io, format, [{ title: `VM ${r.data.vm_name}`, fields: fieldsOf(r.data) }], r.data);
      return;
    case 'nc':
      printSections(ctx.io, format, [{ title: `NC ${r.data.nc_name}`, fields: fieldsOf(r.data) }], r.data);
      return;
    case 'power':
      printSections(ctx.io, format, [{ title: `${r.data.action}_vm ${r.data.vm_name}`, fields: fieldsOf(r.data) }], r.data);
      return;
  }
}

/** The envelope of a failed call, for JSON readers; the error itself is still reported on stderr. */
export function printFailure(ctx: Context, format: OutputFormat, call: HyapiCall, err: unknown): void {
  if (format !== 'json' || err instanceof UsageError || call.action.delegate) return;
  const envelope: Envelope<null> = { code: apiErrorCode(err, call.action), message: describeError(err).message, data: null };
  ctx.io.out(jsonText(envelope));
}
