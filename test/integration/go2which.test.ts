import { randomInt } from 'node:crypto';
import { jest } from '@jest/globals';
import type { Db } from '../../src/remote/mysql.js';
import { json } from '../support/run.js';

/** The one VM record (src/houyi/records.ts), documented in the README. */
const VM_RECORD_FIELDS = ['cluster', 'gmt_created', 'gmt_modified', 'image', 'instance_id', 'ip', 'mem_mb', 'name', 'nc', 'nc_ip', 'ssh_port', 'status', 'vcpu', 'vpc_id', 'zone'];
import { sharedLab, type TestLab } from '../support/lab.js';

// go2which, go2ncinfo and go2vmlist against the shared lab's metadbs. The RDS instances are this
// file's own rows (two custins on two RDS NCs), removed afterwards.

jest.setTimeout(60_000);

interface Match {
  kind: string;
  matched_on: string;
  name: string;
  record: Record<string, unknown>;
  related: Record<string, unknown>;
}
interface WhichJson {
  query: string;
  matches: Match[];
  errors: string[];
}

let lab: TestLab;
const tag = `w${randomInt(1e6, 1e7)}`;
let vm: { name: string; instance_id: string; ip: string; nc: string; cluster: string };
let nc: { hostname: string; ip: string; sn: string; cluster: string; zone: string };
let rdsNcs: Array<{ id: number; hostname: string; ip: string }>;
let custA: { id: number; ins_name: string };
let custB: { id: number; ins_name: string };
let lbIp: string;
let proxyIp: string;
let machine: { hostname: string; ip: string };
// This file's network rows for custA (addresses outside every lab net: nothing is ever sent to them).
const oct = () => randomInt(1, 250);
const net = { conn: `127.254.${oct()}.${oct()}`, slbVip: `127.253.${oct()}.${oct()}`, vpcVip: `127.252.${oct()}.${oct()}` };
const connString = `rm-${tag}.mysql.rds.aliyuncs.com`;
const connPort = 3000 + randomInt(900);
let masterEndpoint: string;

async function withDb<T>(name: 'houyi' | 'dbaas' | 'xuanyuan' | 'tianji' | 'vpc' | 'pangu', fn: (db: Db) => Promise<T>): Promise<T> {
  const { ctx } = lab.context();
  try {
    return await fn(ctx.db(name));
  } finally {
    await ctx.close();
  }
}

