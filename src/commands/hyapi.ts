import type { Command } from 'commander';
import type { Role } from '../core/command.js';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { requireRole } from '../core/authz.js';
import { ConflictError, ExitCode, NotFoundError, RdsctlError, RemoteError, UnavailableError, UsageError, describeError } from '../core/errors.js';
import { addMutationOptions, applyAudited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../core/mutation.js';
import { addOutputOption, parseOutput, printRecords, printSections, type Column, type OutputFormat } from '../core/output.js';
import { findNc, listNcs, vmCountsOnNc } from '../houyi/nc.js';
import { planPower, type PowerResult } from '../houyi/power.js';
import { HYAPI_VM_ALIASES, hyapiVmRecord, ncDetail, type HyapiVmRecord, type NcDetail } from '../houyi/records.js';
import type { PowerAction } from '../houyi/virsh.js';
import { findVm, vmsOnNc } from '../houyi/vm.js';
import { listNatgws, NATGW_COLUMNS, type NatgwListRow } from '../vpc/list.js';
import { DIRECTIONS, listAcl, parseAclId, planAddAcl, planDeleteAcl, validateAclRule, type AclRule } from '../vpc/natgw-acl.js';
import { idArg, oneOf } from '../vpc/validate.js';

// `rdsctl hyapi ACTION key=value…`, the go2hyapi of the AG: the Houyi API's actions over the houyi
// metadb and the NCs, each a call of a domain function (houyi/, vpc/natgw-acl.ts). Answers come in
// the API's envelope {code, message, data}: code "200" on success, an error code string otherwise.
// The action table drives parsing, validation, roles and --help.

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
  /** The least role (reads are open to every role that may run hyapi). */
  role: Role;
  /** A NAT gateway ACL action: a conflict is a rule clash or an unusable gateway, not a VM state. */
  acl?: boolean;
}

const VM_NAME: ParamSpec = { name: 'vm_name', required: true, help: 'VM name, instance ID (i-…) or IP' };
const NC_NAME: ParamSpec = { name: 'nc_name', required: true, help: 'NC hostname, IP or SN' };
const opt = (name: string): ParamSpec => ({ name, required: false, help: '' });
const req = (name: string): ParamSpec => ({ name, required: true, help: '' });

