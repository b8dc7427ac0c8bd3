import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { VIRSH_STANDIN } from '../../src/lab/hosts.js';

// The virsh stand-in on its own: two shut-off domains and no hypervisor to start them (its
// directories moved to a temp dir, so nothing here touches /var/lib/libvirt or /run/libvirt).
// The running half (start, shutdown really stopping the VM) is in test/integration/lab.test.ts.

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-virsh-'));
  fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  fs.copyFileSync(VIRSH_STANDIN, path.join(root, 'usr/bin/virsh'));
  fs.chmodSync(path.join(root, 'usr/bin/virsh'), 0o755);
  const lib = path.join(root, 'var/lib/libvirt/lab');
  fs.mkdirSync(lib, { recursive: true });
  for (const [name, id] of [['vm-002', 2], ['vm-010', 5]] as const) {
    const conf = { name, id, uuid: `00000000-0000-4000-a000-00000000000${id}`, vcpu: 2, memory_kib: 4194304 };
    fs.writeFileSync(path.join(lib, `${name}.conf`), Object.entries(conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    fs.writeFileSync(path.join(lib, `${name}.state`), 'shut off\nshutdown\n');
  }
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function virsh(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { PATH: '/usr/bin:/bin', RDSCTL_LAB_LIBVIRT: path.join(root, 'var/lib/libvirt/lab'), RDSCTL_LAB_LIBVIRT_RUN: path.join(root, 'run/libvirt') };
  const r = spawnSync(path.join(root, 'usr/bin/virsh'), args, { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('virsh stand-in', () => {
  test('list --all: the vshTable layout, "-" for the Id of a shut-off domain, a trailing empty line', () => {
    expect(virsh('list', '--all')).toEqual({
      code: 0,
      stdout: [' Id   Name     State', '-------------------------', ' -    vm-002   shut off', ' -    vm-010   shut off', '', ''].join('\n'),
      stderr: '',
    });
  });

  test('list shows running domains only; --name prints bare names', () => {
    expect(virsh('list').stdout).toBe(' Id   Name   State\n--------------------\n\n');
    expect(virsh('list', '--all', '--name').stdout).toBe('vm-002\nvm-010\n\n');
    expect(virsh('-q', 'list', '--all')).toMatchObject({ stdout: ' -    vm-002   shut off\n -    vm-010   shut off\n' });
  });

  test('domstate and dominfo', () => {
    expect(virsh('domstate', 'vm-002')).toEqual({ code: 0, stdout: 'shut off\n\n', stderr: '' });
    expect(virsh('domstate', '--reason', 'vm-002').stdout).toBe('shut off (shutdown)\n\n');
    expect(virsh('domstate', '00000000-0000-4000-a000-000000000005').stdout).toBe('shut off\n\n');
    const info = virsh('dominfo', 'vm-010').stdout;
    const field = (k: string, v: string) => `${k.padEnd(15)} ${v}\n`;
    expect(info).toBe(
      field('Id:', '-') + field('Name:', 'vm-010') + field('UUID:', '00000000-0000-4000-a000-000000000005') + field('OS Type:', 'hvm') + field('State:', 'shut off') + field('CPU(s):', '2') +
        field('Max memory:', '4194304 KiB') + field('Used memory:', '4194304 KiB') + field('Persistent:', 'yes') + field('Autostart:', 'disable') + field('Managed save:', 'no') +
        field('Security model:', 'none') + field('Security DOI:', '0') + '\n',
    );
    expect(info).not.toContain('CPU time');
  });

  test('a domain argument is an id first, then a UUID, then a name (real virsh order); host= keeps a renamed domain on its VM', () => {
    const lib = path.join(root, 'var/lib/libvirt/lab');
    // A shut-off domain named "2" (its VM is vm-020): no running domain has id 2, so "2" is the name.
    fs.writeFileSync(path.join(lib, '2.conf'), 'name=2\nid=7\nuuid=00000000-0000-4000-a000-000000000007\nvcpu=1\nmemory_kib=1024\nhost=vm-020\n');
    try {
      expect(virsh('dominfo', '2').stdout).toContain('UUID:           00000000-0000-4000-a000-000000000007');
      expect(virsh('domstate', '00000000-0000-4000-a000-000000000007')).toEqual({ code: 0, stdout: 'shut off\n\n', stderr: '' });
      expect(virsh('dominfo', '00000000-0000-4000-a000-000000000002').stdout).toContain('Name:           vm-002');
    } finally {
      fs.rmSync(path.join(lib, '2.conf'));
    }
  });

  test('errors: unknown or hostile domain, wrong state, a start that fails, unknown command', () => {
    expect(virsh('domstate', 'vm-999')).toEqual({ code: 1, stdout: '\n', stderr: "error: failed to get domain 'vm-999'\n" });
    expect(virsh('dominfo', '../../etc/passwd')).toMatchObject({ code: 1, stderr: "error: failed to get domain '../../etc/passwd'\n" });
    expect(virsh('domstate', '5')).toMatchObject({ code: 1 }); // ids belong to running domains only
    expect(virsh('shutdown', 'vm-002')).toMatchObject({ code: 1, stderr: "error: Failed to shutdown domain 'vm-002'\nerror: Requested operation is not valid: domain is not running\n" });
    expect(virsh('destroy', 'vm-002')).toMatchObject({ code: 1, stderr: expect.stringContaining("Failed to destroy domain 'vm-002'") });
    expect(virsh('start', 'vm-002')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: Failed to start domain 'vm-002'\n/) });
    expect(virsh('start')).toMatchObject({ code: 1, stderr: "error: command 'start' requires <domain> option\n" });
    expect(virsh('undefine', 'vm-002')).toMatchObject({ code: 1, stderr: "error: unknown command: 'undefine'\n" });
  });
});
