import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConflictError, NotFoundError, RemoteError, UnavailableError, UsageError } from '../../src/core/errors.js';
import { ACTIONS, actionsHelp, apiErrorCode, parseCall } from '../../src/commands/hyapi.js';
import { runCli } from '../support/run.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-hyapi-'));
const env = { HOME: tmp, RDSCTL_CONFIG: path.join(tmp, 'none.json'), PATH: process.env.PATH };
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('hyapi parameters', () => {
  it('parses key=value words of an action', () => {
    expect(parseCall('detail_vm', ['vm_name=vm-001']).params).toEqual({ vm_name: 'vm-001' });
    expect(parseCall('list_nc', []).params).toEqual({});
    expect(parseCall('list_nc', ['zone=cn-hangzhou-a', 'cluster=hza-ecs-01']).params).toEqual({ zone: 'cn-hangzhou-a', cluster: 'hza-ecs-01' });
    // Values are data: everything after the first "=" is kept as is.
    expect(parseCall('detail_vm', ["vm_name=a=b'; $(id)"]).params).toEqual({ vm_name: "a=b'; $(id)" });
  });

  test.each<[string, string[], RegExp]>([
    ['bogus', [], /unknown action "bogus" \(valid: detail_vm, list_vm, detail_nc, list_nc, start_vm, stop_vm, reboot_vm, list_natgw, list_natgw_acl, add_natgw_acl, delete_natgw_acl\)/],
    ['add_natgw_acl', ['natgw_id=x'], /missing direction, protocol, src_cidr, dst_cidr \(valid: natgw_id, direction/],
    ['list_natgw_acl', ['vm_name=x'], /unknown parameter "vm_name" \(valid: natgw_id, direction\)/],
    ['detail_vm', [], /missing vm_name \(valid: vm_name\)/],
    ['detail_vm', ['nc_name=x'], /unknown parameter "nc_name" \(valid: vm_name\)/],
    ['list_vm', ['vm-001'], /"vm-001" is not key=value \(valid keys: nc_name\)/],
    ['list_nc', ['region=x'], /unknown parameter "region" \(valid: zone, cluster\)/],
    ['detail_vm', ['vm_name=a', 'vm_name=b'], /given twice/],
    ['detail_vm', ['vm_name='], /vm_name is empty/],
    ['detail_vm', ['=x'], /not key=value/],
  ])('%s %j is a usage error', (action, words, msg) => {
    expect(() => parseCall(action, words)).toThrow(UsageError);
    expect(() => parseCall(action, words)).toThrow(msg);
  });

  it('maps errors to API error codes', () => {
    const vm = ACTIONS.find((a) => a.name === 'detail_vm')!;
    const nc = ACTIONS.find((a) => a.name === 'detail_nc')!;
    expect(apiErrorCode(new NotFoundError('x'), vm)).toBe('InvalidVmName.NotFound');
    expect(apiErrorCode(new NotFoundError('x'), nc)).toBe('InvalidNcName.NotFound');
    expect(apiErrorCode(new ConflictError('x'), vm)).toBe('IncorrectVmStatus');
    expect(apiErrorCode(new RemoteError('x'), vm)).toBe('Hypervisor.OperationFailed');
    expect(apiErrorCode(new UnavailableError('x'), vm)).toBe('ServiceUnavailable');
    expect(apiErrorCode(new Error('x'), vm)).toBe('InternalError');
  });

  it('help lists every action with its parameters, optional ones in brackets', () => {
    const help = actionsHelp();
    for (const a of ACTIONS) {
      const params = a.params.map((p) => (p.required ? `${p.name}=…` : `[${p.name}=…]`)).join(' ');
      expect(help).toContain(`\n  ${a.name} `);
      expect(help).toContain(` ${params}`);
    }
  });

  it('the NAT gateway ACL actions call vpc/natgw-acl.ts, each with its role', () => {
    expect(ACTIONS.filter((a) => a.acl).map((a) => [a.name, a.mutating, a.role])).toEqual([
      ['list_natgw_acl', false, 'read'],
      ['add_natgw_acl', true, 'operator'],
      ['delete_natgw_acl', true, 'admin'],
    ]);
  });
});

describe('rdsctl hyapi (no metadb needed to reject bad input)', () => {
  it('--help lists the actions', async () => {
    const r = await runCli(['hyapi', '--help'], { env });
    expect(r.code).toBe(0);
    for (const a of ACTIONS) expect(r.stdout).toContain(a.name);
    expect(r.stdout).toContain('vm_name=');
  });

  test.each<[string[], RegExp]>([
    [['hyapi', 'detail_vm'], /missing vm_name/],
    [['hyapi', 'start_vms', 'vm_name=x'], /unknown action "start_vms"/],
    [['hyapi', 'detail_vm', 'vm_name=x', '--dry-run'], /changes nothing/],
    [['hyapi', 'stop_vm', 'vm_name=x', '--wait', 'soon'], /--wait soon/],
  ])('%j → one-line usage error, exit 2', async (args, msg) => {
    const r = await runCli(args, { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
