import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { go2nc } from '../../src/commands/go2nc.js';
import { go2vmlist } from '../../src/commands/go2vmlist.js';
import { list as instanceList } from '../../src/commands/instance/list.js';
import { status as chunkserverStatus } from '../../src/commands/pangu/chunkserver.js';
import { show as taskShow } from '../../src/commands/task/show.js';
import { list as clusterList } from '../../src/commands/tianji/cluster.js';
import { list as routeList } from '../../src/commands/vpc/route.js';
import { NotFoundError } from '../../src/core/errors.js';
import { DbStub, SshStub, fakeContext } from '../support/doubles.js';

// Verb run() functions called directly with a fake context (GitHub CLI's list_test.go with
// httpmock): the databases and SSH answer only what each test registered, and verify() fails on a
// call nobody expected and on an expected call that never came.

const T0 = new Date('2026-11-20T08:00:00Z');
const nc = { id: 7, hostname: 'nc-a01', ip: '10.1.0.1', sn: 'SN01', cluster: 'hz-ecs-01', zone: 'cn-hangzhou-a', region: 'cn-hangzhou', status: 'online', locked: 0, lock_reason: null, cpu_total: 96, cpu_allocated: 8, mem_total_mb: 393216, mem_allocated_mb: 16384, disk_total_gb: 3600, ssh_port: 22 };
const vm = (name: string, status: string) => ({ id: 1, name, instance_id: `i-${name}`, status, vcpu: 4, mem_mb: 8192, ip: '10.2.0.5', image: 'centos7', ssh_port: 22, vpc_id: null, nc_id: 7, nc_hostname: 'nc-a01', nc_ip: '10.1.0.1', nc_ssh_port: 22, cluster: 'hz-ecs-01', zone: 'cn-hangzhou-a', gmt_created: T0, gmt_modified: T0 });

describe('go2vmlist', () => {
  it('looks the NC up by hostname, lists its VMs, and prints the documented JSON record', async () => {
    const houyi = new DbStub('houyi').onQuery(/FROM nc n .* WHERE n\.hostname IN \(\?\)/s, [nc], { params: [['nc-a01']] }).onQuery(/WHERE v\.nc_id = \?/, [vm('vm-001', 'running'), vm('vm-002', 'stopped')], { params: [7] });
    const f = fakeContext({ dbs: { houyi } });
    await go2vmlist({ nc: 'nc-a01', output: 'json' }, f.ctx);
    f.verify();
    const out = JSON.parse(f.stdout()) as Array<Record<string, unknown>>;
    expect(out.map((r) => [r.name, r.status])).toEqual([['vm-001', 'running'], ['vm-002', 'stopped']]);
    expect(out[0]).toEqual({ name: 'vm-001', instance_id: 'i-vm-001', status: 'running', vcpu: 4, mem_mb: 8192, ip: '10.2.0.5', ssh_port: 22, image: 'centos7', vpc_id: null, nc: 'nc-a01', nc_ip: '10.1.0.1', cluster: 'hz-ecs-01', zone: 'cn-hangzhou-a', gmt_created: T0.toISOString(), gmt_modified: T0.toISOString() });
  });

  it('an unknown NC is tried by hostname then SN, then is a not-found with near names', async () => {
    const houyi = new DbStub('houyi')
      .onQuery(/WHERE n\.hostname IN/, [], { params: [['nc-a1']] })
      .onQuery(/WHERE n\.sn IN/, [], { params: [['nc-a1']] })
      .onQuery(/SELECT hostname AS v FROM nc WHERE hostname LIKE/, (p) => ((p as string[])[0] === 'nc-a1%' ? [{ v: 'nc-a10' }, { v: 'nc-a11' }] : []), { times: 4 });
    const f = fakeContext({ dbs: { houyi } });
    const e = await go2vmlist({ nc: 'nc-a1', output: 'table' }, f.ctx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as NotFoundError).suggestions).toEqual(expect.arrayContaining(['nc-a10']));
    expect(f.stdout()).toBe('');
  });

  it('a double fails on a statement nobody registered', async () => {
    const f = fakeContext({ dbs: { houyi: new DbStub('houyi') } });
    await expect(go2vmlist({ nc: 'nc-a01', output: 'json' }, f.ctx)).rejects.toThrow(/db houyi: unexpected query SELECT STRAIGHT_JOIN/);
    expect(() => f.verify()).toThrow(/unexpected query/);
  });

  it('and verify() fails on a registered statement that never ran', () => {
    const f = fakeContext({ dbs: { houyi: new DbStub('houyi').onQuery('FROM vm', []) } });
    expect(() => f.verify()).toThrow(/stub never used: query FROM vm/);
  });

  it('a database the test did not hand in is a surprise too', async () => {
    const f = fakeContext();
    await expect(go2vmlist({ nc: 'nc-a01', output: 'json' }, f.ctx)).rejects.toThrow(/context: unexpected db\("houyi"\)/);
  });
});