export const ACTIONS: ActionSpec[] = [
  { name: 'detail_vm', summary: 'one VM: status, NC, resources, image', params: [VM_NAME], mutating: false, role: 'read' },
  { name: 'list_vm', summary: 'the VMs on an NC', params: [NC_NAME], mutating: false, role: 'read' },
  { name: 'detail_nc', summary: 'one NC: zone, cluster, status, capacity, VM count', params: [NC_NAME], mutating: false, role: 'read' },
  { name: 'list_nc', summary: 'every NC, optionally in one zone and/or cluster', params: [{ name: 'zone', required: false, help: 'zone name' }, { name: 'cluster', required: false, help: 'cluster name' }], mutating: false, role: 'read' },
  { name: 'start_vm', summary: 'virsh start on the NC; houyi says running once the NC confirms', params: [VM_NAME], mutating: true, role: 'operator' },
  { name: 'stop_vm', summary: 'virsh shutdown on the NC; houyi says stopped once the NC confirms', params: [VM_NAME], mutating: true, role: 'operator' },
  { name: 'reboot_vm', summary: 'virsh reboot on the NC; done once the NC reports it running', params: [VM_NAME], mutating: true, role: 'operator' },
  { name: 'list_natgw', summary: 'NAT gateways (id, VPC, address, status, ACL rule count), optionally of one VPC', params: [{ name: 'vpc_id', required: false, help: 'VPC id' }], mutating: false, role: 'read' },
  { name: 'list_natgw_acl', summary: 'List the ACL rules of NAT gateways', params: [opt('natgw_id'), opt('direction')], mutating: false, role: 'read', acl: true },
  {
    name: 'add_natgw_acl',
    summary: 'Add an ACL rule to a NAT gateway (validated; duplicates refused)',
    params: [req('natgw_id'), req('direction'), req('protocol'), req('src_cidr'), req('dst_cidr'), opt('port_range'), opt('policy'), opt('priority'), opt('description')],
    mutating: true,
    role: 'operator',
    acl: true,
  },
  { name: 'delete_natgw_acl', summary: 'Delete an ACL rule of a NAT gateway by id (asks first)', params: [req('acl_id'), opt('natgw_id')], mutating: true, role: 'admin', acl: true },
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

/** A checked call: the action, its key=value parameters, and for the ACL actions their typed input. */
export type HyapiCall =
  | { action: ActionSpec; params: Record<string, string>; kind: 'houyi' }
  | { action: ActionSpec; params: Record<string, string>; kind: 'acl-list'; filter: Parameters<typeof listAcl>[1] }
  | { action: ActionSpec; params: Record<string, string>; kind: 'acl-add'; rule: ReturnType<typeof validateAclRule> }
  | { action: ActionSpec; params: Record<string, string>; kind: 'acl-delete'; id: number; natgwId?: string };

/** ACTION and key=value words → a checked call; anything unknown, missing or malformed is a usage error naming the valid ones. */
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
  switch (action.name) {
    case 'list_natgw':
      if (params.vpc_id !== undefined) idArg(params.vpc_id, 'vpc_id');
      return { action, params, kind: 'houyi' };
    case 'list_natgw_acl':
      return {
        action,
        params,
        kind: 'acl-list',
        filter: {
          ...(params.natgw_id !== undefined ? { natgw_id: idArg(params.natgw_id, 'natgw_id') } : {}),
          ...(params.direction !== undefined ? { direction: oneOf(params.direction.toLowerCase(), DIRECTIONS, 'direction') } : {}),
        },
      };
    case 'add_natgw_acl':
      return { action, params, kind: 'acl-add', rule: validateAclRule(params) };
    case 'delete_natgw_acl':
      return { action, params, kind: 'acl-delete', id: parseAclId(params.acl_id!), ...(params.natgw_id !== undefined ? { natgwId: idArg(params.natgw_id, 'natgw_id') } : {}) };
    default:
      return { action, params, kind: 'houyi' };
  }
}

export interface Envelope<T> {
  code: string;
  message: string;
  data: T | null;
}

const API_NOUNS: Record<string, string> = { nc_name: 'NcName', vm_name: 'VmName', natgw_id: 'NatGatewayId', acl_id: 'AclId', vpc_id: 'VpcId' };

/** The API's error code for what went wrong, in the Houyi API's spelling. */
export function apiErrorCode(err: unknown, action: ActionSpec): string {
  const noun = API_NOUNS[action.params[0]?.name ?? ''] ?? 'Parameter';
  if (err instanceof NotFoundError) return `Invalid${noun}.NotFound`;
  if (err instanceof ConflictError) return action.acl ? 'AclEntry.Conflict' : 'IncorrectVmStatus';
  if (err instanceof RemoteError) return 'Hypervisor.OperationFailed';
  if (err instanceof UnavailableError) return 'ServiceUnavailable';
  if (err instanceof RdsctlError && err.exitCode === ExitCode.INTERRUPTED) return 'Interrupted';
  return 'InternalError';
}

export interface Options {
  call: HyapiCall;
  output: OutputFormat;
  mutation: MutationFlags;
  /** Seconds to wait for the NC to confirm a start/stop/reboot. */
  waitSec: number;
}

