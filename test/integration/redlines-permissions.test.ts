import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { COMMANDS } from '../../src/commands/index.js';
import type { Role } from '../../src/core/command.js';
import type { Context } from '../../src/core/context.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { USERS, labNames, oneErrorLine, runAs, type LabNames } from '../support/redlines.js';
import { diffSnapshots, labSnapshot } from '../support/snapshot.js';

// Every command declares the role it needs, and every action is enforced at that role: an operator
// below it gets exit 6 with a message naming the role, and nothing changes (metadbs, host files,
// the audit log). The denied attempts are the real thing (--yes, no --dry-run): if a check were
// missing, the snapshot would show what the command did. The holder of exactly the role gets
// through (with --dry-run where the command changes state).

jest.setTimeout(120_000);

/** The role of each registry entry, as issue 6 gives them. A new command must be added here. */
const REGISTRY_ROLE: Record<string, Role> = {
  'audit list': 'read',
  'audit backfill': 'operator',
  completion: 'none',
  'config list': 'none',
  'config show': 'none',
  'config use': 'none',
  'config set': 'none',
  'config add': 'none',
  'config delete': 'none',
  'lab up': 'none',
  'lab status': 'none',
  'lab down': 'none',
  go2nc: 'operator',
  go2ncinfo: 'read',
  'nc lock': 'operator',
  'nc unlock': 'operator',
  go2vm: 'operator',
  go2vmlist: 'read',
  go2which: 'read',
  'lb_node status': 'read',
  'proxy status': 'read',
  'tianji product': 'read',
  'tianji cluster': 'read',
  'tianji service': 'read',
  'tianji serverrole': 'read',
  'tianji machine': 'read',
  'pangu chunkserver': 'read',
  // multi-action verbs: the registry holds the least role; mutating sub-actions escalate (below)
  'pangu disk': 'read',
  'vpc list': 'read',
  'vpc vswitch': 'read',
  'vpc route': 'read',
  check: 'read',
  'instance classes': 'read',
  'instance create': 'operator',
  'instance step': 'read',
  'instance list': 'read',
  'instance show': 'read',
  'instance delete': 'admin',
  'instance backup': 'operator',
  'instance clone': 'operator',
  'instance switchover': 'operator',
  'instance failover': 'admin',
  'ha watch': 'operator',
  'instance rebuild-standby': 'admin',
  'instance start': 'operator',
  'instance stop': 'operator',
  'instance restart': 'operator',
  'instance migrate': 'admin',
  'instance resize': 'admin',
  'instance upgrade': 'admin',
  'nc evacuate': 'admin',
  'instance ha': 'operator',
  'instance encrypt': 'admin',
  'backup list': 'read',
  'backup show': 'read',
  'backup verify': 'operator',
  'backup delete': 'admin',
  'backup archive': 'operator',
  'task list': 'read',
  'task show': 'read',
  'task run': 'operator',
  'task retry': 'operator',
  'task skip': 'operator',
  'task goto': 'admin',
  'task resume': 'operator',
  'task cancel': 'operator',
  worker: 'operator',
  monitor: 'operator',
  'instance perf': 'read',
  'instance top': 'read',
  'instance sessions': 'read',
  'instance kill': 'operator',
  'instance logs': 'read',
  'instance connect': 'operator',
  hyapi: 'read',
};

/** What the cases act on: the seed's names, plus an instance and task this file creates. */
interface Fixture extends LabNames {
  ins: string;
  taskId: number;
  customRoute: string;
  /** The seed's locked NC (what `nc unlock` acts on). */
  lockedNc: string;
}

interface Case {
  /** The registry entry (command path) the case exercises. */
  cmd: string;
  /** What the role message names: "rdsctl <what> needs role …". */
  what: string;
  needs: Exclude<Role, 'none'>;
  /** The real attempt, made by every user below `needs`. */
  args: (f: Fixture) => string[];
  /** What the holder of exactly `needs` runs: a --dry-run for a state change; null: not tried. */
  allowed: ((f: Fixture) => string[]) | null;
}

