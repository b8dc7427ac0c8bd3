import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createContext, type Context } from '../../src/core/context.js';
import { createIO } from '../../src/core/io.js';
import { DESTRUCTIVE_PATTERNS, destructiveMatch } from '../../src/houyi/destructive.js';
import { destructiveNote, runRemote } from '../../src/houyi/fanout.js';
import type { ExecResult, HostTarget, SshPool } from '../../src/remote/ssh-types.js';

// The destructive-pattern list that makes a fan-out ask first, and runRemote refusing without
// --yes on a pipe before the pool (a double that fails on any call) or the audit log is touched.

const POSITIVE: Array<[string, string]> = [
  ['rm -rf /tmp/x', 'rm -r/-f'],
  ['rm -fr /data', 'rm -r/-f'],
  ['rm -R dir', 'rm -r/-f'],
  ['rm -f core.1', 'rm -r/-f'],
  ['rm --recursive --force x', 'rm -r/-f'],
  ['rm x -rf', 'rm -r/-f'],
  ['sudo rm -rf /', 'rm -r/-f'],
  ['/bin/rm -rf /', 'rm -r/-f'],
  ["'rm' -rf /", 'rm -r/-f'],
  ['r\\m -rf /', 'rm -r/-f'],
  ['cd /tmp && rm -rf *', 'rm -r/-f'],
  ['ls | xargs rm -f', 'rm -r/-f'],
  ['echo $(rm -rf /x)', 'rm -r/-f'],
  ['bash -c "rm -rf /x"', 'rm -r/-f'],
  ['find /var/log -name "*.gz" -delete', 'find -delete'],
  ['find / -exec rm {} +', 'find -delete'],
  ['shred -u key', 'shred'],
  ['truncate -s 0 /var/log/messages', 'truncate'],
  ['reboot', 'reboot/shutdown'],
  ['sudo reboot', 'reboot/shutdown'],
  ['/sbin/shutdown -h now', 'reboot/shutdown'],
  ['uptime; halt', 'reboot/shutdown'],
  ['poweroff', 'reboot/shutdown'],
  ['init 6', 'init 0/6'],
  ['systemctl reboot', 'systemctl reboot/poweroff'],
  ['echo b > /proc/sysrq-trigger', 'sysrq'],
  ['mkfs.ext4 /dev/sdb1', 'mkfs'],
  ['mkfs -t xfs /dev/sdb', 'mkfs'],
  ['wipefs -a /dev/sdb', 'mkfs'],
  ['parted /dev/sdb rm 1', 'partition table'],
  ['dd if=/dev/zero of=/dev/sdb bs=1M', 'dd of=/dev/…'],
  ['cat img > /dev/sda', 'write to a block device'],
  ['iptables -F', 'iptables -F'],
  ['iptables -t nat --flush', 'iptables -F'],
  ['ip6tables -X', 'iptables -F'],
  ['nft flush ruleset', 'nft flush'],
  ['kill -9 1234', 'kill -9'],
  ['kill -KILL 1', 'kill -9'],
  ['kill -s KILL 1', 'kill -9'],
  ['pgrep mysqld | xargs kill -9', 'kill -9'],
  ['killall mysqld', 'killall/pkill'],
  ['pkill -f pync', 'killall/pkill'],
  ['chmod -R 777 /', 'chmod/chown -R'],
  ['chown -R nobody /mysqldata', 'chmod/chown -R'],
  ['virsh destroy vm-001', 'virsh destroy/undefine'],
  ['virsh undefine vm-001', 'virsh destroy/undefine'],
  ['systemctl stop mysqld', 'stop a service'],
  ['service pync stop', 'stop a service'],
  ['mysqladmin -uroot shutdown', 'mysqladmin shutdown'],
  ['mysql -e "DROP DATABASE shop"', 'DROP/TRUNCATE/DELETE (SQL)'],
  ['mysql -e "delete from t"', 'DROP/TRUNCATE/DELETE (SQL)'],
  [':(){ :|:& };:', 'fork bomb'],
  // Seen through wrappers, as the shell reads them
  ['sudo -u mysql rm -rf /x', 'rm -r/-f'],
  ['sudo -u mysql bash -lc "kill -n 9 1234"', 'kill -9'],
  ['env LANG=C rm -rf /x', 'rm -r/-f'],
  ['env -i PATH=/bin reboot', 'reboot/shutdown'],
  ['FOO=1 BAR=2 reboot', 'reboot/shutdown'],
  ["bash -lc 'systemctl stop mysqld'", 'stop a service'],
  ["sh -c 'halt'", 'reboot/shutdown'],
  ["dash -ec 'poweroff'", 'reboot/shutdown'],
  ["su - mysql -c 'kill -KILL 99'", 'kill -9'],
  ["su -c 'shutdown -r now'", 'reboot/shutdown'],
  ['runuser -u mysql -- rm -fr /mysqldata/dbs3006', 'rm -r/-f'],
  ["runuser -l mysql -c 'rm -rf x'", 'rm -r/-f'],
  ['find /tmp -name x -exec rm -rf {} \\;', 'find -delete'],
  ['find /tmp -name x -execdir shred {} +', 'find -delete'],
  ["find /proc -maxdepth 1 -name 12 -exec kill -9 {} ';'", 'kill -9'],
  ["find / -name x -execdir sh -c 'reboot' \\;", 'reboot/shutdown'],
  ['if true; then reboot; fi', 'reboot/shutdown'],
  ['while true; do kill -9 1; done', 'kill -9'],
  ['(cd / && rm -rf x)', 'rm -r/-f'],
  ['true && { poweroff; }', 'reboot/shutdown'],
  ['uptime || halt', 'reboot/shutdown'],
  ['echo `reboot`', 'reboot/shutdown'],
  ['echo "$(poweroff)"', 'reboot/shutdown'],
  ['nohup timeout 5 nice -n 10 reboot', 'reboot/shutdown'],
  ['eval "rm -rf /x"', 'rm -r/-f'],
  ['kill -n 9 1', 'kill -9'],
  ['kill -s SIGKILL 1', 'kill -9'],
  ['kill --signal=KILL 1', 'kill -9'],
  ['ip link set eth0 down', 'ip link down / ip route del'],
  ['ip -4 route del default', 'ip link down / ip route del'],
  ['ip route flush table main', 'ip link down / ip route del'],
  ['ip addr del 10.0.0.1/24 dev eth0', 'ip link down / ip route del'],
  ['mv /etc /etc.bak', 'mv/rm of a system directory'],
  ['mv /usr/lib/ /tmp/x', 'mv/rm of a system directory'],
  ['rmdir /boot', 'mv/rm of a system directory'],
  ['sudo mv //var/log/. /tmp', 'mv/rm of a system directory'],
  ['systemctl restart pync', 'stop a service'],
  ['systemctl kill mysqld', 'stop a service'],
  ['service mysql restart', 'stop a service'],
  ['virsh shutdown vm-001', 'virsh shutdown/reboot'],
  ['virsh reboot vm-001', 'virsh shutdown/reboot'],
  ['echo "unclosed', 'unbalanced quotes or $( (cannot check)'],
];