beforeAll(async () => {
  lab = sharedLab();
  vm = (await withDb('houyi', (db) => db.query<typeof vm>("SELECT v.name, v.instance_id, v.ip, n.hostname AS nc, c.name AS cluster FROM vm v JOIN nc n ON n.id = v.nc_id JOIN cluster c ON c.id = n.cluster_id WHERE v.status = 'running' ORDER BY v.name LIMIT 1")))[0]!;
  nc = (await withDb('houyi', (db) => db.query<typeof nc>('SELECT n.hostname, n.ip, n.sn, c.name AS cluster, z.name AS zone FROM nc n JOIN cluster c ON c.id = n.cluster_id JOIN zone z ON z.id = n.zone_id WHERE n.hostname = ?', [vm.nc])))[0]!;
  lbIp = (await withDb('xuanyuan', (db) => db.query<{ ip_addr: string }>('SELECT ip_addr FROM lb_node ORDER BY id LIMIT 1')))[0]!.ip_addr;
  proxyIp = (await withDb('xuanyuan', (db) => db.query<{ ip_adr: string }>('SELECT ip_adr FROM proxy ORDER BY id LIMIT 1')))[0]!.ip_adr;
  machine = (await withDb('tianji', (db) => db.query<typeof machine>('SELECT hostname, ip FROM machine ORDER BY id LIMIT 1')))[0]!;
  await withDb('dbaas', async (db) => {
    rdsNcs = await db.query('SELECT id, hostname, ip FROM hostinfo ORDER BY id LIMIT 2');
    const insert = async (insName: string): Promise<{ id: number; ins_name: string }> => {
      const r = await db.execute(
        "INSERT INTO custins (ins_name, engine, version, class_code, storage_gb, storage_type, zone, status) VALUES (?, 'mysql', '8.0', 'rds.mysql.s1.small', 20, 'local_ssd', 'cn-hangzhou-a', 'running')",
        [insName],
      );
      return { id: r.insertId, ins_name: insName };
    };
    custA = await insert(`rm-${tag}`);
    // An instance whose name is another one's id: go2which must show both.
    custB = await insert(String(custA.id));
    const port = 3900 + randomInt(90);
    for (const [role, h] of [['master', rdsNcs[0]!], ['slave', rdsNcs[1]!]] as const) {
      await db.execute("INSERT INTO instance (custins_id, role, hostinfo_id, host_name, ip, port, cpu, mem_mb, disk_gb, status) VALUES (?, ?, ?, ?, ?, ?, 1, 1024, 20, 'running')", [custA.id, role, h.id, h.hostname, h.ip, port]);
    }
    masterEndpoint = `${rdsNcs[0]!.ip}:${port}`;
    await db.execute('UPDATE custins SET conn_ip = ?, conn_port = ? WHERE id = ?', [net.conn, connPort, custA.id]);
    await db.execute("INSERT INTO rds_data_route (custins_id, conn_string, proxy_host, proxy_ip, proxy_port, target_ip, target_port, status) VALUES (?, ?, 'proxy-99', ?, ?, ?, ?, 'valid')", [custA.id, connString, net.conn, connPort, rdsNcs[0]!.ip, port]);
    await db.execute("INSERT INTO custins_slb (custins_id, slb_id, vip, vport, vpc_id, vswitch_id) VALUES (?, ?, ?, 3306, 'vpc-x', 'vsw-x')", [custA.id, `lb-${tag}`, net.slbVip]);
    await db.execute("INSERT INTO vpc_custins_mapping (custins_id, vpc_id, vswitch_id, tunnel_id, vip, vport, target_ip, target_port) VALUES (?, 'vpc-x', 'vsw-x', 1, ?, 3306, ?, ?)", [custA.id, net.vpcVip, rdsNcs[0]!.ip, port]);
  });
});

afterAll(async () => {
  await withDb('dbaas', async (db) => {
    for (const table of ['instance', 'rds_data_route', 'custins_slb', 'vpc_custins_mapping']) await db.execute(`DELETE FROM ${table} WHERE custins_id IN (?, ?)`, [custA?.id ?? 0, custB?.id ?? 0]);
    await db.execute('DELETE FROM custins WHERE id IN (?, ?)', [custA?.id ?? 0, custB?.id ?? 0]);
  });
});