type CallResult =
  | { kind: 'vm'; data: HyapiVmRecord }
  | { kind: 'vms'; data: HyapiVmRecord[] }
  | { kind: 'nc'; data: NcDetail & { vm_count: number } }
  | { kind: 'ncs'; data: NcDetail[] }
  | { kind: 'natgws'; data: NatgwListRow[] }
  | { kind: 'power'; data: PowerResult }
  | { kind: 'acl-rules'; data: AclRule[] }
  | { kind: 'acl-rule'; data: AclRule }
  | { kind: 'dry-run' };

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd, 'json')
    .argument('<action>', 'the API action (see Actions below)')
    .argument('[params...]', 'key=value parameters of the action')
    .option('--wait <sec>', 'start_vm/stop_vm/reboot_vm: seconds to wait for the NC to confirm the new state', '120');
  addMutationOptions(cmd, { confirm: true })
    .addHelpText('after', actionsHelp() + examples('rdsctl hyapi detail_vm vm_name=vm-001', 'rdsctl hyapi list_nc zone=cn-hangzhou-a -o table', 'rdsctl hyapi stop_vm vm_name=vm-001 --reason "disk check" --dry-run', 'rdsctl hyapi start_vm vm_name=i-bp1574c30eedd5f3e0c1'))
    .action(async (action: string, params: string[], o: { output: string; wait: string; dryRun?: boolean; reason?: string; yes?: boolean }) => {
      const call = parseCall(action, params);
      const mutation = parseMutationFlags(o);
      if (!call.action.mutating && (mutation.dryRun || mutation.reason !== null || mutation.yes)) {
        throw new UsageError(`hyapi ${call.action.name} changes nothing: --dry-run, --reason and --yes are for the actions that do (${mutatingActions()})`);
      }
      const waitSec = Number(o.wait);
      if (!/^\d+(\.\d+)?$/.test(o.wait) || waitSec <= 0 || waitSec > 3600) throw new UsageError(`--wait ${o.wait}: must be seconds from 1 to 3600`);
      const opts: Options = { call, output: parseOutput(o.output), mutation, waitSec };
      return run((ctx) => hyapi(opts, ctx));
    });
}

export async function hyapi(opts: Options, ctx: Context): Promise<number | void> {
  // Reading is open to every role that may run hyapi; changes need the action's own.
  if (opts.call.action.role !== 'read') await requireRole(ctx, opts.call.action.role, `rdsctl hyapi ${opts.call.action.name}`);
  try {
    printAnswer(ctx, opts.output, await callAction(ctx, opts));
  } catch (err) {
    printFailure(ctx, opts.output, opts.call, err);
    throw err;
  }
}

async function callAction(ctx: Context, opts: Options): Promise<CallResult> {
  const { call, mutation } = opts;
  const planFormat = opts.output === 'json' ? 'json' : 'text';
  const houyi = (): ReturnType<Context['db']> => ctx.db('houyi');
  switch (call.kind) {
    case 'acl-list':
      return { kind: 'acl-rules', data: await listAcl(houyi(), call.filter) };
    case 'acl-add': {
      const change = await planAddAcl(houyi(), call.rule);
      if (mutation.dryRun) return dryRun(ctx, change.plan, planFormat);
      const added = await applyAudited(ctx, change, mutation.reason);
      ctx.io.err(`added ACL rule ${added.id} to NAT gateway ${added.natgw_id}\n`);
      return { kind: 'acl-rule', data: added };
    }
    case 'acl-delete': {
      const change = await planDeleteAcl(houyi(), call.id, call.natgwId);
      if (mutation.dryRun) return dryRun(ctx, change.plan, planFormat);
      const rule = change.rule;
      await confirm(ctx, change.what, mutation, [`ACL rule ${rule.id} of ${rule.natgw_id}`]);
      await applyAudited(ctx, change, mutation.reason);
      ctx.io.err(`deleted ACL rule ${rule.id} of NAT gateway ${rule.natgw_id}\n`);
      return { kind: 'acl-rule', data: rule };
    }
    default:
      break;
  }
  const p = call.params;
  switch (call.action.name) {
    case 'detail_vm':
      return { kind: 'vm', data: hyapiVmRecord(await findVm(houyi(), p.vm_name!)) };
    case 'list_vm': {
      const nc = await findNc(houyi(), p.nc_name!);
      return { kind: 'vms', data: (await vmsOnNc(houyi(), nc.id)).map(hyapiVmRecord) };
    }
    case 'detail_nc': {
      const nc = await findNc(houyi(), p.nc_name!);
      return { kind: 'nc', data: { ...ncDetail(nc), vm_count: (await vmCountsOnNc(houyi(), nc.id)).total } };
    }
    case 'list_nc':
      return { kind: 'ncs', data: (await listNcs(houyi(), { zone: p.zone, cluster: p.cluster })).map(ncDetail) };
    case 'list_natgw': {
      // A VPC with no gateway is an empty list; a VPC id that exists nowhere is a not-found.
      const vpcExists = ctx.profile().databases.vpc ? async (id: string) => (await ctx.db('vpc').query('SELECT 1 FROM vpc WHERE vpc_id = ?', [id])).length > 0 : undefined;
      return { kind: 'natgws', data: await listNatgws(houyi(), { vpc_id: p.vpc_id }, vpcExists) };
    }
    default: {
      const action = call.action.name.replace(/_vm$/, '') as PowerAction;
      const change = await planPower(ctx, { action, vm: p.vm_name!, waitSec: opts.waitSec });
      if (mutation.dryRun) return dryRun(ctx, change.plan, planFormat);
      return { kind: 'power', data: await applyAudited(ctx, change, mutation.reason) };
    }
  }
}