describe('destructiveMatch', () => {
  test.each(POSITIVE)('%j → %s', (command, name) => {
    expect(destructiveMatch(command)?.name).toBe(name);
  });

  test.each([
    'uptime',
    'df -h /mysqldata | tail -1',
    'ls -rt /var/log',
    'grep -r reboot /var/log/messages',
    'cat /etc/hostname',
    'rm -i x',
    'rmdir /tmp/empty',
    'dd if=/dev/sda bs=512 count=1 | xxd',
    'echo shutdown is scheduled',
    'last reboot',
    'iptables -L -n',
    'kill -0 1234',
    'kill 1234',
    'systemctl status mysqld',
    'sudo -u mysql cat /etc/hosts',
    'env LANG=C ls -l',
    "bash -lc 'uptime'",
    'find /tmp -name x -print',
    'find /tmp -exec ls {} +',
    'echo "rm -rf /"',
    "grep 'kill -9' /var/log/messages",
    'echo reboot > /tmp/note',
    'ip link show',
    'ip route show',
    'ip -s link',
    'mv /tmp/a /tmp/b',
    'rm /tmp/x',
    'dd if=/dev/zero of=/tmp/img bs=1M count=1',
    'dd if=/dev/zero of=/dev/null',
    'fdisk -l',
    'kill -l 9',
    'iptables -t nat -L -n',
    'if [ -f x ]; then cat x; fi',
    'xargs -n1 echo',
    'sudo -i',
    'virsh domstate vm-001',
    'virsh list --all',
    'chmod 600 /root/.my.cnf',
    'hostname; uptime',
    'sleep 3',
    'format-disk-report',
    'firmware',
  ])('%j is not destructive', (command) => {
    expect(destructiveMatch(command)).toBeNull();
  });

  test('every pattern is named once and matched by at least one example above', () => {
    const names = DESTRUCTIVE_PATTERNS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => !POSITIVE.some(([, m]) => m === n))).toEqual([]);
  });

  test('dry-run note', () => {
    expect(destructiveNote('reboot')).toEqual(['the command matches the destructive pattern "reboot/shutdown": it asks for confirmation (--yes without a TTY)']);
    expect(destructiveNote('uptime')).toEqual([]);
  });
});

