import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { jest } from '@jest/globals';
import { randomInt } from 'node:crypto';
import { createSshPool } from '../../src/remote/ssh.js';
import { buildSshArgs, interactiveSsh } from '../../src/remote/interactive.js';
import { createIO } from '../../src/core/io.js';
import { RemoteError, UsageError } from '../../src/core/errors.js';
import type { SshPool } from '../../src/remote/ssh-types.js';
import { startSshdFixture, type SshdFixture } from '../support/sshd-fixture.js';

// Against real OpenSSH servers started by this file's own fixture (not the shared lab).

jest.setTimeout(30_000);

let fx: SshdFixture;
const pools: SshPool[] = [];
const env = { HOME: process.env.HOME, PATH: process.env.PATH };

function pool(ssh: Parameters<SshdFixture['profile']>[0] = {}, extra: { acceptNew?: boolean; signal?: AbortSignal } = {}): SshPool {
  const p = createSshPool(fx.profile(ssh), { env, ...extra });
  pools.push(p);
  return p;
}

/** Local pids whose command line matches; the hosts are on this machine. */
function pgrep(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return [];
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  fx = startSshdFixture(4);
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.closeAll()));
});

afterAll(() => fx?.close());

test('exec reaches each host and reuses one connection per host', async () => {
  const p = pool();
  for (const h of fx.hosts) {
    const r = await p.exec(fx.target(h.name), 'echo "$RDS_HOST_NAME $SSH_CLIENT"; echo err >&2');
    expect(r).toMatchObject({ host: h.name, address: h.address, exitCode: 0, category: null, stderr: 'err\n' });
    expect(r.stdout.split(' ')[0]).toBe(h.name);
  }
  const t = fx.target('nc-t01');
  const a = await p.exec(t, 'echo $SSH_CLIENT');
  const b = await p.exec(t, 'echo $SSH_CLIENT');
  // Same client port: the second command ran over the same TCP connection.
  expect(b.stdout).toBe(a.stdout);
  p.forget(t);
  const c = await p.exec(t, 'echo $SSH_CLIENT');
  expect(c.stdout).not.toBe(a.stdout);
});

test('parallel commands on one host share its connection, a bounded number of channels at a time', async () => {
  const p = pool();
  const t = fx.target('nc-t03');
  const ac = new AbortController();
  // Eight channels at once; the ninth caller gives up while queued and must not hold up the tenth.
  const pending = Array.from({ length: 10 }, (_, i) => p.exec(t, 'sleep 0.3; echo $SSH_CLIENT', i === 8 ? { signal: ac.signal } : {}));
  ac.abort();
  const rs = await Promise.all(pending);
  expect(rs.map((r) => r.category)).toEqual([...Array(8).fill(null), 'interrupted', null]);
  expect(new Set(rs.filter((r) => r.category === null).map((r) => r.stdout)).size).toBe(1);
});

test('run returns stdout and throws a one-line RemoteError naming the host and exit code', async () => {
  const p = pool();
  await expect(p.run(fx.target('nc-t02'), 'printf ok')).resolves.toBe('ok');
  const err = await p.run(fx.target('nc-t02'), 'echo first >&2; echo "no such thing" >&2; exit 3').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteError);
  expect((err as RemoteError).message).toBe('nc-t02: remote command exited 3: no such thing');
  expect((err as RemoteError).host).toBe('nc-t02');
});

test('exit 255 from the command is an exit, not an ssh failure', async () => {
  const r = await pool().exec(fx.target('nc-t01'), 'exit 255');
  expect(r).toMatchObject({ category: 'exit', exitCode: 255, signal: null });
});

test('a command killed by a signal is category signal', async () => {
  const r = await pool().exec(fx.target('nc-t01'), 'kill -s TERM $$');
  expect(r).toMatchObject({ category: 'signal', exitCode: null, signal: 'SIGTERM' });
});

test('stdin is written and closed; no stdin means an empty one', async () => {
  const p = pool();
  expect((await p.exec(fx.target('nc-t01'), 'cat', { stdin: "it's\nhere" })).stdout).toBe("it's\nhere");
  expect(await p.exec(fx.target('nc-t01'), 'cat; echo done', { timeoutSec: 5 })).toMatchObject({ stdout: 'done\n', category: null });
});