const RANK = { read: 1, operator: 2, admin: 3 } as const;
const touch = (tag: string) => `touch "$RDS_HOST_ROOT/tmp/redlines-denied-${tag}"`;
const dry = (args: string[]): string[] => {
  const a = args.filter((x) => x !== '--yes');
  const end = a.indexOf('--');
  return end < 0 ? [...a, '--dry-run'] : [...a.slice(0, end), '--dry-run', ...a.slice(end)];
};
const read = (cmd: string, args: Case['args'], what = cmd): Case => ({ cmd, what, needs: 'read', args, allowed: args });
const change = (cmd: string, what: string, needs: 'operator' | 'admin', args: Case['args'], allowed: Case['allowed'] = (f) => dry(args(f))): Case => ({ cmd, what, needs, args, allowed });
const acl = (f: Fixture) => ['natgw_id=' + f.natgw, 'direction=ingress', 'protocol=tcp', 'src_cidr=198.51.100.0/24', 'dst_cidr=172.16.1.0/24', 'port_range=22/22'];

const CASES: Case[] = [
  read('audit list', () => ['audit', 'list', '--limit', '1']),
  read('go2ncinfo', (f) => ['go2ncinfo', f.nc]),
  read('go2vmlist', (f) => ['go2vmlist', f.nc]),
  read('go2which', (f) => ['go2which', f.runningVm]),
  read('lb_node status', () => ['lb_node', 'status']),
  read('proxy status', () => ['proxy', 'status']),
  read('tianji product', () => ['tianji', 'product', 'list']),
  read('tianji cluster', () => ['tianji', 'cluster', 'list']),
  read('tianji service', (f) => ['tianji', 'service', 'list', '--cluster', f.tianjiCluster]),
  read('tianji serverrole', (f) => ['tianji', 'serverrole', 'status', '--cluster', f.tianjiCluster]),
  read('tianji machine', (f) => ['tianji', 'machine', f.tianjiMachine]),
  read('pangu chunkserver', () => ['pangu', 'chunkserver', 'status']),
  read('pangu disk', () => ['pangu', 'disk', 'status']),
  read('vpc route', () => ['vpc', 'route', 'list']),
  read('vpc list', () => ['vpc', 'list']),
  read('vpc vswitch', () => ['vpc', 'vswitch', 'list']),
  read('check', () => ['check', 'pangu']),
  read('instance classes', () => ['instance', 'classes']),
  read('instance list', () => ['instance', 'list']),
  read('instance show', (f) => ['instance', 'show', f.ins]),
  read('instance step', (f) => ['instance', 'step', f.ins, 'list']),
  read('task list', () => ['task', 'list']),
  read('backup list', () => ['backup', 'list']),
  { cmd: 'backup show', what: 'backup show', needs: 'read', args: () => ['backup', 'show', '1'], allowed: null },
  change('instance backup', 'instance backup', 'operator', (f) => ['instance', 'backup', f.ins]),
  change('instance clone', 'instance clone', 'operator', (f) => ['instance', 'clone', f.ins, '--latest'], null),
  change('backup verify', 'backup verify', 'operator', () => ['backup', 'verify', '1'], null),
  change('backup archive', 'backup archive', 'operator', (f) => ['backup', 'archive', f.ins]),
  change('backup delete', 'backup delete', 'admin', () => ['backup', 'delete', '1', '--yes'], null),
  change('instance encrypt', 'instance encrypt', 'admin', (f) => ['instance', 'encrypt', f.ins, '--yes']),
  read('task show', (f) => ['task', 'show', String(f.taskId)]),
  read('hyapi', (f) => ['hyapi', 'detail_vm', `vm_name=${f.runningVm}`]),
  read('hyapi', (f) => ['hyapi', 'list_vm', `nc_name=${f.nc}`]),
  read('hyapi', (f) => ['hyapi', 'detail_nc', `nc_name=${f.nc}`]),
  read('hyapi', () => ['hyapi', 'list_nc']),
  read('hyapi', () => ['hyapi', 'list_natgw_acl']),
  read('hyapi', () => ['hyapi', 'list_natgw']),
  change('audit backfill', 'audit backfill', 'operator', () => ['audit', 'backfill']),
  change('go2nc', 'go2nc', 'operator', (f) => ['go2nc', f.ncSet, '--', touch('go2nc')]),
  change('go2vm', 'go2vm', 'operator', (f) => ['go2vm', f.runningVm, '--', touch('go2vm')]),
  change('go2vm', 'go2vm', 'operator', (f) => ['go2vm', f.runningVm, '--nc', '--', touch('go2vm-nc')]),
  change('hyapi', 'hyapi start_vm', 'operator', (f) => ['hyapi', 'start_vm', `vm_name=${f.stoppedVm}`, '--yes']),
  change('hyapi', 'hyapi stop_vm', 'operator', (f) => ['hyapi', 'stop_vm', `vm_name=${f.runningVm}`, '--yes']),
  change('hyapi', 'hyapi reboot_vm', 'operator', (f) => ['hyapi', 'reboot_vm', `vm_name=${f.runningVm}`, '--yes']),
  change('hyapi', 'hyapi add_natgw_acl', 'operator', (f) => ['hyapi', 'add_natgw_acl', ...acl(f)]),
  change('nc lock', 'nc lock', 'operator', (f) => ['nc', 'lock', f.nc, '--reason', 'denied']),
  change('nc unlock', 'nc unlock', 'operator', (f) => ['nc', 'unlock', f.lockedNc, '--reason', 'denied']),
  change('vpc route', 'vpc route add', 'operator', (f) => ['vpc', 'route', 'add', '--vpc', f.vpc, '--cidr', f.routeCidr, '--next-hop', f.nextHop]),
  change('instance create', 'instance create', 'operator', (f) => ['instance', 'create', '--no-wait', '--name', `${f.ins}x`]),
  change('instance step', 'instance step run', 'operator', (f) => ['instance', 'step', f.ins, 'run']),
  change('instance step', 'instance step run', 'operator', (f) => ['instance', 'step', f.ins, 'run', '2']),
  change('instance step', 'instance step retry', 'operator', (f) => ['instance', 'step', f.ins, 'retry']),
  change('instance step', 'instance step resume', 'operator', (f) => ['instance', 'step', f.ins, 'resume']),
  change('instance step', 'instance step skip', 'operator', (f) => ['instance', 'step', f.ins, 'skip', '5', '--reason', 'denied']),
  change('instance step', 'instance step cancel', 'operator', (f) => ['instance', 'step', f.ins, 'cancel', '--yes', '--reason', 'denied']),
  change('task run', 'task run', 'operator', (f) => ['task', 'run', String(f.taskId)]),
  change('task retry', 'task retry', 'operator', (f) => ['task', 'retry', String(f.taskId)]),
  change('task resume', 'task resume', 'operator', (f) => ['task', 'resume', String(f.taskId)]),
  change('task skip', 'task skip', 'operator', (f) => ['task', 'skip', String(f.taskId), '5', '--reason', 'denied']),
  change('task cancel', 'task cancel', 'operator', (f) => ['task', 'cancel', String(f.taskId), '--yes', '--reason', 'denied']),
  change('task goto', 'task goto', 'admin', (f) => ['task', 'goto', String(f.taskId), '3', '--yes']),
  // A worker runs every pending task (this file's among them), so its holder is not tried here.
  change('worker', 'worker', 'operator', () => ['worker', '--once'], null),
  // A monitor samples every running instance and writes perf rows, so its holder is not tried here.
  change('monitor', 'monitor', 'operator', () => ['monitor', '--once', '--interval', '500ms'], null),
  read('instance perf', (f) => ['instance', 'perf', f.ins]),
  read('instance top', () => ['instance', 'top', '--once', '--interval', '200ms']),
  // The fixture's instance is never installed: sessions, logs, kill and connect need a running
  // server (test/integration/monitor.test.ts runs them at their role), so only the denial is tried.
  { cmd: 'instance sessions', what: 'instance sessions', needs: 'read', args: (f) => ['instance', 'sessions', f.ins], allowed: null },
  { cmd: 'instance logs', what: 'instance logs', needs: 'read', args: (f) => ['instance', 'logs', f.ins], allowed: null },
  change('instance kill', 'instance kill', 'operator', (f) => ['instance', 'kill', f.ins, '1', '--yes', '--reason', 'denied'], null),
  change('instance connect', 'instance connect', 'operator', (f) => ['instance', 'connect', f.ins, '--', '-e', 'SELECT 1'], null),
  change('instance step', 'instance step goto', 'admin', (f) => ['instance', 'step', f.ins, 'goto', '3', '--yes']),
  change('instance delete', 'instance delete', 'admin', (f) => ['instance', 'delete', f.ins, '--yes']),
  // f.ins is still being created: at the role these refuse with exit 9 (not running), so no allowed run here
  change('instance switchover', 'instance switchover', 'operator', (f) => ['instance', 'switchover', f.ins, '--yes'], null),
  change('instance failover', 'instance failover', 'admin', (f) => ['instance', 'failover', f.ins, '--yes'], null),
  change('ha watch', 'ha watch', 'operator', () => ['ha', 'watch', '--rounds', '1']),
  change('instance rebuild-standby', 'instance rebuild-standby', 'admin', (f) => ['instance', 'rebuild-standby', f.ins, '--yes'], null),
  change('instance start', 'instance start', 'operator', (f) => ['instance', 'start', f.ins, '--yes'], null),
  change('instance stop', 'instance stop', 'operator', (f) => ['instance', 'stop', f.ins, '--yes'], null),
  change('instance restart', 'instance restart', 'operator', (f) => ['instance', 'restart', f.ins, '--yes'], null),
  change('instance migrate', 'instance migrate', 'admin', (f) => ['instance', 'migrate', f.ins, '--yes'], null),
  change('instance resize', 'instance resize', 'admin', (f) => ['instance', 'resize', f.ins, '--class', 'rds.mysql.s2.large', '--yes'], null),
  change('instance upgrade', 'instance upgrade', 'admin', (f) => ['instance', 'upgrade', f.ins, '--minor-version', '8.0.35', '--yes'], null),
  change('nc evacuate', 'nc evacuate', 'admin', (f) => ['nc', 'evacuate', f.lockedNc, '--reason', 'denied', '--yes'], null),
  change('instance ha', 'instance ha', 'operator', (f) => ['instance', 'ha', 'enable', f.ins, '--yes'], null),
  change('pangu disk', 'pangu disk offline', 'admin', (f) => ['pangu', 'disk', 'offline', f.freeDisk, '--yes', '--reason', 'denied']),
  change('vpc route', 'vpc route delete', 'admin', (f) => ['vpc', 'route', 'delete', f.customRoute, '--yes']),
  change('hyapi', 'hyapi delete_natgw_acl', 'admin', (f) => ['hyapi', 'delete_natgw_acl', `acl_id=${f.aclId}`, '--yes']),
];