describe('instance list', () => {
  const custins = { id: 12, ins_name: 'rm-abc', engine: 'mysql', version: '8.0', minor_version: '8.0.36', class_code: 'rds.mysql.s2.large', storage_gb: 50, storage_type: 'local_ssd', zone: 'cn-hangzhou-a', network_type: 'classic', vpc_id: null, is_guard: 0, status: 'running', conn_ip: '10.9.0.1', conn_port: 3306, gmt_created: T0, gmt_modified: T0, gmt_deleted: null, master_host: 'nc-a01', slave_host: 'nc-a02', port: 3306 };

  it('passes the filters as parameters, in order, and maps rows to the documented JSON', async () => {
    const dbaas = new DbStub('dbaas').onQuery(/FROM custins c\s.*WHERE c\.status = \? AND c\.zone = \? AND EXISTS .*\sLIMIT \?/s, [custins], { params: ['running', 'cn-hangzhou-a', 'nc-a01', 20] });
    const f = fakeContext({ dbs: { dbaas } });
    await instanceList({ output: 'json', status: 'running', zone: 'cn-hangzhou-a', nc: 'nc-a01', limit: 20 }, f.ctx);
    f.verify();
    expect(JSON.parse(f.stdout())).toEqual([
      expect.objectContaining({ ins_name: 'rm-abc', custins_id: 12, status: 'running', is_guard: false, master_host: 'nc-a01', slave_host: 'nc-a02', port: 3306, endpoint: '10.9.0.1:3306' }),
    ]);
    expect(f.stderr()).toBe('');
  });

  it('without --status hides deleted instances; the table says how many on stderr', async () => {
    const dbaas = new DbStub('dbaas').onQuery(/WHERE c\.status <> 'deleted'\s+ORDER BY c\.id DESC/s, [custins], { params: [500] });
    const f = fakeContext({ dbs: { dbaas } });
    await instanceList({ output: 'table', limit: 500 }, f.ctx);
    f.verify();
    expect(f.stdout()).toMatch(/^NAME\s+STATUS\s+VERSION/);
    expect(f.stdout()).toMatch(/rm-abc\s+running\s+mysql 8\.0\s+rds\.mysql\.s2\.large/);
    expect(f.stderr()).toBe('1 instance\n');
  });
});

describe('tianji cluster list', () => {
  it('one aggregate query, the product filter as its parameter', async () => {
    const tianji = new DbStub('tianji')
      .onQuery("SELECT id, name FROM product", [{ id: 3, name: 'oss' }], { params: ['oss'] })
      .onQuery(/FROM tj_cluster/, [{ name: 'oss-hz-01', product: 'oss', machines: 12, services: 3, sr_instances: 40 }]);
    const f = fakeContext({ dbs: { tianji } });
    await clusterList({ output: 'tsv', product: 'oss' }, f.ctx);
    f.verify();
    expect(f.stdout().trim().split('\n')).toEqual(['CLUSTER\tPRODUCT\tMACHINES\tSERVICES\tSR INSTANCES', 'oss-hz-01\toss\t12\t3\t40']);
  });
});

