import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { LOGICAL_DATABASES, readConfig } from '../../src/core/config.js';
import type { ComponentRow } from '../../src/lab/status.js';
import { json } from '../support/run.js';
import { freeNet, freePort, labPids, sharedLab, startTestLab, type TestLab } from '../support/lab.js';

// The lab against real MariaDB and OpenSSH: the run's shared lab (global-setup.ts), plus a
// second private lab started beside it.

interface Proc {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], timeoutMs = 20000): Promise<Proc> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// Generous per-test timeouts: the machine has two cores and other suites may run beside this one.
const T = 60_000;
const lab = sharedLab();
const ssh = (l: TestLab, address: string, command: string): Promise<Proc> => exec('ssh', [...l.sshArgs(address), command]);
const ncAddress = (l: TestLab, name: string): string => l.layout.topology.ncs.find((n) => n.hostname === name)!.address;
/** "pid state ppid cmdline" of a live process, '' once it is gone. */
function procLine(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${pid} ${state} ${ppid} ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`;
  } catch {
    return '';
  }
}

/** The namespace inode of a process ("pid:[4026531836]"), or '' when it is gone. */
function nsOf(pid: number, ns: 'pid' | 'mnt' | 'uts'): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return '';
  }
}

describe('global setup', () => {
  test('exports the shared lab to the test files through environment variables', () => {
    expect(process.env.RDSCTL_TEST_LAB_DIR).toBe(lab.dir);
    expect(process.env.RDSCTL_TEST_CONFIG).toBe(lab.configPath);
    expect(fs.existsSync(path.join(lab.dir, 'lab.json'))).toBe(true);
    expect(lab.file).toMatchObject({ ncs: 8, vms: 16, name: 'lab' });
    expect(lab.file.net).toMatch(/^127\.(1[5-9]\d)$/);
  });
});

describe('lab up', () => {
  test('runs again twice on a running lab without error and keeps its profile current', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await lab.run(['lab', 'up']);
      expect(r).toMatchObject({ code: 0, stdout: '' });
      expect(r.stderr).toMatch(/^lab up: already up in [\d.]+s — MariaDB 127\.0\.0\.1:\d+, 8 NCs and 16 VMs/);
    }
    const cfg = readConfig(lab.configPath);
    expect(cfg.current).toBe('lab');
    const p = cfg.profiles.find((x) => x.name === 'lab')!;
    expect(p).toMatchObject({ lab_dir: lab.dir, roles_source: 'table', audit_log: path.join(lab.dir, 'audit.jsonl') });
    expect(p).not.toHaveProperty('host_root');
    expect(p.ssh).toMatchObject({ port: lab.file.ssh_port, identity_file: lab.clientKey, known_hosts: lab.knownHosts });
    expect(Object.keys(p.databases).sort()).toEqual([...LOGICAL_DATABASES].sort());
    expect(p.databases.dbaas!.dsn).toBe(`mysql://rdsctl@127.0.0.1:${lab.file.mariadb_port}/dbaas`);
  }, T);

  test('other sizes for an existing lab: a one-line usage error pointing at lab down --purge', async () => {
    const r = await lab.run(['lab', 'up', '--ncs', '9']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`was made with --ncs 8; to change it run \`rdsctl lab down --purge --dir ${lab.dir}\``);
  }, T);
});