let lab: TestLab;
let ctx: Context;
let f: Fixture;

beforeAll(async () => {
  lab = sharedLab();
  ctx = lab.context().ctx;
  const ins = `rm-rl${randomBytes(3).toString('hex')}`;
  const c = await lab.run(['instance', 'create', '--name', ins, '--no-wait', '--reason', 'redlines permissions']);
  if (c.code !== 0) throw new Error(`instance create --no-wait: ${c.stderr}`);
  const [task] = await ctx.db('dbaas').query<{ id: number }>('SELECT t.id FROM task_queue t JOIN custins c ON c.id = t.custins_id WHERE c.ins_name = ?', [ins]);
  const [route] = await ctx.db('vpc').query<{ route_id: string }>("SELECT route_id FROM route_entry WHERE kind = 'custom' ORDER BY id LIMIT 1");
  const [locked] = await ctx.db('houyi').query<{ hostname: string }>('SELECT hostname FROM nc WHERE locked = 1 ORDER BY hostname LIMIT 1');
  f = { ...(await labNames(ctx)), ins, taskId: task!.id, customRoute: route!.route_id, lockedNc: locked!.hostname };
});

afterAll(async () => {
  try {
    if (f) {
      const d = await lab.run(['instance', 'delete', f.ins, '--yes', '--reason', 'redlines permissions cleanup']);
      if (d.code !== 0) throw new Error(`instance delete ${f.ins}: ${d.stderr}`);
    }
  } finally {
    await ctx.close();
  }
});

