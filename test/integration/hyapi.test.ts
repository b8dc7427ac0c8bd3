import fs from 'node:fs';
import path from 'node:path';
import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// hyapi against the shared lab: reads from houyi, and stop/start/reboot through the NC's virsh
// stand-in, which really stops and starts the VM's sshd. The VM used is put back running.

jest.setTimeout(120_000);

interface Envelope<T> {
  code: string;
  message: string;
  data: T;
}

let lab: TestLab;
let vm: { name: string; uuid: string; instance_id: string; ip: string; nc: string };

beforeAll(async () => {
  lab = sharedLab();
  const { ctx } = lab.context();
  try {
    // A running VM on an NC nobody else's test stops; the last one keeps clear of other suites' picks.
    const rows = await ctx.db('houyi').query<{ name: string; uuid: string; instance_id: string; ip: string; nc: string }>(
      "SELECT v.name, v.uuid, v.instance_id, v.ip, n.hostname AS nc FROM vm v JOIN nc n ON n.id = v.nc_id WHERE v.status = 'running' ORDER BY v.name DESC LIMIT 1",
    );
    vm = rows[0]!;
  } finally {
    await ctx.close();
  }
  expect(vm).toBeDefined();
});

async function status(name: string): Promise<string> {
  const r = await lab.run(['hyapi', 'detail_vm', `vm_name=${name}`]);
  expect(r.code).toBe(0);
  return json<Envelope<{ status: string }>>(r).data.status;
}

async function domstate(): Promise<string> {
  const r = await lab.run(['go2nc', vm.nc, '--', `virsh domstate ${vm.name}`]);
  expect(r.code).toBe(0);
  return r.stdout.split('\n')[0]!.replace(`${vm.nc}: `, '');
}