describe('lab status', () => {
  test('-o json: MariaDB and every host the lab serves are up', async () => {
    const r = await lab.run(['lab', 'status', '-o', 'json']);
    expect(r.code).toBe(0);
    const rows = json<ComponentRow[]>(r);
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(['address', 'kind', 'name', 'pid', 'port', 'status']);
    expect(rows.find((x) => x.kind === 'mariadb')).toMatchObject({ status: 'up', address: '127.0.0.1', port: lab.file.mariadb_port });
    const ncs = rows.filter((x) => x.kind === 'nc');
    expect(ncs).toHaveLength(8);
    expect(ncs.every((x) => x.status === 'up' && typeof x.pid === 'number')).toBe(true);
    expect(rows.filter((x) => x.status === 'down')).toEqual([]);
    const running = new Set(lab.layout.topology.vms.filter((v) => v.status === 'running').map((v) => v.name));
    for (const vm of rows.filter((x) => x.kind === 'vm')) expect(vm.status).toBe(running.has(vm.name) ? 'up' : 'stopped');
  }, T);

  test('an NC whose sshd is stopped is down, and the exit code is 4', async () => {
    lab.stopHost('nc-a02');
    try {
      const r = await lab.run(['lab', 'status']);
      expect(r.code).toBe(4);
      expect(r.stdout).toMatch(/^nc-a02\s+nc\s+127\.\d+\.1\.2:\d+\s+down\s+-$/m);
      expect(r.stderr).toMatch(/8 nc: 7 up, 1 down/);
    } finally {
      lab.startHost('nc-a02');
    }
    expect((await lab.run(['lab', 'status'])).code).toBe(0);
  }, T);
});