describe('pangu chunkserver status', () => {
  const cs = (hostname: string, status: string, disksError: number) => ({ hostname, ip: '10.3.0.1', cluster: 'pangu-hz-a', status, last_heartbeat: T0, disks: 12, disks_ok: 12 - disksError, disks_error: disksError, disks_out: 0, capacity_gb: 48000, used_gb: 12000 });

  it('exit 4 when a chunkserver is abnormal or has a disk in error, 0 when all are normal', async () => {
    const bad = new DbStub('pangu').onQuery(/FROM chunkserver/, [cs('cs-a01', 'normal', 0), cs('cs-a02', 'normal', 1)]);
    const f = fakeContext({ dbs: { pangu: bad } });
    expect(await chunkserverStatus({ output: 'table' }, f.ctx)).toBe(4);
    f.verify();
    expect(f.stderr()).toBe('2 chunkservers, 1 unhealthy\n');

    const good = new DbStub('pangu').onQuery(/FROM chunkserver/, [cs('cs-a01', 'normal', 0)]);
    const g = fakeContext({ dbs: { pangu: good } });
    expect(await chunkserverStatus({ output: 'json' }, g.ctx)).toBe(0);
    g.verify();
    expect(JSON.parse(g.stdout())).toEqual([expect.objectContaining({ hostname: 'cs-a01', disks_error: 0 })]);
    expect(g.stderr()).toBe('');
  });
});

describe('vpc route list', () => {
  it('an existing --vpc is the one parameter, given for both placeholders', async () => {
    const vpc = new DbStub('vpc')
      .onQuery('SELECT vpc_id, cidr, status FROM vpc WHERE vpc_id = ?', [{ vpc_id: 'vpc-bp1', cidr: '172.16.0.0/12', status: 'available' }], { params: ['vpc-bp1'] })
      .onQuery('FROM route_entry WHERE (? IS NULL OR vpc_id = ?)', [{ route_id: 'rte-1', vpc_id: 'vpc-bp1', dst_cidr: '10.200.0.0/16', next_hop: '172.16.1.20', kind: 'custom', description: 'IDC VPN', gmt_created: T0 }], { params: ['vpc-bp1', 'vpc-bp1'] });
    const f = fakeContext({ dbs: { vpc } });
    await routeList({ output: 'json', vpc: 'vpc-bp1' }, f.ctx);
    f.verify();
    expect(JSON.parse(f.stdout())).toEqual([expect.objectContaining({ route_id: 'rte-1', dst_cidr: '10.200.0.0/16', next_hop: '172.16.1.20', kind: 'custom' })]);
  });
});

