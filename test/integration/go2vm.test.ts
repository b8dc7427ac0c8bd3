import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// go2vm against the shared lab: a VM is reached through its NC (stop the NC's sshd and the VM is
// out of reach though its own sshd runs), --nc opens the NC, a VM houyi does not show as running is
// refused at once without SSH.

jest.setTimeout(60_000);

interface VmRow {
  name: string;
  instance_id: string;
  ip: string;
  status: string;
  nc: string;
}

let lab: TestLab;
let running: VmRow;
let stopped: VmRow;

beforeAll(async () => {
  lab = sharedLab();
  const { ctx } = lab.context();
  try {
    const rows = await ctx.db('houyi').query<VmRow>('SELECT v.name, v.instance_id, v.ip, v.status, n.hostname AS nc FROM vm v JOIN nc n ON n.id = v.nc_id ORDER BY v.name');
    running = rows.find((v) => v.status === 'running')!;
    stopped = rows.find((v) => v.status === 'stopped')!;
  } finally {
    await ctx.close();
  }
  expect(running).toBeDefined();
  expect(stopped).toBeDefined();
});

test('runs a command on a VM named by name, instance id or IP', async () => {
  for (const key of [running.name, running.instance_id, running.ip]) {
    const r = await lab.run(['go2vm', key, '--', 'hostname']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${running.name}: ${running.name}\n`);
  }
});

test('-o json: one record, the remote exit code passed through', async () => {
  const r = await lab.run(['go2vm', running.name, '-o', 'json', '--', 'echo hi; exit 4']);
  expect(r.code).toBe(4);
  const [rec] = json<Array<Record<string, unknown>>>(r);
  expect(rec).toMatchObject({ host: running.name, address: running.ip, exit_code: 4, stdout: 'hi\n', category: 'exit' });
});

test('--nc opens the VM\'s NC', async () => {
  const r = await lab.run(['go2vm', running.name, '--nc', '--', 'hostname']);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`${running.nc}: ${running.nc}\n`);
});

test('the VM is reached through its NC: with the NC\'s sshd down it is out of reach', async () => {
  lab.stopHost(running.nc);
  try {
    const r = await lab.run(['go2vm', running.name, '-o', 'json', '--connect-timeout', '3', '--', 'true']);
    expect(r.code).toBe(5);
    const [rec] = json<Array<{ category: string; error: string }>>(r);
    expect(['refused', 'connect-timeout']).toContain(rec!.category);
    expect(rec!.error).toContain(running.nc);
  } finally {
    lab.startHost(running.nc);
  }
  expect((await lab.run(['go2vm', running.name, '--', 'true'])).code).toBe(0);
});

test('a VM that is not running is refused at once, naming its state', async () => {
  const t0 = Date.now();
  const r = await lab.run(['go2vm', stopped.name, '--', 'hostname']);
  expect(r.code).toBe(9);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`rdsctl: VM ${stopped.name} is stopped (houyi); not connecting (start it: rdsctl hyapi start_vm vm_name=${stopped.name})\n`);
  expect(Date.now() - t0).toBeLessThan(3000);
  // Its NC is still reachable.
  expect((await lab.run(['go2vm', stopped.name, '--nc', '--', 'true'])).code).toBe(0);
});

test('--dry-run shows the route and runs nothing', async () => {
  const r = await lab.run(['go2vm', running.name, '--dry-run', '--', 'reboot']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`${running.name} (${running.ip}:`);
  expect(r.stdout).toContain(`via ${running.nc}`);
  expect(r.stdout).toContain(`remote [${running.name}]: reboot`);
});

test.each(["vm-001'", 'vm-001; id', '$(id)', '`id`', 'vm-*', 'vm 001', 'vm-001\nid'])('hostile name %j: one-line not-found', async (name) => {
  const r = await lab.run(['go2vm', name, '--', 'true']);
  expect(r.code).toBe(3);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^rdsctl: VM ".*" not found/);
});

describe('interactive sessions (system OpenSSH, bin/rdsctl as its own process)', () => {
  const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
  // Without a terminal, ssh runs the remote shell on our stdin: commands in, the remote exit code out.
  // A login shell resets PATH (/etc/profile), so the lab's hostname shim is not first: the host says
  // who it is through RDS_HOST_NAME, which its sshd sets per listening address.
  const session = (args: string[], input: string) => spawnSync(process.execPath, [BIN, ...args], { env: lab.env, input, encoding: 'utf8', timeout: 60_000 });

  test('go2nc NC: a shell on the NC with the profile\'s key and known_hosts; its exit code passed through', () => {
    const r = session(['go2nc', running.nc], 'echo "$RDS_HOST_NAME"; exit 3\n');
    expect(r.stdout).toBe(`${running.nc}\n`);
    expect(r.status).toBe(3);
  });

  test('go2vm VM: a shell on the VM through its NC', () => {
    const r = session(['go2vm', running.name], 'echo "$RDS_HOST_NAME"\n');
    expect(r.stdout).toBe(`${running.name}\n`);
    expect(r.status).toBe(0);
  });

  test('go2nc on several hosts without a command is a usage error', async () => {
    const r = await lab.run(['go2nc', 'nc-a[01-02]']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give a command after --');
  });
});

describe('node sets of VMs (fan-out through each VM\'s NC)', () => {
  let runningVms: VmRow[];
  beforeAll(async () => {
    const { ctx } = lab.context();
    try {
      runningVms = await ctx.db('houyi').query<VmRow>("SELECT v.name, v.instance_id, v.ip, v.status, n.hostname AS nc FROM vm v JOIN nc n ON n.id = v.nc_id WHERE v.status = 'running' ORDER BY v.name LIMIT 3");
    } finally {
      await ctx.close();
    }
    expect(runningVms.length).toBeGreaterThanOrEqual(2);
  });

  test('a comma list of VMs: each answers through its own NC, -b folds them', async () => {
    const set = runningVms.map((v) => v.name).join(',');
    const r = await lab.run(['go2vm', set, '-o', 'json', '--', 'hostname']);
    expect(r.code).toBe(0);
    const recs = json<Array<{ host: string; stdout: string }>>(r);
    expect(recs.map((x) => [x.host, x.stdout])).toEqual(runningVms.map((v) => [v.name, `${v.name}\n`]));
    const g = await lab.run(['go2vm', set, '-b', '--', 'echo same']);
    expect(g.stdout).toContain(`(${runningVms.length})\n---------------\nsame\n`);
  });

  test('--nc with a VM set opens each NC once', async () => {
    const r = await lab.run(['go2vm', runningVms.map((v) => v.name).join(','), '--nc', '-o', 'json', '--', 'hostname']);
    const ncs = [...new Set(runningVms.map((v) => v.nc))];
    expect(json<Array<{ host: string }>>(r).map((x) => x.host).sort()).toEqual(ncs.sort());
  });

  test('@nc:NAME is the VMs on that NC; a stopped VM in the set refuses the whole run (exit 9)', async () => {
    const mixed = await lab.run(['go2vm', `${running.name},${stopped.name}`, '--', 'true']);
    expect(mixed.code).toBe(9);
    expect(mixed.stderr).toContain(`${stopped.name} (stopped)`);
    const onNc = await lab.run(['go2vm', `@nc:${running.nc}&${running.name}`, '-o', 'json', '--', 'true']);
    expect(json<Array<{ host: string }>>(onNc).map((x) => x.host)).toEqual([running.name]);
    const unknown = await lab.run(['go2vm', '@nc:nc-zz99', '--', 'true']);
    expect(unknown.code).toBe(3);
  });

  test('an interactive shell is for one VM', async () => {
    const r = await lab.run(['go2vm', runningVms.map((v) => v.name).join(',')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give a command after --');
  });
});