describe('plain OpenSSH with the lab key and known_hosts', () => {
  test('reaches two different NCs, and each is its own host at the production paths', async () => {
    for (const name of ['nc-a01', 'nc-a05']) {
      const r = await ssh(lab, ncAddress(lab, name), 'echo "${RDS_HOST_ROOT-unset}"; cat /etc/rdsctl-lab-host; hostname; echo here > /tmp/marker');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [root, marker, hostname] = r.stdout.trim().split('\n');
      expect(root).toBe('unset');
      expect(JSON.parse(marker!)).toMatchObject({ name, kind: 'nc', address: ncAddress(lab, name) });
      expect(hostname).toBe(name);
      // The host's /tmp is its disk's tmp/ on the jump host.
      expect(fs.readFileSync(path.join(lab.hostDisk(name), 'tmp/marker'), 'utf8')).toBe('here\n');
    }
  }, T);

  test('a host key not in known_hosts is refused under StrictHostKeyChecking=yes', async () => {
    const empty = path.join(lab.root, 'empty_known_hosts');
    fs.writeFileSync(empty, '');
    const args = lab.sshArgs(ncAddress(lab, 'nc-a01')).map((a) => (a === `UserKnownHostsFile=${lab.knownHosts}` ? `UserKnownHostsFile=${empty}` : a));
    const r = await exec('ssh', [...args, 'true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Host key verification failed/);
  }, T);
});

describe('every host is its own isolated host (commands through go2nc and go2vm)', () => {
  const tag = `${process.pid}-${Date.now()}`;
  const vm = lab.layout.topology.vms.find((v) => v.status === 'running')!;
  const run = (args: string[]) => lab.run(args);
  /** go2nc/go2vm stdout without the "host: " label of each line. */
  const out = (r: { stdout: string }): string => r.stdout.replace(/^\S+: /gm, '');
  const jumpNs = { mnt: nsOf(process.pid, 'mnt'), pid: nsOf(process.pid, 'pid'), uts: nsOf(process.pid, 'uts') };

  /**
   * The harmless probe every destructive check starts with: the host's mount, pid and uts
   * namespaces are not the jump host's, and its /usr refuses writes. Throws otherwise, so a
   * broken lab never receives the destructive command.
   */
  async function provenIsolated(verb: 'go2nc' | 'go2vm', host: string): Promise<void> {
    const r = await run([verb, host, '--', 'readlink /proc/self/ns/mnt /proc/self/ns/pid /proc/self/ns/uts; touch /usr/.rdsctl-probe 2>/dev/null && echo usr-writable || echo usr-ro']);
    const [mnt, pid, uts, usr] = out(r).trim().split('\n');
    if (r.code !== 0 || mnt === jumpNs.mnt || pid === jumpNs.pid || uts === jumpNs.uts || usr !== 'usr-ro') {
      throw new Error(`${host} is not proven isolated (exit ${r.code}): ${r.stdout}${r.stderr}`);
    }
  }

  test("the probe: a host's namespaces are its own, and the jump host's /etc is untouched by it", async () => {
    const before = fs.readFileSync('/etc/passwd', 'utf8');
    await provenIsolated('go2nc', 'nc-a01');
    await provenIsolated('go2vm', vm.name);
    expect(fs.readFileSync('/etc/passwd', 'utf8')).toBe(before);
    expect(fs.existsSync('/usr/.rdsctl-probe')).toBe(false);
  }, T);

  test("hostname is the host's own name (UTS namespace, no shim); ps shows only the host", async () => {
    const nc = await run(['go2nc', 'nc-a01', '--', 'hostname; cat /proc/sys/kernel/hostname; command -v hostname; ps -e -o pid=,comm= | wc -l']);
    expect(nc.code).toBe(0);
    const [name, kernelName, bin, procs] = out(nc).trim().split('\n');
    expect([name, kernelName, bin]).toEqual(['nc-a01', 'nc-a01', '/usr/bin/hostname']);
    expect(Number(procs)).toBeLessThan(40);
    expect(out(await run(['go2vm', vm.name, '--', 'hostname']))).toBe(`${vm.name}\n`);
  }, T);

  test('a file written to /etc, /root or /tmp of a host is on neither the jump host nor another host; /usr refuses it', async () => {
    await provenIsolated('go2nc', 'nc-a01');
    await provenIsolated('go2vm', vm.name);
    const files = ['/etc', '/root', '/tmp'].map((d) => `${d}/rdsctl-iso-${tag}`);
    const write = files.map((f) => `echo mine > ${f}`).join(' && ');
    expect(out(await run(['go2nc', 'nc-a01', '--', `${write} && cat ${files.join(' ')} | wc -l`]))).toBe('3\n');
    expect(out(await run(['go2vm', vm.name, '--', `${write} && echo ok`]))).toBe('ok\n');
    const usr = await run(['go2nc', 'nc-a01', '--', `echo mine > /usr/rdsctl-iso-${tag}`]);
    expect(usr.code).not.toBe(0);
    expect(usr.stderr).toMatch(/Read-only file system/);
    for (const f of [...files, `/usr/rdsctl-iso-${tag}`]) expect(fs.existsSync(f)).toBe(false);
    const elsewhere = await run(['go2nc', 'nc-a02', '--', `for f in ${files.join(' ')}; do [ -e "$f" ] && echo "seen $f"; done; echo done`]);
    expect(out(elsewhere)).toBe('done\n');
    // The VM's NC does not see the VM's files either.
    expect(out(await run(['go2nc', vm.nc, '--', `for f in ${files.join(' ')}; do [ -e "$f" ] && echo "seen $f"; done; echo done`]))).toBe('done\n');
    // Where they are: each host's own disk.
    expect(fs.readFileSync(path.join(lab.hostDisk('nc-a01'), `etc/rdsctl-iso-${tag}`), 'utf8')).toBe('mine\n');
    expect(fs.readFileSync(path.join(lab.hostDisk(vm.name), `root/rdsctl-iso-${tag}`), 'utf8')).toBe('mine\n');
  }, T);

  test('removing or renaming a system directory fails inside the host and leaves the jump host untouched', async () => {
    await provenIsolated('go2nc', 'nc-a03');
    const passwd = fs.readFileSync('/etc/passwd', 'utf8');
    const r = await run(['go2nc', 'nc-a03', '--yes', '--reason', 'isolation test', '--', 'mv /etc /etc.moved; echo $?; mv /usr /usr.moved; echo $?; rmdir /var; echo $?; rm -f /usr/bin/true; echo $?; rm -rf /usr/lib/os-release; echo $?']);
    expect(out(r).trim().split('\n')).toEqual(['1', '1', '1', '1', '1']);
    expect(fs.existsSync('/etc.moved') || fs.existsSync('/usr.moved')).toBe(false);
    expect(fs.existsSync('/usr/bin/true')).toBe(true);
    expect(fs.readFileSync('/etc/passwd', 'utf8')).toBe(passwd);
    // The host itself is still whole.
    expect((await run(['go2nc', 'nc-a03', '--', 'ls /etc/passwd /usr/bin/true'])).code).toBe(0);
  }, T);

  test('ip link, ip route and iptables changes are refused (no CAP_NET_ADMIN), as are mounts and the clock', async () => {
    await provenIsolated('go2nc', 'nc-a03');
    // Each change would be harmless to the jump host if it were allowed: a new dummy link, a
    // route to a documentation prefix, a rule for a documentation address.
    const link = `rdt${process.pid % 100000}`;
    const cmds = [`ip link add ${link} type dummy`, 'ip route add 198.51.100.0/24 dev lo', 'iptables -w -A INPUT -s 198.51.100.7 -j DROP', 'mount -t tmpfs none /mnt', 'date -s @0', 'hostname other-name'];
    const r = await run(['go2nc', 'nc-a03', '--', cmds.map((c) => `${c} >/dev/null 2>&1; echo $?`).join('; ') + '; grep CapEff /proc/self/status']);
    const lines = out(r).trim().split('\n');
    expect(lines.slice(0, cmds.length).every((code) => code !== '0')).toBe(true);
    const capEff = BigInt(`0x${lines[cmds.length]!.split(/\s+/)[1]}`);
    for (const cap of [12 /* NET_ADMIN */, 21 /* SYS_ADMIN */, 16 /* SYS_MODULE */, 25 /* SYS_TIME */, 13 /* NET_RAW */, 17 /* SYS_RAWIO */]) expect((capEff >> BigInt(cap)) & 1n).toBe(0n);
    expect(await exec('ip', ['link', 'show', link])).toMatchObject({ code: 1 });
    expect((await exec('ip', ['route', 'show', '198.51.100.0/24'])).stdout).toBe('');
    expect(Math.abs(Date.now() / 1000 - Number((await exec('date', ['+%s'])).stdout))).toBeLessThan(600);
  }, T);

  test('each host presents its own host key, the one known_hosts lists for its address', async () => {
    const hosts = [lab.layout.hosts.find((h) => h.name === 'nc-a01')!, lab.layout.hosts.find((h) => h.name === 'nc-a02')!, lab.layout.hosts.find((h) => h.name === vm.name)!];
    const known = fs.readFileSync(lab.knownHosts, 'utf8');
    const keys = new Set<string>();
    for (const h of hosts) {
      const scan = await exec('ssh-keyscan', ['-t', 'ed25519', '-p', String(lab.file.ssh_port), h.address]);
      const key = scan.stdout.trim().split(/\s+/).slice(1, 3).join(' ');
      expect(key).toMatch(/^ssh-ed25519 /);
      expect(known).toContain(`[${h.address}]:${lab.file.ssh_port} ${key}\n`);
      keys.add(key);
    }
    expect(keys.size).toBe(hosts.length);
    expect(new Set(known.trim().split('\n').map((l) => l.split(' ').slice(1).join(' '))).size).toBe(lab.layout.hosts.length);
  }, T);
});

describe('plain mariadb client with client.cnf', () => {
  test.each([...LOGICAL_DATABASES])('reaches %s', async (db) => {
    const r = await exec('mariadb', [`--defaults-extra-file=${lab.clientCnf}`, db, '-N', '-e', 'SELECT DATABASE(), COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()']);
    expect(r.stderr).toBe('');
    const [name, tables] = r.stdout.trim().split('\t');
    expect(name).toBe(db);
    expect(Number(tables)).toBeGreaterThan(0);
  }, T);

  test('the seed follows the lab size, and the secrets are 0600', async () => {
    const r = await exec('mariadb', [`--defaults-extra-file=${lab.clientCnf}`, 'houyi', '-N', '-e', "SELECT (SELECT COUNT(*) FROM nc), (SELECT COUNT(*) FROM vm), (SELECT COUNT(*) FROM dbaas.hostinfo), (SELECT COUNT(*) FROM nc WHERE status <> 'online')"]);
    const [ncs, vms, hostinfo, notOnline] = r.stdout.trim().split('\t').map(Number);
    expect([ncs, vms]).toEqual([8, 16]);
    expect(hostinfo).toBe(lab.layout.topology.ncs.filter((n) => n.usage === 'rds').length);
    expect(notOnline).toBeGreaterThan(0);
    for (const f of ['client.cnf', 'secrets.json']) expect(fs.statSync(path.join(lab.dir, f)).mode & 0o777).toBe(0o600);
  }, T);
});

describe('virsh stand-in on an NC', () => {
  const vm = lab.layout.topology.vms.find((v) => v.status === 'running')!;
  const nc = ncAddress(lab, vm.nc);

  test('shutdown really refuses SSH to the VM; start accepts it again', async () => {
    try {
      expect(await ssh(lab, nc, `virsh domstate ${vm.name}`)).toMatchObject({ code: 0, stdout: 'running\n\n' });
      expect((await ssh(lab, vm.address, 'hostname')).stdout).toBe(`${vm.name}\n`);

      expect(await ssh(lab, nc, `virsh shutdown ${vm.name}`)).toMatchObject({ code: 0, stdout: `Domain '${vm.name}' is being shutdown\n\n` });
      const refused = await ssh(lab, vm.address, 'hostname');
      expect(refused.code).toBe(255);
      expect(refused.stderr).toMatch(/Connection refused/);
      expect((await ssh(lab, nc, 'virsh list --all')).stdout).toMatch(new RegExp(`^ -\\s+${vm.name}\\s+shut off$`, 'm'));
      const status = json<ComponentRow[]>(await lab.run(['lab', 'status', '-o', 'json']));
      expect(status.find((x) => x.name === vm.name)!.status).toBe('stopped');

      expect(await ssh(lab, nc, `virsh start ${vm.name}`)).toMatchObject({ code: 0, stdout: `Domain '${vm.name}' started\n\n` });
      expect(await ssh(lab, vm.address, 'hostname; cat /proc/sys/kernel/hostname')).toMatchObject({ code: 0, stdout: `${vm.name}\n${vm.name}\n` });
    } finally {
      await ssh(lab, nc, `virsh start ${vm.name}`);
    }
  }, T);

  test('list --all prints the libvirt table; an unknown domain is an error on stderr with exit 1', async () => {
    const mine = lab.layout.topology.vms.filter((v) => v.nc === vm.nc);
    const r = await ssh(lab, nc, 'virsh list --all');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^ Id   Name +State$/);
    expect(lines[1]).toMatch(/^-+$/);
    expect(lines.filter((l) => /^ (\d+|-) +vm-/.test(l))).toHaveLength(mine.length);
    expect(r.stdout.endsWith('\n\n')).toBe(true);
    expect(await ssh(lab, nc, 'virsh domstate vm-999')).toMatchObject({ code: 1, stderr: "error: failed to get domain 'vm-999'\n" });
    // It knows only the VMs placed on its own NC.
    const other = lab.layout.topology.vms.find((v) => v.nc !== vm.nc)!;
    expect((await ssh(lab, nc, `virsh dominfo ${other.name}`)).code).toBe(1);
  }, T);
});

describe('a second lab beside the first', () => {
  test('runs with its own dir, port and net; lab down leaves no process of it', async () => {
    const second = await startTestLab({ ncs: 6, vms: 6, name: 'lab2' });
    try {
      expect(second.file.net).not.toBe(lab.file.net);
      expect(second.file.mariadb_port).not.toBe(lab.file.mariadb_port);
      expect((await second.run(['lab', 'status'])).code).toBe(0);
      expect((await ssh(second, ncAddress(second, 'nc-a01'), 'hostname')).stdout).toBe('nc-a01\n');
      // Left running on purpose: a command detached from its SSH session (it lives on in the
      // NC), a process on the jump host that names a path of the lab, and a VM virsh started.
      expect((await ssh(second, ncAddress(second, 'nc-a04'), 'setsid sleep 600 >/dev/null 2>&1 < /dev/null & echo started')).stdout).toBe('started\n');
      const fakeMysqld = spawn('bash', ['-c', 'sleep 600; true', path.join(second.dir, 'hosts/nc-a01/mysqldata/dbs3001/mysqld')], { detached: true, stdio: 'ignore' });
      fakeMysqld.unref();
      const stopped = second.layout.topology.vms.find((v) => v.status === 'stopped' && second.layout.topology.ncs.find((n) => n.hostname === v.nc)!.status !== 'offline');
      expect((await ssh(second, ncAddress(second, stopped!.nc), `virsh start ${stopped!.name}`)).code).toBe(0);
      expect(labPids(second.dir).length).toBeGreaterThan(6);
      // Every pid namespace of the lab's hosts, to check after lab down that none is left.
      const hostNs = new Set(labPids(second.dir).map((pid) => nsOf(pid, 'pid')).filter((ns) => ns && ns !== nsOf(process.pid, 'pid')));
      expect(hostNs.size).toBeGreaterThanOrEqual(second.layout.topology.ncs.length);

      // "NC loss": a frozen NC accepts TCP in the kernel but answers nothing; thawed, it answers.
      second.freezeHost('nc-a01');
      try {
        const frozen = await exec('ssh', [...second.sshArgs(ncAddress(second, 'nc-a01')).map((x) => (x === 'ConnectTimeout=5' ? 'ConnectTimeout=2' : x)), 'true'], 15_000);
        expect(frozen.code).toBe(255);
        expect(frozen.stderr).toMatch(/timed out|Connection timed out/);
      } finally {
        second.thawHost('nc-a01');
      }
      expect((await ssh(second, ncAddress(second, 'nc-a01'), 'hostname')).stdout).toBe('nc-a01\n');

      // kill -9 -1 on an NC ends that NC's processes and nothing else (after the probe shows
      // that the NC's pid namespace is its own).
      const victim = ncAddress(second, 'nc-a02');
      const probe = await ssh(second, victim, 'readlink /proc/self/ns/pid');
      expect(probe.stdout.trim()).toMatch(/^pid:\[\d+\]$/);
      expect(probe.stdout.trim()).not.toBe(nsOf(process.pid, 'pid'));
      const others = (await second.run(['lab', 'status', '-o', 'json'])).stdout;
      expect((await ssh(second, victim, 'setsid sleep 600 >/dev/null 2>&1 < /dev/null & echo started')).stdout).toBe('started\n');
      const sleeper = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
      try {
        await ssh(second, victim, 'kill -9 -1');
        expect(nsOf(sleeper.pid!, 'pid')).not.toBe('');
        expect(nsOf(process.pid, 'pid')).not.toBe('');
        const after = json<ComponentRow[]>(await second.run(['lab', 'status', '-o', 'json']));
        expect(after.filter((x) => x.status === 'down').map((x) => x.name)).toEqual(['nc-a02']);
        expect(json<ComponentRow[]>({ code: 0, stdout: others, stderr: '' }).filter((x) => x.status === 'up').length).toBe(after.filter((x) => x.status === 'up').length + 1);
        // The host's init (pid 1 there) survives; its sshd starts again, and the detached sleep is gone.
        await expect(second.hostExec('nc-a02', ['true'])).resolves.toMatchObject({ code: 0 });
        second.startHost('nc-a02');
        expect((await ssh(second, victim, 'ps -e -o comm= | grep -c sleep || true')).stdout).toBe('0\n');
      } finally {
        sleeper.kill('SIGKILL');
      }

      const down = await second.run(['lab', 'down']);
      expect(down.code).toBe(0);
      expect(down.stderr).toMatch(/^lab down: stopped \d+ processes of /);
      expect(labPids(second.dir)).toEqual([]);
      const leftovers = fs
        .readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => {
          try {
            return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(second.dir + '/');
          } catch {
            return false;
          }
        });
      expect(leftovers).toEqual([]);
      const inHostNamespaces = fs
        .readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((d) => hostNs.has(nsOf(Number(d), 'pid')))
        // A zombie has ended; the reaper of this machine collects it when it gets to it.
        .map((d) => procLine(Number(d)))
        .filter((l) => l && !/^\d+ Z /.test(l));
      expect(inHostNamespaces).toEqual([]);
      const st = await second.run(['lab', 'status']);
      expect(st.code).toBe(4);
      // The first lab did not notice.
      expect((await lab.run(['lab', 'status'])).code).toBe(0);
    } finally {
      await second.destroy();
    }
    expect(fs.existsSync(second.root)).toBe(false);
  }, 120_000);
});

