import { generateSeed, type Seed, type SeedRow } from '../../src/lab/seed.js';
import { alwaysServed, buildTopology, labHosts, ncAddress, vmAddress } from '../../src/lab/topology.js';

const NOW = new Date('2024-05-01T00:00:00Z');
const seedFor = (ncs: number, vms: number, net = '127.77'): Seed => generateSeed({ topology: buildTopology({ ncs, vms, net, sshPort: 2222 }), now: NOW, osUser: 'root' });
const rows = (seed: Seed, db: keyof Seed, table: string): SeedRow[] => {
  const t = seed[db].find((x) => x.table === table);
  if (!t) throw new Error(`no table ${db}.${table} in the seed`);
  return t.rows;
};

describe('lab seed generator', () => {
  test('is deterministic: same topology and clock, same rows', () => {
    expect(seedFor(12, 40)).toEqual(seedFor(12, 40));
    expect(JSON.stringify(seedFor(7, 9))).toBe(JSON.stringify(seedFor(7, 9)));
  });

  test('addresses follow the net; NCs at 127.X.1.N, VMs from the next octet', () => {
    const a = seedFor(12, 40, '127.77');
    const b = seedFor(12, 40, '127.88');
    expect(rows(a, 'houyi', 'nc')[0]!.ip).toBe('127.77.1.1');
    expect(rows(b, 'houyi', 'nc')[0]!.ip).toBe('127.88.1.1');
    expect(rows(a, 'houyi', 'vm')[0]!.ip).toBe('127.77.2.1');
    expect(ncAddress('127.5', 250)).toBe('127.5.2.1');
    expect(vmAddress('127.5', 300, 0)).toBe('127.5.3.1');
    expect(vmAddress('127.5', 12, 251)).toBe('127.5.3.2');
  });

  test.each([
    [12, 40],
    [6, 0],
    [8, 16],
    [31, 250],
  ])('%i NCs and %i VMs: counts follow the flags, names and addresses are unique', (ncs, vms) => {
    const s = seedFor(ncs, vms);
    const nc = rows(s, 'houyi', 'nc');
    const vm = rows(s, 'houyi', 'vm');
    expect(nc).toHaveLength(ncs);
    expect(vm).toHaveLength(vms);
    const ips = [...nc, ...vm].map((r) => r.ip as string);
    expect(new Set(ips).size).toBe(ips.length);
    for (const ip of ips) expect(Number(ip.split('.')[2])).toBeLessThan(200);
    expect(new Set(vm.map((r) => r.name)).size).toBe(vms);
    expect(new Set(vm.map((r) => r.instance_id)).size).toBe(vms);
    expect(nc.map((r) => r.hostname)).toEqual(Array.from({ length: ncs }, (_, i) => `nc-a${String(i + 1).padStart(2, '0')}`));
  });

  test('default region: 2 zones, RDS and ECS clusters, NCs in both zones, some out of service', () => {
    const s = seedFor(12, 40);
    expect(rows(s, 'houyi', 'zone').map((z) => z.name)).toEqual(['cn-hangzhou-a', 'cn-hangzhou-b']);
    const clusters = rows(s, 'houyi', 'cluster');
    expect(clusters.length).toBeGreaterThanOrEqual(3);
    expect(new Set(clusters.map((c) => c.usage_type))).toEqual(new Set(['rds', 'ecs']));
    const nc = rows(s, 'houyi', 'nc');
    expect(new Set(nc.map((n) => n.zone_id))).toEqual(new Set([1, 2]));
    expect(nc.map((n) => n.status)).toEqual(expect.arrayContaining(['offline', 'locked', 'maintain']));
    expect(nc.filter((n) => n.locked === 1).every((n) => n.status === 'locked')).toBe(true);
    expect(nc.every((n) => n.ssh_port === 2222)).toBe(true);
  });

  test('VMs live on ECS NCs, some stopped, and allocation equals the sum of their VMs', () => {
    const s = seedFor(12, 40);
    const clusters = rows(s, 'houyi', 'cluster');
    const nc = rows(s, 'houyi', 'nc');
    const vm = rows(s, 'houyi', 'vm');
    const usage = (ncId: unknown) => clusters.find((c) => c.id === nc.find((n) => n.id === ncId)!.cluster_id)!.usage_type;
    expect(vm.every((v) => usage(v.nc_id) === 'ecs')).toBe(true);
    expect(vm.filter((v) => v.status === 'stopped').length).toBeGreaterThan(0);
    for (const n of nc) {
      const mine = vm.filter((v) => v.nc_id === n.id);
      expect(n.cpu_allocated).toBe(mine.reduce((a, v) => a + (v.vcpu as number), 0));
      expect(n.mem_allocated_mb).toBe(mine.reduce((a, v) => a + (v.mem_mb as number), 0));
      expect(n.cpu_allocated as number).toBeLessThanOrEqual(n.cpu_total as number);
    }
    const offline = nc.find((n) => n.status === 'offline')!;
    expect(vm.filter((v) => v.nc_id === offline.id).every((v) => v.status === 'stopped')).toBe(true);
    expect(rows(s, 'houyi', 'natgw').length).toBeGreaterThan(0);
  });

  test('dbaas: hostinfo mirrors the RDS NCs; versions, classes, storage, templates, operators', () => {
    const s = seedFor(12, 40);
    const clusters = rows(s, 'houyi', 'cluster');
    const rdsNcs = rows(s, 'houyi', 'nc').filter((n) => clusters.find((c) => c.id === n.cluster_id)!.usage_type === 'rds');
    const hostinfo = rows(s, 'dbaas', 'hostinfo');
    expect(hostinfo.map((h) => [h.hostname, h.ip, h.ssh_port])).toEqual(rdsNcs.map((n) => [n.hostname, n.ip, n.ssh_port]));
    expect(hostinfo.every((h) => h.port_min === 3001 && h.port_max === 3999)).toBe(true);
    const versions = rows(s, 'dbaas', 'engine_version');
    expect(versions.map((v) => v.version)).toEqual(['5.6', '5.7', '8.0']);
    expect(versions.filter((v) => v.is_default === 1).map((v) => v.version)).toEqual(['8.0']);
    const classes = rows(s, 'dbaas', 'instance_class');
    expect(classes.length).toBeGreaterThanOrEqual(5);
    expect(classes[0]).toMatchObject({ class_code: 'rds.mysql.s1.small', cpu: 1, mem_mb: 2048 });
    expect(rows(s, 'dbaas', 'storage_type').map((t) => t.name)).toEqual(['local_ssd', 'cloud_ssd', 'cloud_essd']);
    const tpl = rows(s, 'dbaas', 'mycnf_template');
    for (const v of ['5.6', '5.7', '8.0']) {
      const mine = Object.fromEntries(tpl.filter((t) => t.version === v).map((t) => [t.name, t.value]));
      expect(mine).toMatchObject({ innodb_buffer_pool_size: '{mem_mb*3/4}M', max_connections: '{max_connections}' });
      expect(mine.character_set_server).toBeDefined();
    }
    expect(rows(s, 'dbaas', 'operator').map((o) => [o.os_user, o.role])).toEqual([
      ['root', 'admin'],
      ['alice', 'readonly'],
      ['bob', 'operator'],
    ]);
  });

  test('xuanyuan: at least 8 lb_node and some proxies, some not online', () => {
    const s = seedFor(12, 40);
    const lb = rows(s, 'xuanyuan', 'lb_node');
    const proxy = rows(s, 'xuanyuan', 'proxy');
    expect(lb.length).toBeGreaterThanOrEqual(8);
    expect(lb.some((n) => n.status !== 'online')).toBe(true);
    expect(proxy.some((n) => n.status === 'offline')).toBe(true);
    expect(proxy[0]).toHaveProperty('ip_adr');
    for (const ip of [...lb.map((n) => n.ip_addr), ...proxy.map((n) => n.ip_adr)]) expect(ip).toMatch(/^127\.77\.20[01]\.\d+$/);
  });

  test('the lab serves every NC, the backup store and exactly the online SLB nodes', () => {
    const t = buildTopology({ ncs: 12, vms: 40, net: '127.77', sshPort: 2222 });
    const served = alwaysServed(t).map((h) => h.name);
    expect(served.filter((n) => n.startsWith('nc-'))).toHaveLength(12);
    expect(served).toContain('bak-01');
    expect(served).not.toContain('lvs-04');
    expect(served).not.toContain('proxy-03');
    expect(labHosts(t)).toHaveLength(12 + 40 + 8 + 6 + 1);
  });

  test('tianji: at least one violation of each rule', () => {
    const s = seedFor(12, 40);
    const [clusterService, serverRole, application, machine, sr, app] = ['cluster_service', 'server_role', 'application', 'machine', 'sr_instance', 'app_instance'].map((t) => rows(s, 'tianji', t));
    // Rule 1: a cluster running a service has every role of it on some machine of the cluster.
    const rule1 = clusterService!.flatMap((cs) =>
      serverRole!
        .filter((r) => r.service_id === cs.service_id)
        .filter((r) => !sr!.some((i) => i.server_role_id === r.id && machine!.find((m) => m.id === i.machine_id)!.cluster_id === cs.cluster_id))
        .map((r) => r.name),
    );
    expect(rule1).toEqual(['ApiProxy#']);
    // Rule 2: a machine running a role has every app of that role.
    const rule2 = sr!.flatMap((i) =>
      application!
        .filter((a) => a.server_role_id === i.server_role_id)
        .filter((a) => !app!.some((x) => x.sr_instance_id === i.id && x.application_id === a.id))
        .map((a) => `${machine!.find((m) => m.id === i.machine_id)!.hostname}:${a.name}`),
    );
    expect(rule2).toEqual(['rds-ctl-02:pengine-agent']);
  });

  test('pangu: 3 replicas on distinct chunkservers; cs-a01:sdb is critical, cs-a04 is free, cs-a05 is at its offline limit', () => {
    const s = seedFor(12, 40);
    const [cluster, cs, disk, chunk, replica] = ['pangu_cluster', 'chunkserver', 'disk', 'chunk', 'chunk_replica'].map((t) => rows(s, 'pangu', t));
    expect(cluster).toHaveLength(2);
    const csOf = (diskId: unknown) => cs!.find((c) => c.id === disk!.find((d) => d.id === diskId)!.chunkserver_id)!.hostname;
    const name = (d: SeedRow) => `${cs!.find((c) => c.id === d.chunkserver_id)!.hostname}:${d.device}`;
    for (const c of chunk!) {
      const mine = replica!.filter((r) => r.chunk_id === c.id);
      expect(mine).toHaveLength(3);
      expect(new Set(mine.map((r) => csOf(r.disk_id))).size).toBe(3);
    }
    const healthy = (d: SeedRow) => d.status === 'ok';
    const wouldDrop = (target: SeedRow) =>
      chunk!.some((c) => {
        const ok = replica!.filter((r) => r.chunk_id === c.id).map((r) => disk!.find((d) => d.id === r.disk_id)!).filter(healthy);
        return ok.some((d) => d.id === target.id) && ok.length - 1 < 3;
      });
    const byName = (n: string) => disk!.find((d) => name(d) === n)!;
    expect(healthy(byName('cs-a01:sdb')) && wouldDrop(byName('cs-a01:sdb'))).toBe(true);
    expect(wouldDrop(byName('cs-a04:sdb'))).toBe(false);
    const offlineA05 = disk!.filter((d) => name(d).startsWith('cs-a05:') && d.status === 'offline');
    expect(offlineA05).toHaveLength(cluster![0]!.max_offline_disks_per_cs as number);
    expect(disk!.some((d) => d.status === 'error')).toBe(true);
  });

  test('vpc: VPCs with tunnel ids, a vswitch per zone, system and custom routes', () => {
    const s = seedFor(12, 40);
    const vpc = rows(s, 'vpc', 'vpc');
    expect(new Set(vpc.map((v) => v.tunnel_id)).size).toBe(vpc.length);
    expect(rows(s, 'vpc', 'vswitch')).toHaveLength(vpc.length * 2);
    const kinds = rows(s, 'vpc', 'route_entry').map((r) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(['system', 'custom']));
    // The houyi VMs name VPCs that exist.
    const ids = new Set(vpc.map((v) => v.vpc_id));
    expect(rows(s, 'houyi', 'vm').every((v) => ids.has(v.vpc_id as string))).toBe(true);
  });
});