describe('reads', () => {
  test('detail_vm by name, instance id and IP: the API envelope', async () => {
    for (const key of [vm.name, vm.instance_id, vm.ip]) {
      const r = await lab.run(['hyapi', 'detail_vm', `vm_name=${key}`]);
      expect(r.code).toBe(0);
      const e = json<Envelope<Record<string, unknown>>>(r);
      expect(e).toMatchObject({ code: '200', message: 'success', data: { name: vm.name, instance_id: vm.instance_id, ip: vm.ip, nc: vm.nc, status: 'running' } });
      // The names before the one VM record stay for a release.
      expect(e.data).toMatchObject({ vm_name: vm.name, nc_name: vm.nc });
      for (const f of ['vcpu', 'mem_mb', 'image', 'cluster', 'zone', 'nc_ip', 'ssh_port']) expect(e.data).toHaveProperty(f);
    }
  });

  test('list_vm, detail_nc, list_nc with filters', async () => {
    const vms = json<Envelope<Array<{ name: string; vm_name: string }>>>(await lab.run(['hyapi', 'list_vm', `nc_name=${vm.nc}`]));
    expect(vms.data.map((v) => v.name)).toContain(vm.name);
    expect(vms.data.map((v) => v.vm_name)).toEqual(vms.data.map((v) => v.name));
    const nc = json<Envelope<{ nc_name: string; zone: string; cluster: string; vm_count: number }>>(await lab.run(['hyapi', 'detail_nc', `nc_name=${vm.nc}`]));
    expect(nc.data).toMatchObject({ nc_name: vm.nc });
    expect(nc.data.vm_count).toBeGreaterThanOrEqual(vms.data.length);
    const all = json<Envelope<Array<{ nc_name: string; zone: string; cluster: string }>>>(await lab.run(['hyapi', 'list_nc']));
    const inZone = json<Envelope<Array<{ nc_name: string; zone: string }>>>(await lab.run(['hyapi', 'list_nc', `zone=${nc.data.zone}`]));
    expect(inZone.data.length).toBeGreaterThan(0);
    expect(inZone.data.length).toBeLessThan(all.data.length);
    expect(inZone.data.every((n) => n.zone === nc.data.zone)).toBe(true);
    const both = json<Envelope<Array<{ nc_name: string }>>>(await lab.run(['hyapi', 'list_nc', `zone=${nc.data.zone}`, `cluster=${nc.data.cluster}`]));
    expect(both.data.map((n) => n.nc_name)).toEqual(all.data.filter((n) => n.zone === nc.data.zone && n.cluster === nc.data.cluster).map((n) => n.nc_name));
  });

  test('-o table', async () => {
    const r = await lab.run(['hyapi', 'list_vm', `nc_name=${vm.nc}`, '-o', 'table']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^VM_NAME\s+INSTANCE_ID\s+STATUS/);
    expect(r.stdout).toContain(vm.name);
  });

  test('unknown names: not found in the envelope and on stderr, with near matches', async () => {
    const r = await lab.run(['hyapi', 'detail_vm', `vm_name=${vm.name}9`]);
    expect(r.code).toBe(3);
    expect(json<Envelope<null>>(r)).toMatchObject({ code: 'InvalidVmName.NotFound', data: null });
    expect(r.stderr).toMatch(/did you mean: vm-/);
    const n = await lab.run(['hyapi', 'list_vm', 'nc_name=nc-zz01']);
    expect(n.code).toBe(3);
    expect(json<Envelope<null>>(n).code).toBe('InvalidNcName.NotFound');
  });

  test.each(["vm'; drop table vm; --", 'vm-$(reboot)', 'vm-`id`', 'vm-*', 'vm 001', 'vm\n001', '%', '_'])('a hostile name %j is a one-line not-found', async (name) => {
    const r = await lab.run(['hyapi', 'detail_vm', `vm_name=${name}`]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('actions owned by vpc/ go through the same dispatcher', () => {
  test('list_natgw_acl answers in the API envelope; an unknown parameter lists the valid ones', async () => {
    const r = await lab.run(['hyapi', 'list_natgw_acl', '-o', 'json']);
    expect(r.code).toBe(0);
    const answer = JSON.parse(r.stdout) as { code: string; data: unknown };
    expect(answer.code).toBe('200');
    expect(Array.isArray(answer.data)).toBe(true);
    const bad = await lab.run(['hyapi', 'list_natgw_acl', 'vm_name=x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('(valid: natgw_id, direction)');
  });
});

describe('stop, start, reboot', () => {
  afterAll(async () => {
    if ((await status(vm.name)) !== 'running') await lab.run(['hyapi', 'start_vm', `vm_name=${vm.name}`]);
  });

  test('stop_vm --dry-run prints the plan and changes nothing', async () => {
    const r = await lab.run(['hyapi', 'stop_vm', `vm_name=${vm.name}`, '--dry-run']);
    expect(r.code).toBe(0);
    const plan = json<{ dry_run: boolean; remote: Array<{ host: string; command: string }>; sql: Array<{ statement: string }> }>(r);
    expect(plan.dry_run).toBe(true);
    expect(plan.remote[0]).toEqual({ host: vm.nc, command: `virsh shutdown ${vm.uuid}` });
    expect(plan.sql[0]!.statement).toMatch(/^UPDATE vm SET status/);
    expect(await status(vm.name)).toBe('running');
    expect(await domstate()).toBe('running');
  });

  test('stop_vm → go2vm fails naming the state → start_vm → go2vm works', async () => {
    const stop = await lab.run(['hyapi', 'stop_vm', `vm_name=${vm.name}`, '--reason', 'integration test']);
    expect(stop.code).toBe(0);
    expect(json<Envelope<Record<string, unknown>>>(stop).data).toMatchObject({ vm_name: vm.name, nc_name: vm.nc, previous_status: 'running', status: 'stopped', domain_state: 'shut off' });
    expect(await status(vm.name)).toBe('stopped');
    expect(await domstate()).toBe('shut off');

    const t0 = Date.now();
    const refused = await lab.run(['go2vm', vm.name, '--', 'hostname']);
    expect(refused.code).toBe(9);
    expect(refused.stderr).toMatch(new RegExp(`VM ${vm.name} is stopped`));
    expect(Date.now() - t0).toBeLessThan(5000);

    // The NC really stopped it: through the NC, the VM's address no longer answers SSH.
    const direct = await lab.run(['go2nc', vm.ip, '-o', 'json', '--connect-timeout', '3', '--', 'true']);
    expect(direct.code).toBe(5);
    expect(['refused', 'connect-timeout']).toContain(json<Array<{ category: string }>>(direct)[0]!.category);

    const again = await lab.run(['hyapi', 'stop_vm', `vm_name=${vm.name}`]);
    expect(again.code).toBe(9);
    expect(json<Envelope<null>>(again).code).toBe('IncorrectVmStatus');

    const start = await lab.run(['hyapi', 'start_vm', `vm_name=${vm.name}`]);
    expect(start.code).toBe(0);
    expect(json<Envelope<Record<string, unknown>>>(start).data).toMatchObject({ previous_status: 'stopped', status: 'running', domain_state: 'running' });
    const ok = await lab.run(['go2vm', vm.name, '--', 'hostname']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`${vm.name}: ${vm.name}\n`);
  });

  test('reboot_vm waits for the NC to report the VM running again', async () => {
    const r = await lab.run(['hyapi', 'reboot_vm', `vm_name=${vm.name}`, '-o', 'table']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/domain_state:\s+running/);
    expect((await lab.run(['go2vm', vm.name, '--', 'true'])).code).toBe(0);
  });

  test('every state change is audited with the NC and the outcome', async () => {
    const { ctx } = lab.context();
    const recs = ctx.audit().readLocal().filter((x) => x.command === 'hyapi stop_vm' && x.targets[0] === vm.name && x.phase === 'result');
    await ctx.close();
    expect(recs.length).toBeGreaterThan(0);
    expect(recs.some((x) => x.ok === true && x.detail.nc === vm.nc && x.detail.domain_state === 'shut off')).toBe(true);
  });
});

// Issue #16: virsh takes an all-digit domain argument as a domain id before a UUID or a name, so
// `virsh shutdown 1` for a VM named "1" stopped whichever domain had id 1 on that NC. A running VM
// (B) next to the domain with id 1 (A) is renamed "1" in houyi and on its NC (the stand-in's
// domain file, as a libvirt domain rename would), then stopped and started through hyapi.
describe('virsh is addressed by UUID: a VM named "1" beside the domain with id 1', () => {
  interface Dom {
    name: string;
    uuid: string;
    id: string;
    conf: string;
  }
  let nc = '';
  let a: Dom;
  let b: Dom;
  let libvirt = '';
  let renamed = false;

  const houyiStatus = async (name: string): Promise<string | undefined> => {
    const { ctx } = lab.context();
    try {
      const [r] = await ctx.db('houyi').query<{ status: string }>('SELECT status FROM vm WHERE name = ?', [name]);
      return r?.status;
    } finally {
      await ctx.close();
    }
  };
  const renameInHouyi = async (from: string, to: string): Promise<void> => {
    const { ctx } = lab.context();
    try {
      await ctx.db('houyi').execute('UPDATE vm SET name = ? WHERE name = ?', [to, from]);
    } finally {
      await ctx.close();
    }
  };
  const stateByUuid = async (uuid: string): Promise<string> => {
    const r = await lab.run(['go2nc', nc, '--', `virsh domstate ${uuid}`]);
    expect(r.code).toBe(0);
    return r.stdout.split('\n')[0]!.replace(`${nc}: `, '');
  };

  beforeAll(async () => {
    const { ctx } = lab.context();
    let rows: Array<{ name: string; nc: string }>;
    try {
      rows = await ctx.db('houyi').query<{ name: string; nc: string }>(
        "SELECT v.name, n.hostname AS nc FROM vm v JOIN nc n ON n.id = v.nc_id WHERE v.status = 'running' AND n.status = 'online' ORDER BY n.hostname, v.name",
      );
    } finally {
      await ctx.close();
    }
    const running = new Set(rows.map((r) => r.name).filter((n) => n !== vm.name));
    for (const host of [...new Set(rows.map((r) => r.nc))]) {
      const dir = path.join(lab.hostDisk(host), 'var/lib/libvirt/lab');
      const doms = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.conf'))
        .map((f) => {
          const conf = fs.readFileSync(path.join(dir, f), 'utf8');
          const kv = Object.fromEntries(conf.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
          return { name: kv.name!, uuid: kv.uuid!, id: kv.id!, conf };
        })
        .filter((d) => running.has(d.name));
      const one = doms.find((d) => d.id === '1');
      const other = doms.find((d) => d.id !== '1');
      if (one && other) {
        nc = host;
        a = one;
        b = other;
        libvirt = dir;
        break;
      }
    }
    expect(nc).not.toBe('');
    // Domain B becomes "1": its domain file names it "1" and keeps its VM (host=), houyi follows.
    fs.writeFileSync(path.join(libvirt, '1.conf'), b.conf.replace(/^name=.*$/m, 'name=1') + `host=${b.name}\n`);
    fs.renameSync(path.join(libvirt, `${b.name}.state`), path.join(libvirt, '1.state'));
    fs.rmSync(path.join(libvirt, `${b.name}.conf`));
    await renameInHouyi(b.name, '1');
    renamed = true;
  });

  afterAll(async () => {
    if (!renamed) return;
    // Both domains running again, whatever the test did, then B gets its name back.
    for (const d of [a, b]) if ((await stateByUuid(d.uuid)) !== 'running') await lab.run(['go2nc', nc, '--', `virsh start ${d.uuid}`]);
    fs.writeFileSync(path.join(libvirt, `${b.name}.conf`), b.conf);
    fs.renameSync(path.join(libvirt, '1.state'), path.join(libvirt, `${b.name}.state`));
    fs.rmSync(path.join(libvirt, '1.conf'));
    await renameInHouyi('1', b.name);
    const { ctx } = lab.context();
    try {
      await ctx.db('houyi').execute("UPDATE vm SET status = 'running' WHERE name IN (?, ?)", [a.name, b.name]);
    } finally {
      await ctx.close();
    }
  });

  test('the stand-in resolves "1" as real virsh does: the domain with id 1, not the domain named "1"', async () => {
    const r = await lab.run(['go2nc', nc, '--', 'virsh dominfo 1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`UUID:           ${a.uuid}`);
  });

  test('stop_vm / start_vm of VM "1" act on its own domain only; the domain with id 1 keeps running', async () => {
    const stop = await lab.run(['hyapi', 'stop_vm', 'vm_name=1', '--wait', '60', '--reason', 'virsh by uuid test']);
    expect(stop.stderr).toBe('');
    expect(stop.code).toBe(0);
    expect(json<Envelope<Record<string, unknown>>>(stop).data).toMatchObject({ vm_name: '1', status: 'stopped', domain_state: 'shut off' });
    expect(await stateByUuid(b.uuid)).toBe('shut off');
    expect(await stateByUuid(a.uuid)).toBe('running');
    expect(await houyiStatus(a.name)).toBe('running');
    expect((await lab.run(['go2vm', a.name, '--', 'true'])).code).toBe(0);

    const start = await lab.run(['hyapi', 'start_vm', 'vm_name=1', '--wait', '60']);
    expect(start.code).toBe(0);
    expect(await stateByUuid(b.uuid)).toBe('running');
    expect(await stateByUuid(a.uuid)).toBe('running');
    expect(await houyiStatus('1')).toBe('running');
  });

  test('a VM with no uuid in houyi: one line naming table, key and column; nothing is run', async () => {
    const { ctx } = lab.context();
    try {
      await ctx.db('houyi').execute("UPDATE vm SET uuid = NULL WHERE name = '1'");
      const r = await lab.run(['hyapi', 'stop_vm', 'vm_name=1']);
      expect(r.code).toBe(9);
      expect(r.stderr).toMatch(/^rdsctl: metadb row houyi\.vm name=1: column uuid holds null, which is not a libvirt domain UUID/);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
      await ctx.db('houyi').execute("UPDATE vm SET uuid = 'vm-1; reboot' WHERE name = '1'");
      const bad = await lab.run(['hyapi', 'stop_vm', 'vm_name=1', '--dry-run']);
      expect(bad.code).toBe(9);
      expect(bad.stderr).toMatch(/column uuid holds "vm-1; reboot"/);
    } finally {
      await ctx.db('houyi').execute("UPDATE vm SET uuid = ? WHERE name = '1'", [b.uuid]);
      await ctx.close();
    }
    expect(await stateByUuid(b.uuid)).toBe('running');
  });
});