describe('lab up refuses cleanly', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-lab-neg-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const upArgs = async (dir: string, extra: string[] = []): Promise<string[]> => ['lab', 'up', '--dir', dir, '--name', 'neg', '--ncs', '6', '--vms', '2', '--net', freeNet(), '--port', String(await freePort()), '--ssh-port', String(await freePort()), ...extra];

  test('MariaDB and sshd not installed: exit 8 naming both, with the apt-get hint; nothing created', async () => {
    const dir = path.join(tmp, 'lab');
    const r = await lab.run(await upArgs(dir), { env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(8);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not installed: MariaDB server \(mariadbd\), mariadb-install-db, MariaDB client \(mariadb\), OpenSSH server \(sshd\)/);
    expect(r.stderr).toMatch(/apt-get install -y mariadb-server mariadb-client openssh-server/);
    expect(fs.existsSync(dir)).toBe(false);
  }, T);

  test('only sshd missing: the message names sshd alone', async () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    for (const [name, target] of [['mariadbd', '/usr/sbin/mariadbd'], ['mariadb-install-db', '/usr/bin/mariadb-install-db'], ['mariadb', '/usr/bin/mariadb'], ['unshare', '/usr/bin/unshare'], ['nsenter', '/usr/bin/nsenter'], ['setpriv', '/usr/bin/setpriv']]) fs.symlinkSync(target!, path.join(bin, name!));
    const r = await lab.run(await upArgs(path.join(tmp, 'lab')), { env: { PATH: bin } });
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/^rdsctl: lab up: not installed: OpenSSH server \(sshd\) \(.*apt-get install -y openssh-server/);
  }, T);

  test('MariaDB port in use: exit 8 naming the port and who holds it; no process left', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    const dir = path.join(tmp, 'lab');
    try {
      const args = (await upArgs(dir)).map((a, i, all) => (all[i - 1] === '--port' ? String(port) : a));
      const r = await lab.run(args);
      expect(r.code).toBe(8);
      expect(r.stderr).toContain(`rdsctl: port ${port} on 127.0.0.1 is already in use by pid ${process.pid} (`);
      expect(labPids(dir)).toEqual([]);
    } finally {
      srv.close();
    }
  }, T);

  test('an SSH address in use: exit 8 naming address and port; no process left', async () => {
    const netx = freeNet();
    const sshPort = await freePort();
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(sshPort, `${netx}.1.3`, () => r()));
    const dir = path.join(tmp, 'lab');
    try {
      const r = await lab.run(['lab', 'up', '--dir', dir, '--name', 'neg', '--ncs', '6', '--vms', '2', '--net', netx, '--port', String(await freePort()), '--ssh-port', String(sshPort)]);
      expect(r.code).toBe(8);
      expect(r.stderr).toContain(`port ${sshPort} on ${netx}.1.3 is already in use`);
      expect(labPids(dir)).toEqual([]);
    } finally {
      srv.close();
    }
  }, T);

  test('a directory that is not a lab: up will not move in, down will not touch it', async () => {
    fs.writeFileSync(path.join(tmp, 'notes.txt'), 'mine\n');
    const up = await lab.run(await upArgs(tmp));
    expect(up.code).toBe(2);
    expect(up.stderr).toContain(`--dir ${tmp} is not empty and holds no lab`);
    const down = await lab.run(['lab', 'down', '--purge', '--dir', tmp]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`${tmp} is not a lab directory (no lab.json); nothing stopped`);
    expect(fs.readFileSync(path.join(tmp, 'notes.txt'), 'utf8')).toBe('mine\n');
  }, T);

  test('a bad --net is a usage error', async () => {
    const r = await lab.run(['lab', 'up', '--dir', path.join(tmp, 'lab'), '--net', '10.0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--net 10\.0: expected 127\.X/);
  }, T);
});