test('every registered command declares its role, and it is the one the red lines give it', () => {
  const registry = Object.fromEntries(COMMANDS.map((c) => [c.path.join(' '), c.role]));
  expect(registry).toEqual(REGISTRY_ROLE);
});

test('every command that needs a role has a case, and instance step one per action', () => {
  const needing = COMMANDS.filter((c) => c.role !== 'none').map((c) => c.path.join(' '));
  expect(needing.filter((p) => !CASES.some((c) => c.cmd === p))).toEqual([]);
  expect(CASES.filter((c) => c.cmd !== c.what && !needing.includes(c.cmd))).toEqual([]);
  expect([...new Set(CASES.filter((c) => c.cmd === 'instance step').map((c) => c.what))].sort()).toEqual(['instance step', 'instance step cancel', 'instance step goto', 'instance step resume', 'instance step retry', 'instance step run', 'instance step skip']);
});

const below = (needs: Case['needs']): Array<keyof typeof USERS> => (['none', 'read', 'operator'] as const).filter((u) => u === 'none' || RANK[u] < RANK[needs]);
const label = (c: Case): string => `${c.what} (${c.args({ ins: 'INS', taskId: 0, customRoute: 'RTE', lockedNc: 'LNC', nc: 'NC', ncSet: 'NCS', ncs: [], runningVm: 'VM', stoppedVm: 'VM', runningVmUuid: 'UUID', stoppedVmUuid: 'UUID', tianjiCluster: 'C', tianjiMachine: 'M', panguCluster: 'P', freeDisk: 'CS:DEV', vpc: 'VPC', routeCidr: 'CIDR', nextHop: 'IP', natgw: 'NGW', aclId: 0 }).join(' ')})`;