describe('task show', () => {
  it('joins the task, its instance and its steps; JSON keeps the step fields', async () => {
    const task = { id: 17, custins_id: 12, target_kind: 'instance', target_id: '12', flow: 'install', flow_version: 1, cancel_requested: null, status: 'failed', params: '{}', lease_owner: null, lease_expires_at: null, fencing_token: 3, current_step: 'do_init', error: 'boom', created_by: 'alice', gmt_created: T0, gmt_started: T0, gmt_finished: null };
    const step = { task_id: 17, seq: 1, step_name: 'do_check_host_status', role: 'both', status: 'failed', attempts: 2, host: 'nc-a01', skip_reason: null, error: 'host offline', detail: null, result: '{"pos":4}', gmt_started: T0, gmt_finished: T0 };
    const dbaas = new DbStub('dbaas')
      .onQuery(/FROM task_queue q WHERE q\.id = \?/, [task], { params: [17] })
      .onQuery(/FROM custins WHERE id = \?/, [{ id: 12, ins_name: 'rm-abc', engine: 'mysql', version: '8.0', minor_version: null, class_code: 'rds.mysql.s2.large', storage_gb: 50, storage_type: 'local_ssd', zone: 'cn-hangzhou-a', network_type: 'classic', vpc_id: null, is_guard: 0, status: 'failed', conn_ip: null, conn_port: null, gmt_created: T0, gmt_modified: T0, gmt_deleted: null }], { params: [12] })
      .onQuery(/FROM task_step WHERE task_id = \?/, [step], { params: [17] });
    const f = fakeContext({ dbs: { dbaas } });
    await taskShow({ taskId: 17, output: 'json' }, f.ctx);
    f.verify();
    const out = JSON.parse(f.stdout()) as { task_id: number; ins_name: string; status: string; steps: Array<Record<string, unknown>> };
    expect(out).toMatchObject({ task_id: 17, ins_name: 'rm-abc', status: 'failed' });
    expect(out.steps[0]).toMatchObject({ seq: 1, step: 'do_check_host_status', status: 'failed', attempts: 2, host: 'nc-a01', error: 'host offline', result: { pos: 4 } });
    expect(out).toMatchObject({ target_kind: 'instance', target_id: '12', flow: 'install', flow_version: 1, flow_known: true, failed_step: '1 do_check_host_status' });
  });
});

describe('go2nc', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-verbs-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const nc2 = { ...nc, id: 8, hostname: 'nc-a02', ip: '10.1.0.2', sn: 'SN02' };
  const flags = { display: 'json' as const, ssh: { acceptNew: false }, mutation: { dryRun: false, yes: false, reason: 'INC-1 check' } };

  it('resolves the node set in one query, fans out once, audits intent and result, and passes failures through as exit 5', async () => {
    const houyi = new DbStub('houyi').onQuery(/WHERE n\.hostname IN \(\?\)/, [nc, nc2], { params: [['nc-a01', 'nc-a02']] });
    const ssh = new SshStub().onFanout('uptime', { 'nc-a01': { stdout: 'up 3 days\n' }, 'nc-a02': { exitCode: 1, category: 'exit', error: 'exited 1', stderr: 'no\n' } });
    const auditFile = path.join(tmp, 'audit.jsonl');
    const f = fakeContext({ dbs: { houyi }, ssh, auditFile });
    const code = await go2nc({ target: 'nc-a[01-02]', command: ['uptime'], ...flags }, f.ctx);
    f.verify();
    expect(code).toBe(5);
    expect(ssh.calls).toEqual([{ host: 'nc-a01', command: 'uptime' }, { host: 'nc-a02', command: 'uptime' }]);
    const hosts = JSON.parse(f.stdout()) as Array<Record<string, unknown>>;
    expect(hosts.map((h) => [h.host, h.exit_code])).toEqual([['nc-a01', 0], ['nc-a02', 1]]);
    const audit = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.map((r) => [r.phase, r.command, r.reason])).toEqual([['intent', 'go2nc', 'INC-1 check'], ['result', 'go2nc', 'INC-1 check']]);
    expect(audit[1]).toMatchObject({ ok: false, exit_code: 5, targets: ['nc-a01', 'nc-a02'] });
  });

  it('--dry-run prints the plan and touches neither SSH nor the audit', async () => {
    const houyi = new DbStub('houyi').onQuery(/WHERE n\.hostname IN \(\?\)/, [nc], { params: [['nc-a01']] });
    const ssh = new SshStub();
    const f = fakeContext({ dbs: { houyi }, ssh });
    expect(await go2nc({ target: 'nc-a01', command: ['uptime'], ...flags, mutation: { ...flags.mutation, dryRun: true } }, f.ctx)).toBe(0);
    f.verify();
    expect(ssh.calls).toEqual([]);
    expect(JSON.parse(f.stdout())).toMatchObject({ action: 'go2nc', remote: [{ host: 'nc-a01', command: 'uptime' }] });
  });
});