describe('runRemote asks before a destructive command', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-destructive-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const auditFile = path.join(tmp, 'audit.jsonl');
  const cfgFile = path.join(tmp, 'config.json');
  fs.writeFileSync(cfgFile, JSON.stringify({ current: 't', profiles: [{ name: 't', databases: {}, ssh: { user: 'root', port: 22 }, audit_log: auditFile }] }));
  const targets: HostTarget[] = ['nc-a01', 'nc-a02', 'nc-a03'].map((n, i) => ({ name: n, address: `10.0.0.${i + 1}`, port: 22 }));

  function harness(tty: boolean, answer?: string): { ctx: Context; err: () => string } {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stdin = new PassThrough();
    if (answer !== undefined) stdin.end(answer);
    let e = '';
    stderr.on('data', (d: Buffer) => (e += d.toString()));
    stdout.resume();
    const env = { HOME: tmp, PATH: process.env.PATH };
    const io = createIO({ stdin, stdout, stderr, stdinIsTTY: tty, stdoutIsTTY: tty, stderrIsTTY: tty, env });
    return { ctx: createContext({ io, env, configFlag: cfgFile }), err: () => e };
  }

  function pool(calls: string[]): SshPool {
    const fail = (what: string) => () => {
      throw new Error(`unexpected pool.${what}`);
    };
    return {
      exec: fail('exec'),
      run: fail('run'),
      forget: fail('forget'),
      closeAll: async () => undefined,
      async fanout(ts: HostTarget[], command: string) {
        calls.push(command);
        return ts.map((t): ExecResult => ({ host: t.name, address: t.address, exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 1, category: null }));
      },
    };
  }
  const run = { verb: 'go2nc', targets, command: 'rm -rf /tmp/x', display: 'stream' as const, concurrency: 3, commandTimeoutSec: 5, reason: null };

  test('no TTY, no --yes: usage error naming the pattern and the hosts; nothing runs, nothing audited', async () => {
    const h = harness(false);
    const calls: string[] = [];
    await expect(runRemote(h.ctx, pool(calls), run)).rejects.toThrow(
      'go2nc: "rm -rf /tmp/x" matches the destructive pattern "rm -r/-f" needs confirmation: rerun with --yes (no TTY to ask on; 3 targets: nc-a01, nc-a02, nc-a03)',
    );
    expect(calls).toEqual([]);
    expect(fs.existsSync(auditFile)).toBe(false);
  });

  test('a TTY answered "n": aborted after showing count and names; nothing runs', async () => {
    const h = harness(true, 'n\n');
    const calls: string[] = [];
    await expect(runRemote(h.ctx, pool(calls), run)).rejects.toThrow('aborted: not confirmed');
    expect(h.err()).toContain('3 targets: nc-a01, nc-a02, nc-a03');
    expect(calls).toEqual([]);
    expect(fs.existsSync(auditFile)).toBe(false);
  });

  test('a TTY answered "y", or --yes: runs, and the audit names the pattern', async () => {
    const calls: string[] = [];
    expect(await runRemote(harness(true, 'y\n').ctx, pool(calls), run)).toBe(0);
    expect(await runRemote(harness(false).ctx, pool(calls), { ...run, yes: true })).toBe(0);
    expect(calls).toEqual(['rm -rf /tmp/x', 'rm -rf /tmp/x']);
    const recs = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; detail: Record<string, unknown> });
    expect(recs.map((r) => [r.phase, r.detail.destructive])).toEqual([['intent', 'rm -r/-f'], ['result', 'rm -r/-f'], ['intent', 'rm -r/-f'], ['result', 'rm -r/-f']]);
  });

  test('a harmless command does not ask', async () => {
    const calls: string[] = [];
    expect(await runRemote(harness(false).ctx, pool(calls), { ...run, command: 'uptime' })).toBe(0);
    expect(calls).toEqual(['uptime']);
  });
});