describe('below the role: exit 6 naming the role, nothing written', () => {
  test.each(CASES.map((c) => [label(c), c] as const))('%s', async (_, c) => {
    for (const who of below(c.needs)) {
      const user = USERS[who];
      const before = await labSnapshot(lab, ctx);
      const r = await runAs(lab, user)(c.args(f));
      const changed = diffSnapshots(before, await labSnapshot(lab, ctx));
      // Someone in no row is stopped by the registry's check, before a sub-action's own: the message
      // names the verb's least role (adding them at that role then tells them the next one).
      const expected =
        who === 'none'
          ? `rdsctl: rdsctl ${c.cmd} needs a role (${REGISTRY_ROLE[c.cmd]} or more); OS user ${user} has none in dbaas.operator (ask an admin to add you)`
          : `rdsctl: rdsctl ${c.what} needs role ${c.needs}; OS user ${user} has ${who}`;
      expect({ user, code: r.code, line: oneErrorLine(r.stderr), stdout: r.stdout, changed }).toEqual({ user, code: 6, line: expected, stdout: '', changed: [] });
    }
  });
});

describe('at the role: allowed', () => {
  test.each(CASES.filter((c) => c.allowed).map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const r = await runAs(lab, USERS[c.needs])(c.allowed!(f));
    // 4: a read view that ran and found something unhealthy in the seed (offline nodes, a disk in error).
    const verdict = (r.code === 0 || r.code === 4) && !/needs (a )?role/.test(r.stderr) ? 'allowed' : `exit ${r.code}: ${r.stderr.trim()}`;
    expect(verdict).toBe('allowed');
  });
});