async function which(name: string): Promise<WhichJson> {
  const r = await lab.run(['go2which', name, '-o', 'json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return json<WhichJson>(r);
}

describe('go2which', () => {
  test('a VM by name, instance id and IP, with its NC and cluster', async () => {
    for (const [key, on] of [[vm.name, 'name'], [vm.instance_id, 'instance_id'], [vm.ip, 'ip']] as const) {
      const w = await which(key);
      expect(w.matches).toHaveLength(1);
      expect(w.matches[0]).toMatchObject({ kind: 'vm', matched_on: on, name: vm.name, record: { instance_id: vm.instance_id, ip: vm.ip }, related: { nc: vm.nc, cluster: vm.cluster } });
    }
  });

  test('an NC by hostname, IP and SN, with cluster, zone and VM count', async () => {
    for (const [key, on] of [[nc.hostname, 'hostname'], [nc.ip, 'ip'], [nc.sn, 'sn']] as const) {
      const w = await which(key);
      expect(w.matches).toHaveLength(1);
      expect(w.matches[0]).toMatchObject({ kind: 'nc', matched_on: on, name: nc.hostname, record: { ip: nc.ip, sn: nc.sn }, related: { cluster: nc.cluster, zone: nc.zone } });
      expect(w.matches[0]!.related.vm_count).toBeGreaterThan(0);
    }
  });

  test('an RDS NC lists the instances on it', async () => {
    const w = await which(rdsNcs[0]!.hostname);
    const rds = w.matches[0]!.related.rds_instances as Array<{ ins_name: string; role: string }>;
    expect(rds).toContainEqual(expect.objectContaining({ ins_name: custA.ins_name, role: 'master' }));
  });

  test('an RDS instance by name, with its master and standby hosts', async () => {
    const w = await which(custA.ins_name);
    expect(w.matches).toHaveLength(1);
    expect(w.matches[0]).toMatchObject({ kind: 'custins', matched_on: 'ins_name', name: custA.ins_name, related: { master: rdsNcs[0]!.hostname, slave: rdsNcs[1]!.hostname } });
  });

  test('an ambiguous name lists every match: one instance\'s id is another\'s name', async () => {
    const w = await which(String(custA.id));
    expect(w.matches.map((m) => [m.kind, m.matched_on, m.name]).sort()).toEqual([
      ['custins', 'id', custA.ins_name],
      ['custins', 'ins_name', custB.ins_name],
    ]);
    const table = await lab.run(['go2which', String(custA.id)]);
    expect({ code: table.code, stderr: table.stderr }).toEqual({ code: 0, stderr: '' });
    expect(table.stdout).toContain(`custins ${custA.ins_name} (matched on id)`);
    expect(table.stdout).toContain(`custins ${custB.ins_name} (matched on ins_name)`);
  });

  test('SLB lb_node and proxy by IP', async () => {
    expect((await which(lbIp)).matches).toContainEqual(expect.objectContaining({ kind: 'lb_node', matched_on: 'ip_addr', name: lbIp }));
    expect((await which(proxyIp)).matches).toContainEqual(expect.objectContaining({ kind: 'proxy', matched_on: 'ip_adr', name: proxyIp }));
  });

  test('a Tianji machine by hostname and IP, with cluster, product and server roles', async () => {
    for (const [key, on] of [[machine.hostname, 'hostname'], [machine.ip, 'ip']] as const) {
      const w = await which(key);
      const m = w.matches.find((x) => x.kind === 'tianji_machine')!;
      expect(m).toMatchObject({ matched_on: on, name: machine.hostname, record: { ip: machine.ip } });
      expect(m.related.product).toBeTruthy();
      expect(Array.isArray(m.related.server_roles)).toBe(true);
    }
  });

  test('an unknown name: exit 3 with up to three near matches', async () => {
    const r = await lab.run(['go2which', `${vm.name.slice(0, -1)}x`]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    const near = /did you mean: (.*)\)$/m.exec(r.stderr)?.[1]?.split(', ') ?? [];
    expect(near.length).toBeGreaterThan(0);
    expect(near.length).toBeLessThanOrEqual(3);
    expect(near).toContain(vm.name);
  });

  test.each(["nc-a01'", 'nc-a01;reboot', '$(reboot)', '`reboot`', 'nc-a*', 'nc a01', 'nc-a01\nnc-a02', "' OR '1'='1", '%'])('hostile name %j: one-line not-found', async (name) => {
    const r = await lab.run(['go2which', name]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('go2which: endpoints, connection strings, VIPs and network ids', () => {
  const custinsOf = (w: WhichJson) => w.matches.filter((m) => m.kind === 'custins').map((m) => m.name);

  test('an endpoint ip:port: the connection address and the data route lead to one instance; an instance port to its host', async () => {
    const w = await which(`${net.conn}:${connPort}`);
    expect(custinsOf(w)).toEqual([custA.ins_name]);
    expect(w.matches[0]!.matched_on).toBe('conn_ip:conn_port, data_route proxy_ip:proxy_port');
    expect(w.matches[0]!.related.via).toEqual([expect.objectContaining({ matched_on: 'conn_ip:conn_port' }), expect.objectContaining({ matched_on: 'data_route proxy_ip:proxy_port', conn_string: connString })]);
    const m = await which(masterEndpoint);
    expect(m.matches).toContainEqual(expect.objectContaining({ kind: 'custins', name: custA.ins_name, matched_on: 'instance ip:port' }));
    // The host part is still the NC it is.
    expect(m.matches).toContainEqual(expect.objectContaining({ kind: 'nc', name: rdsNcs[0]!.hostname, matched_on: 'ip' }));
    // Another port on the same address is not the instance.
    const other = await lab.run(['go2which', `${net.conn}:${connPort === 3999 ? 3998 : connPort + 1}`]);
    expect(other.code).toBe(3);
  });

  test('a connection string, bare and with its port', async () => {
    for (const q of [connString, `${connString}:${connPort}`]) {
      const w = await which(q);
      expect(w.matches).toEqual([expect.objectContaining({ kind: 'custins', name: custA.ins_name, matched_on: 'conn_string' })]);
    }
    expect((await lab.run(['go2which', `${connString}:${connPort === 3999 ? 3998 : connPort + 1}`])).code).toBe(3);
  });

  test('an SLB VIP and a VPC VIP lead to the instance; an LVS VIP to its master/backup pair', async () => {
    expect((await which(net.slbVip)).matches).toEqual([expect.objectContaining({ kind: 'custins', name: custA.ins_name, matched_on: 'slb vip:vport' })]);
    expect((await which(`${net.vpcVip}:3306`)).matches).toEqual([expect.objectContaining({ kind: 'custins', name: custA.ins_name, matched_on: 'vpc vip:vport' })]);
    const vip = lab.layout.topology.lbNodes[0]!.vip;
    const lvs = (await which(vip)).matches.filter((m) => m.matched_on === 'vip');
    expect(lvs.map((m) => [m.kind, m.record.role])).toEqual([['lb_node', 'master'], ['lb_node', 'backup']]);
  });

  test('lvs-NN and proxy-NN as lab status names them', async () => {
    const t = lab.layout.topology;
    const lvs = await which('lvs-01');
    expect(lvs.matches).toEqual([expect.objectContaining({ kind: 'lb_node', matched_on: 'hostname', name: t.lbNodes[0]!.address, record: expect.objectContaining({ hostname: 'lvs-01', vip: t.lbNodes[0]!.vip }) })]);
    const proxy = await which('proxy-01');
    expect(proxy.matches).toContainEqual(expect.objectContaining({ kind: 'proxy', matched_on: 'hostname', name: t.proxies[0]!.address }));
    // proxy-01 also carries RDS data routes once the lab registered it in dbaas.rds_proxy_node.
    const registered = await withDb('dbaas', (db) => db.query<{ hostname: string }>("SELECT hostname FROM rds_proxy_node WHERE hostname = 'proxy-01'"));
    if (registered.length) expect(proxy.matches).toContainEqual(expect.objectContaining({ kind: 'rds_proxy_node', matched_on: 'hostname', name: 'proxy-01' }));
  });

  test('a NAT gateway by id and address, a VPC and a vSwitch by id', async () => {
    const [g] = await withDb('houyi', (db) => db.query<{ natgw_id: string; ip: string; vpc_id: string }>('SELECT natgw_id, ip, vpc_id FROM natgw ORDER BY id LIMIT 1'));
    for (const [q, on] of [[g!.natgw_id, 'natgw_id'], [g!.ip, 'ip']] as const) {
      expect((await which(q)).matches).toContainEqual(expect.objectContaining({ kind: 'natgw', matched_on: on, name: g!.natgw_id, related: expect.objectContaining({ vpc_id: g!.vpc_id }) }));
    }
    const [s] = await withDb('vpc', (db) => db.query<{ vswitch_id: string; vpc_id: string }>('SELECT vswitch_id, vpc_id FROM vswitch ORDER BY id LIMIT 1'));
    const v = await which(s!.vpc_id);
    expect(v.matches).toEqual([expect.objectContaining({ kind: 'vpc', matched_on: 'vpc_id', name: s!.vpc_id })]);
    expect(v.matches[0]!.related.vswitches).toContainEqual(expect.objectContaining({ vswitch_id: s!.vswitch_id }));
    expect((await which(s!.vswitch_id)).matches).toEqual([expect.objectContaining({ kind: 'vswitch', matched_on: 'vswitch_id', name: s!.vswitch_id, record: expect.objectContaining({ vpc_id: s!.vpc_id }) })]);
  });

  test('a chunkserver by hostname and address, with its Pangu cluster and disks', async () => {
    const [cs] = await withDb('pangu', (db) => db.query<{ hostname: string; ip: string }>("SELECT hostname, ip FROM chunkserver WHERE hostname = 'cs-a05'"));
    for (const [q, on] of [[cs!.hostname, 'hostname'], [cs!.ip, 'ip']] as const) {
      expect((await which(q)).matches).toContainEqual(expect.objectContaining({ kind: 'chunkserver', matched_on: on, name: 'cs-a05', related: expect.objectContaining({ cluster: 'pangu-hz-a', disks_not_ok: 2 }) }));
    }
    const near = await lab.run(['go2which', 'cs-a0']);
    expect(near.code).toBe(3);
    expect(near.stderr).toMatch(/did you mean: .*cs-a0\d/);
  });
});

describe('go2which - (names from stdin)', () => {
  test('-o json: one JSON line per name in input order; a miss is its own line with near names; exit 3', async () => {
    const names = [vm.name, nc.hostname, `${vm.name.slice(0, -1)}x`, connString, 'lvs-01'];
    const r = await lab.run(['go2which', '-', '-o', 'json'], { stdin: `# runbook list\n${names.join('\n')}\n\n` });
    expect(r.code).toBe(3);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { query: string; matches?: Match[]; error?: { code: number; message: string; near: string[] } });
    expect(lines.map((l) => l.query)).toEqual(names);
    expect(lines[0]!.matches![0]).toMatchObject({ kind: 'vm', name: vm.name });
    expect(lines[1]!.matches![0]).toMatchObject({ kind: 'nc', name: nc.hostname });
    expect(lines[2]!.error).toMatchObject({ code: 3 });
    expect(lines[2]!.error!.near).toContain(vm.name);
    expect(lines[3]!.matches![0]).toMatchObject({ kind: 'custins', name: custA.ins_name });
    expect(lines[4]!.matches![0]).toMatchObject({ kind: 'lb_node' });
    expect(r.stderr).toBe('5 name(s): 4 found, 1 not found\n');
  });

  test('all found: exit 0; tsv is one line per match', async () => {
    const r = await lab.run(['go2which', '-', '-o', 'tsv'], { stdin: `${vm.name}\r\n${machine.hostname}` });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['query\tkind\tname\tmatched_on', `${vm.name}\tvm\t${vm.name}\tname`, `${machine.hostname}\ttianji_machine\t${machine.hostname}\thostname`, '']);
  });

  test('many names go over one connection per metadb', async () => {
    const connections = async () => Number((await withDb('houyi', (db) => db.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Connections'")))[0]!.Value);
    const names = Array.from({ length: 40 }, (_, i) => (i % 2 ? vm.name : nc.hostname));
    const before = await connections();
    const r = await lab.run(['go2which', '-', '-o', 'json'], { stdin: names.join('\n') });
    const after = await connections();
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(40);
    // The six metadbs, the role lookup and this probe's own connection; not one per name. Other
    // work on the shared lab between the two reads can only add a few.
    expect(after - before).toBeLessThan(20);
  });

  test('no names, an overlong line: exit 2', async () => {
    expect((await lab.run(['go2which', '-'], { stdin: '\n# nothing\n' })).code).toBe(2);
    const long = await lab.run(['go2which', '-'], { stdin: `${vm.name}\n${'x'.repeat(5000)}\n` });
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/^rdsctl: go2which -: line 2 is/);
  });
});

describe('go2ncinfo', () => {
  test('-o json: facts, capacity, VMs and the RDS instances on the NC', async () => {
    const r = await lab.run(['go2ncinfo', rdsNcs[0]!.hostname, '-o', 'json']);
    expect(r.code).toBe(0);
    const info = json<Record<string, unknown>>(r);
    expect(info).toMatchObject({ hostname: rdsNcs[0]!.hostname, ip: rdsNcs[0]!.ip, live: null, errors: [] });
    for (const f of ['sn', 'zone', 'cluster', 'status', 'locked', 'cpu_total', 'cpu_allocated', 'mem_total_mb', 'mem_allocated_mb', 'vm_count']) expect(info).toHaveProperty(f);
    expect(info.rds_instances).toContainEqual(expect.objectContaining({ ins_name: custA.ins_name, role: 'master', status: 'running' }));
    const table = await lab.run(['go2ncinfo', rdsNcs[0]!.hostname]);
    expect({ code: table.code, stderr: table.stderr }).toEqual({ code: 0, stderr: '' });
    expect(table.stdout).toMatch(new RegExp(`^RDS instances:\\n {2}INS_NAME\\s+ROLE\\s+PORT\\s+STATUS\\s+ENGINE\\n {2}${custA.ins_name}\\s+master\\s`, 'm'));
  });

  test('--live reads uptime, load and free disk under the data directory over SSH', async () => {
    const r = await lab.run(['go2ncinfo', nc.ip, '--live', '-o', 'json']);
    expect(r.code).toBe(0);
    const live = json<{ hostname: string; live: Record<string, unknown> }>(r);
    expect(live.hostname).toBe(nc.hostname);
    expect(live.live.uptime_sec).toBeGreaterThan(0);
    expect(typeof live.live.load_1).toBe('number');
    expect(live.live.data_dir).toBe('/mysqldata');
    if (live.live.data_dir_exists) expect(live.live.disk_free_kb).toBeGreaterThan(0);
    const table = await lab.run(['go2ncinfo', nc.sn, '--live']);
    expect(table.stdout).toMatch(/^Live:\n {2}uptime: /m);
  });

  test('--live on an NC whose sshd is down: facts printed, the failure reported, exit 5', async () => {
    lab.stopHost(nc.hostname);
    try {
      const r = await lab.run(['go2ncinfo', nc.hostname, '--live', '--connect-timeout', '3', '-o', 'json']);
      expect(r.code).toBe(5);
      const info = json<{ live: unknown; errors: string[]; hostname: string }>(r);
      expect(info).toMatchObject({ hostname: nc.hostname, live: null });
      expect(info.errors[0]).toMatch(/^live: /);
    } finally {
      lab.startHost(nc.hostname);
    }
  });

  test('unknown NC: not found with near names', async () => {
    const r = await lab.run(['go2ncinfo', 'nc-a99']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/did you mean: nc-a0\d/);
  });
});

describe('go2vmlist', () => {
  test('-o json lists the NC\'s VMs with the documented fields', async () => {
    const r = await lab.run(['go2vmlist', vm.nc, '-o', 'json']);
    expect(r.code).toBe(0);
    const rows = json<Array<Record<string, unknown>>>(r);
    expect(rows.map((x) => x.name)).toContain(vm.name);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(VM_RECORD_FIELDS);
      expect(row.nc).toBe(vm.nc);
    }
  });

  test('one VM record: go2vmlist, go2which and hyapi detail_vm / list_vm print the same object (hyapi adds its old names)', async () => {
    const listed = json<Array<Record<string, unknown>>>(await lab.run(['go2vmlist', vm.nc, '-o', 'json'])).find((x) => x.name === vm.name)!;
    const found = json<WhichJson>(await lab.run(['go2which', vm.name, '-o', 'json'])).matches.find((m) => m.kind === 'vm')!.record;
    const detail = json<{ data: Record<string, unknown> }>(await lab.run(['hyapi', 'detail_vm', `vm_name=${vm.name}`])).data;
    const inList = json<{ data: Array<Record<string, unknown>> }>(await lab.run(['hyapi', 'list_vm', `nc_name=${vm.nc}`])).data.find((x) => x.name === vm.name)!;
    expect(Object.keys(listed).sort()).toEqual(VM_RECORD_FIELDS);
    expect(found).toEqual(listed);
    for (const h of [detail, inList]) {
      const { vm_name, nc_name, ...rest } = h;
      expect(rest).toEqual(listed);
      expect([vm_name, nc_name]).toEqual([listed.name, listed.nc]);
    }
  });

  test('table by default; tsv is stable', async () => {
    const t = await lab.run(['go2vmlist', nc.sn]);
    expect(t.stdout.split('\n')[0]).toMatch(/^NAME\s+INSTANCE_ID\s+STATUS\s+VCPU\s+MEM_MB\s+IP\s+IMAGE$/);
    const tsv = await lab.run(['go2vmlist', nc.hostname, '-o', 'tsv']);
    expect(tsv.stdout.split('\n')[0]).toBe('NAME\tINSTANCE_ID\tSTATUS\tVCPU\tMEM_MB\tIP\tIMAGE\tSSH_PORT\tVPC_ID');
  });
});