function dryRun(ctx: Context, plan: Parameters<typeof printPlan>[1], format: 'text' | 'json'): CallResult {
  printPlan(ctx, plan, format);
  return { kind: 'dry-run' };
}

const VM_COLUMNS: Column<HyapiVmRecord>[] = [
  { header: 'VM_NAME', value: (v) => v.name },
  { header: 'INSTANCE_ID', value: (v) => v.instance_id },
  { header: 'STATUS', value: (v) => v.status, tone: (v) => (v.status === 'running' ? 'ok' : v.status === 'stopped' ? 'warn' : undefined) },
  { header: 'VCPU', value: (v) => v.vcpu, align: 'right' },
  { header: 'MEM_MB', value: (v) => v.mem_mb, align: 'right' },
  { header: 'IP', value: (v) => v.ip },
  { header: 'IMAGE', value: (v) => v.image },
  { header: 'NC', value: (v) => v.nc, wide: true },
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

const ACL_COLUMNS: Column<AclRule>[] = [
  { header: 'ID', value: (r) => r.id, align: 'right' },
  { header: 'NATGW', value: (r) => r.natgw_id },
  { header: 'DIRECTION', value: (r) => r.direction },
  { header: 'PROTOCOL', value: (r) => r.protocol },
  { header: 'SRC', value: (r) => r.src_cidr },
  { header: 'DST', value: (r) => r.dst_cidr },
  { header: 'PORTS', value: (r) => r.port_range },
  { header: 'POLICY', value: (r) => r.policy, tone: (r) => (r.policy === 'drop' ? 'warn' : undefined) },
  { header: 'PRIORITY', value: (r) => r.priority, align: 'right' },
  { header: 'VPC', value: (r) => r.vpc_id, wide: true },
  { header: 'DESCRIPTION', value: (r) => r.description, wide: true },
  { header: 'CREATED', value: (r) => r.gmt_created, wide: true },
];

/** Print a call's answer: the envelope as JSON, or tables/sections for people. */
function printAnswer(ctx: Context, format: OutputFormat, r: CallResult): void {
  if (r.kind === 'dry-run') return;
  if (format === 'json') {
    const envelope: Envelope<unknown> = { code: '200', message: 'success', data: r.data };
    ctx.io.out(JSON.stringify(envelope, null, 2) + '\n');
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
    case 'natgws':
      printRecords(ctx.io, format, NATGW_COLUMNS, r.data);
      return;
    case 'vm':
      // People see each field once: the aliases are for JSON readers.
      printSections(ctx.io, format, [{ title: `VM ${r.data.name}`, fields: fieldsOf(r.data).filter(([k]) => !(HYAPI_VM_ALIASES as readonly string[]).includes(k)) }], r.data);
      return;
    case 'nc':
      printSections(ctx.io, format, [{ title: `NC ${r.data.nc_name}`, fields: fieldsOf(r.data) }], r.data);
      return;
    case 'power':
      printSections(ctx.io, format, [{ title: `${r.data.action}_vm ${r.data.vm_name}`, fields: fieldsOf(r.data) }], r.data);
      return;
  }
}

/** The envelope of a failed call, for JSON readers (every action alike); the error itself is still reported on stderr. */
function printFailure(ctx: Context, format: OutputFormat, call: HyapiCall, err: unknown): void {
  if (format !== 'json' || err instanceof UsageError) return;
  const envelope: Envelope<null> = { code: apiErrorCode(err, call.action), message: describeError(err).message, data: null };
  ctx.io.out(JSON.stringify(envelope, null, 2) + '\n');
}

function mutatingActions(): string {
  return ACTIONS.filter((a) => a.mutating).map((a) => a.name).join(', ');
}