test('the command reaches the remote shell intact', async () => {
  const hostile = `a'b"c $(id) \`id\` ; | & * \\ \n é`;
  const r = await pool().exec(fx.target('nc-t01'), `printf %s ${"'"}${hostile.replace(/'/g, `'\\''`)}${"'"}`);
  expect(r.stdout).toBe(hostile);
});

test('fan-out: results in target order, lines streamed per host, onResult per host', async () => {
  const lines: string[] = [];
  const seen: string[] = [];
  const targets = fx.hosts.map((h) => fx.target(h.name));
  const rs = await pool().fanout(targets, 'echo "$RDS_HOST_NAME"; printf "two\\nthree"', {
    concurrency: 2,
    onLine: (host, stream, line) => lines.push(`${host} ${stream}: ${line}`),
    onResult: (r) => seen.push(r.host),
  });
  expect(rs.map((r) => [r.host, r.category, r.stdout])).toEqual(fx.hosts.map((h) => [h.name, null, `${h.name}\ntwo\nthree`]));
  for (const h of fx.hosts) expect(lines.filter((l) => l.startsWith(`${h.name} `))).toEqual([`${h.name} stdout: ${h.name}`, `${h.name} stdout: two`, `${h.name} stdout: three`]);
  expect([...seen].sort()).toEqual(fx.hosts.map((h) => h.name));
});

test('many fast commands at once all report their exit status', async () => {
  // Where the login shell starts fast, a command's data, exit-status and close arrive in the same
  // read as the exec reply; an exit status recorded too late reads as "connection closed".
  const targets = Array.from({ length: 48 }, (_, i) => fx.target(fx.hosts[i % fx.hosts.length]!.name));
  const rs = await pool().fanout(targets, 'echo x; exit 7', { concurrency: 8 });
  expect(rs.filter((r) => r.category !== 'exit' || r.exitCode !== 7 || r.stdout !== 'x\n').map((r) => r.error)).toEqual([]);
});

test('a stopped host is refused while the others succeed', async () => {
  fx.stopHost('nc-t03');
  try {
    const rs = await pool().fanout(
      fx.hosts.map((h) => fx.target(h.name)),
      'true',
    );
    expect(rs.map((r) => r.category)).toEqual([null, null, 'refused', null]);
    expect(rs[2]).toMatchObject({ exitCode: null, error: `connection refused by ${fx.hosts[2]!.address}:${fx.port}` });
  } finally {
    fx.startHost('nc-t03');
  }
});

test('a host that accepts TCP but never speaks SSH is a connect-timeout', async () => {
  const address = `${fx.subnet}.200`;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, address, r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const t0 = Date.now();
    const r = await pool({ connect_timeout: 1 }).exec({ name: 'mute', address, port }, 'true');
    expect(r).toMatchObject({ category: 'connect-timeout', exitCode: null });
    expect(r.error).toContain(`${address}:${port}`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(3000);
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('a command past its timeout is killed on the remote side, nothing left behind', async () => {
  const marker = `6${randomInt(10000, 99999)}`;
  const p = pool();
  const pending = p.exec(fx.target('nc-t02'), `sleep ${marker}; echo never`, { timeoutSec: 2 });
  await sleep(1000);
  expect(pgrep(`sleep ${marker}`).length).toBeGreaterThan(0);
  const r = await pending;
  expect(r).toMatchObject({ category: 'command-timeout', exitCode: null, error: expect.stringMatching(/^no exit within 2s; killed the remote process group \d+$/) });
  expect(r.durationMs).toBeLessThan(5000);
  expect(r.stderr).toBe('');
  expect(pgrep(`sleep ${marker}`)).toEqual([]);
  // The connection is still good for the next command.
  expect(await p.run(fx.target('nc-t02'), 'echo still')).toBe('still\n');
});

test('a host that hangs before the command starts (login shell stuck in ~/.bashrc): the timeout says it was not killed', async () => {
  const marker = `4${randomInt(10000, 99999)}`;
  const h = fx.hosts.find((x) => x.name === 'nc-t03')!;
  const rc = path.join(h.root, '.bashrc');
  fs.writeFileSync(rc, `sleep ${marker}\n`);
  try {
    const r = await pool().exec(fx.target(h.name), 'echo never', { timeoutSec: 1 });
    // The stuck shell is still there: the report must not claim a kill.
    expect(pgrep(`sleep ${marker}`).length).toBeGreaterThan(0);
    expect(r).toMatchObject({ category: 'command-timeout', exitCode: null });
    expect(r.error).toBe('no exit within 1s; the command had not started on nc-t03 (its login shell never reported a process group; a hung login or ~/.bashrc?): closed the session, but that shell cannot be killed from here and may still run the command');
  } finally {
    fs.rmSync(rc, { force: true });
    for (const pid of pgrep(`sleep ${marker}`)) process.kill(pid, 'SIGKILL');
  }
});

test('a command that ignores SIGTERM is killed a second later', async () => {
  const marker = `5${randomInt(10000, 99999)}`;
  const r = await pool().exec(fx.target('nc-t04'), `trap '' TERM; sleep ${marker}; echo never`, { timeoutSec: 1 });
  expect(r).toMatchObject({ category: 'command-timeout', exitCode: null });
  expect(pgrep(`sleep ${marker}`)).toEqual([]);
});

test('a changed host key is refused, naming the host and the known_hosts file', async () => {
  const file = path.join(fx.dir, 'known_hosts.changed');
  const other = path.join(fx.dir, 'other_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  const otherKey = fs.readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  const h = fx.hosts[1]!;
  const lines = fs
    .readFileSync(fx.knownHosts, 'utf8')
    .split('\n')
    .map((l) => (l.startsWith(`[${h.address}]:`) ? `[${h.address}]:${h.port} ${otherKey}` : l));
  fs.writeFileSync(file, lines.join('\n'));
  for (const acceptNew of [false, true]) {
    const r = await pool({ known_hosts: file }, { acceptNew }).exec(fx.target(h.name), 'true');
    expect(r).toMatchObject({ category: 'host-key', exitCode: null });
    expect(r.error).toContain(`${h.name} ([${h.address}]:${h.port})`);
    expect(r.error).toContain(`${file}:2`);
  }
  expect(fs.readFileSync(file, 'utf8')).toBe(lines.join('\n'));
});

test('an unknown host is refused, then recorded with acceptNew, then known', async () => {
  const file = path.join(fx.dir, 'known_hosts.partial');
  const h = fx.hosts[0]!;
  const rest = fs
    .readFileSync(fx.knownHosts, 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith(`[${h.address}]:`));
  fs.writeFileSync(file, rest.join('\n'));
  const refused = await pool({ known_hosts: file }).exec(fx.target(h.name), 'true');
  expect(refused).toMatchObject({ category: 'host-key' });
  expect(refused.error).toBe(`unknown host key for ${h.name} ([${h.address}]:${h.port}); rerun with --accept-new to record it`);
  const accepted = await pool({ known_hosts: file }, { acceptNew: true }).exec(fx.target(h.name), 'echo in');
  expect(accepted).toMatchObject({ category: null, stdout: 'in\n' });
  const hostKey = fs.readFileSync(fx.hostKeyPub, 'utf8').split(' ').slice(0, 2).join(' ');
  expect(fs.readFileSync(file, 'utf8')).toContain(`\n[${h.address}]:${h.port} ${hostKey}\n`);
  expect(await pool({ known_hosts: file }).exec(fx.target(h.name), 'true')).toMatchObject({ category: null });
});

test('authentication with a key the host does not accept is category auth', async () => {
  const key = path.join(fx.dir, 'stranger_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const r = await pool({ identity_file: key }).exec(fx.target('nc-t01'), 'true');
  expect(r).toMatchObject({ category: 'auth', exitCode: null });
});

/** Names of the local processes holding a TCP connection to address:port. */
function connectionOwners(address: string, port: number): string[] {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'dst', `${address}:${port}`], { encoding: 'utf8' });
  return [...out.matchAll(/users:\(\("([^"]+)"/g)].map((m) => m[1]!).sort();
}

test('via: a target reached through another host', async () => {
  const p = pool();
  const nc = fx.target('nc-t01');
  const vm = fx.target('nc-t04', nc);
  expect(await p.run(vm, 'echo "$RDS_HOST_NAME"')).toBe('nc-t04\n');
  // The via's sshd holds the TCP connection to the target, not this process.
  expect(connectionOwners(fx.hosts[3]!.address, fx.port)).toEqual(['sshd']);
  expect(connectionOwners(fx.hosts[0]!.address, fx.port)).toEqual(['node']);
  const down = await p.exec(fx.target('nc-t04', { name: 'ghost', address: `${fx.subnet}.201`, port: fx.port }), 'true');
  expect(down).toMatchObject({ category: 'refused', error: `via ghost: connection refused by ${fx.subnet}.201:${fx.port}` });
  const twoHops = await p.exec(fx.target('nc-t04', fx.target('nc-t03', nc)), 'echo "$RDS_HOST_NAME"');
  expect(twoHops).toMatchObject({ category: null, stdout: 'nc-t04\n' });
  await p.closeAll();
  fx.stopHost('nc-t02');
  try {
    const r = await p.exec({ name: 'behind', address: `${fx.subnet}.2`, port: fx.port, via: nc }, 'true');
    expect(r).toMatchObject({ category: 'refused', error: `connection refused by ${fx.subnet}.2:${fx.port}` });
  } finally {
    fx.startHost('nc-t02');
  }
});

test('profile jump_host sits in front of every connection', async () => {
  const jump = fx.hosts[2]!;
  const p = pool({ jump_host: `${jump.address}:${jump.port}` });
  expect(await p.run(fx.target('nc-t02'), 'echo "$RDS_HOST_NAME"')).toBe('nc-t02\n');
  expect(connectionOwners(fx.hosts[1]!.address, fx.port)).toEqual(['sshd']);
  await p.closeAll();
});

test('abort mid fan-out: in-flight and pending hosts are interrupted, gathered results returned', async () => {
  const marker = `7${randomInt(10000, 99999)}`;
  const ac = new AbortController();
  const targets = [fx.target('nc-t01'), fx.target('nc-t02'), fx.target('nc-t03'), fx.target('nc-t04')];
  const t0 = Date.now();
  const pending = pool().fanout(targets, `case "$RDS_HOST_NAME" in nc-t01) echo quick;; *) sleep ${marker};; esac`, { concurrency: 2, signal: ac.signal });
  await sleep(1500);
  ac.abort();
  const rs = await pending;
  expect(Date.now() - t0).toBeLessThan(6000);
  expect(rs.map((r) => r.category)).toEqual([null, 'interrupted', 'interrupted', 'interrupted']);
  expect(rs[0]!.stdout).toBe('quick\n');
  expect(pgrep(`sleep ${marker}`)).toEqual([]);
});

test('output beyond maxOutputBytes is counted and dropped', async () => {
  const before = process.memoryUsage().rss;
  const r = await pool().exec(fx.target('nc-t01'), 'head -c 20000000 /dev/zero | tr "\\0" x; echo tail >&2', { maxOutputBytes: 1024 * 1024 });
  expect(r).toMatchObject({ category: null, truncated: true, stderr: 'tail\n' });
  expect(r.stdout.length).toBe(1024 * 1024);
  expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
});

describe('system ssh (interactive sessions)', () => {
  const io = createIO({ stdinIsTTY: false, stdoutIsTTY: false, stderrIsTTY: false });
  const runSsh = (args: string[]): { status: number | null; stdout: string; stderr: string } => spawnSync('ssh', args, { encoding: 'utf8', timeout: 15_000 });

  test('argv: options, then --, then the host, then one quoted command line', () => {
    const args = buildSshArgs(fx.profile(), fx.target('nc-t01'), { command: ['echo', "it's", '$HOME'] });
    expect(args).toEqual([
      '-l', os.userInfo().username, '-p', String(fx.port), '-o', `IdentityFile=${fx.clientKey}`,
      '-o', `UserKnownHostsFile=${fx.knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
      '-o', `ConnectTimeout=${Math.ceil(fx.profile().ssh.connect_timeout)}`,
      '--', fx.hosts[0]!.address, `echo 'it'\\''s' '$HOME'`,
    ]);
    expect(buildSshArgs(fx.profile(), fx.target('nc-t01'), { acceptNew: true, noTty: true })).toEqual(expect.arrayContaining(['StrictHostKeyChecking=accept-new', '-T']));
  });

  test('an address or user that looks like an option is refused', () => {
    expect(() => buildSshArgs(fx.profile(), { name: 'x', address: '-oProxyCommand=touch /tmp/pwned' })).toThrow(UsageError);
    expect(() => buildSshArgs(fx.profile(), { name: 'x', address: 'ok', via: { name: 'y', address: '-oFoo' } })).toThrow(UsageError);
    expect(() => buildSshArgs(fx.profile({ user: '-oFoo' }), fx.target('nc-t01'))).toThrow(UsageError);
  });

  test('the args work against a real sshd, and the exit code passes through', () => {
    const r = runSsh(buildSshArgs(fx.profile(), fx.target('nc-t01'), { command: ['sh', '-c', 'echo "$RDS_HOST_NAME"; exit 7'] }));
    expect(r).toMatchObject({ status: 7, stdout: 'nc-t01\n' });
  });

  test('via and jump_host chain through ProxyCommand with the profile identity and known_hosts', () => {
    const vm = fx.target('nc-t04', fx.target('nc-t01'));
    expect(runSsh(buildSshArgs(fx.profile(), vm, { command: ['sh', '-c', 'echo "$RDS_HOST_NAME"'] }))).toMatchObject({ status: 0, stdout: 'nc-t04\n' });
    const j = fx.hosts[2]!;
    const withJump = fx.profile({ jump_host: `${os.userInfo().username}@${j.address}:${j.port}` });
    expect(runSsh(buildSshArgs(withJump, vm, { command: ['sh', '-c', 'echo "$RDS_HOST_NAME"'] }))).toMatchObject({ status: 0, stdout: 'nc-t04\n' });
  });

  test('paths with spaces and % survive ssh option parsing and token expansion', () => {
    const odd = path.join(fx.dir, 'odd dir %d');
    fs.mkdirSync(odd, { recursive: true });
    fs.copyFileSync(fx.knownHosts, path.join(odd, 'known %h hosts'));
    fs.copyFileSync(fx.clientKey, path.join(odd, 'id %u'));
    fs.chmodSync(path.join(odd, 'id %u'), 0o600);
    const p = fx.profile({ known_hosts: path.join(odd, 'known %h hosts'), identity_file: path.join(odd, 'id %u') });
    const vm = fx.target('nc-t04', fx.target('nc-t01'));
    expect(runSsh(buildSshArgs(p, vm, { command: ['true'] }))).toMatchObject({ status: 0 });
  });

  test('interactiveSsh returns the remote exit code (255 too), and a one-line RemoteError (exit 5) when ssh itself fails', async () => {
    await expect(interactiveSsh(fx.profile(), fx.target('nc-t02'), { command: ['sh', '-c', 'exit 9'], io })).resolves.toBe(9);
    await expect(interactiveSsh(fx.profile(), fx.target('nc-t02'), { command: ['sh', '-c', 'echo remote-err >&2; exit 255'], io })).resolves.toBe(255);
    const nobody = { name: 'nobody', address: `${fx.subnet}.202`, port: fx.port };
    const err = await interactiveSsh(fx.profile(), nobody, { command: ['true'], io }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).exitCode).toBe(5);
    expect((err as Error).message).toMatch(new RegExp(`^ssh to nobody \\(${fx.subnet.replace(/\./g, '\\.')}\\.202:${fx.port}\\) failed: connect to host .*Connection refused$`));
  });
});
