import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// go2nc against the shared lab's real sshds and metadb: fan-out plain/gathered/json, node-set
// groups, a stopped sshd, a command timeout that leaves nothing behind, a changed host key.

jest.setTimeout(90_000);

interface HostRecord {
  host: string;
  address: string;
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
  category: string | null;
  error: string | null;
}

let lab: TestLab;
let ncs: Array<{ hostname: string; ip: string; zone: string; cluster: string }>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-go2nc-'));

beforeAll(async () => {
  lab = sharedLab();
  const { ctx } = lab.context();
  try {
    ncs = await ctx.db('houyi').query(
      'SELECT n.hostname, n.ip, z.name AS zone, c.name AS cluster FROM nc n JOIN zone z ON z.id = n.zone_id JOIN cluster c ON c.id = n.cluster_id ORDER BY n.hostname',
    );
  } finally {
    await ctx.close();
  }
  expect(ncs.length).toBeGreaterThanOrEqual(6);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const all = (): string => `nc-a[01-${String(ncs.length).padStart(2, '0')}]`;

function pgrep(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return [];
  }
}

describe('fan-out over every lab NC', () => {
  test('plain: one "host: line" per NC, its own hostname; summary on stderr; exit 0', async () => {
    const r = await lab.run(['go2nc', all(), '--', 'hostname']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').sort();
    expect(lines).toEqual(ncs.map((n) => `${n.hostname}: ${n.hostname}`).sort());
    expect(r.stderr).toMatch(new RegExp(`^${ncs.length} ok, 0 failed$`, 'm'));
  });

  test('gathered: identical output folded under one node set; differing output apart', async () => {
    const same = await lab.run(['go2nc', all(), '-b', '--', 'echo same']);
    expect(same.code).toBe(0);
    const head = `${all()} (${ncs.length})`;
    expect(same.stdout).toBe(`${'-'.repeat(head.length)}\n${head}\n${'-'.repeat(head.length)}\nsame\n`);

    const first = ncs[0]!.hostname;
    const mixed = await lab.run(['go2nc', all(), '--gather', '--', `if [ "$(hostname)" = ${first} ]; then echo odd; exit 3; fi; echo same`]);
    expect(mixed.code).toBe(5);
    expect(mixed.stdout).toContain(`\n${first} (exit 3)\n`);
    expect(mixed.stdout).toContain(`(${ncs.length - 1})\n`);
    expect(mixed.stderr).toMatch(new RegExp(`${ncs.length - 1} ok, 1 failed: ${first}\\n`));
  });

  test('-o json: one record per host with the documented fields', async () => {
    const r = await lab.run(['go2nc', all(), '-o', 'json', '--', 'echo out; echo err >&2']);
    expect(r.code).toBe(0);
    const recs = json<HostRecord[]>(r);
    expect(recs.map((x) => x.host)).toEqual(ncs.map((n) => n.hostname));
    for (const rec of recs) {
      expect(Object.keys(rec).sort()).toEqual(['address', 'category', 'duration_ms', 'error', 'exit_code', 'host', 'signal', 'stderr', 'stdout', 'truncated'].sort());
      expect(rec).toMatchObject({ exit_code: 0, signal: null, stdout: 'out\n', category: null, error: null });
      expect(rec.stderr).toContain('err\n');
      expect(rec.address).toBe(ncs.find((n) => n.hostname === rec.host)!.ip);
    }
  });

  test('one host passes its exit code through, and a remote exit 255 stays 255', async () => {
    expect((await lab.run(['go2nc', ncs[0]!.hostname, '--', 'exit 7'])).code).toBe(7);
    const r = await lab.run(['go2nc', ncs[0]!.ip, '-o', 'json', '--', 'exit 255']);
    expect(r.code).toBe(255);
    expect(json<HostRecord[]>(r)[0]).toMatchObject({ host: ncs[0]!.hostname, exit_code: 255, category: 'exit' });
  });
});

describe('node sets', () => {
  async function planned(set: string): Promise<string[]> {
    const r = await lab.run(['go2nc', set, '--dry-run', '-o', 'json', '--', 'true']);
    expect(r.code).toBe(0);
    return json<{ targets: string[] }>(r).targets.map((t) => t.split(' ')[0]!);
  }

  test('@cluster, @zone, ! and & from the metadb', async () => {
    const zone = ncs[0]!.zone;
    const cluster = ncs[0]!.cluster;
    const inZone = ncs.filter((n) => n.zone === zone).map((n) => n.hostname);
    const inCluster = ncs.filter((n) => n.cluster === cluster).map((n) => n.hostname);
    expect(await planned(`@zone:${zone}`)).toEqual(inZone);
    expect(await planned(`@cluster:${cluster}`)).toEqual(inCluster);
    expect(await planned(`@zone:${zone}!${inZone[0]}`)).toEqual(inZone.slice(1));
    expect(await planned(`${all()}&@cluster:${cluster}`)).toEqual(inCluster);
    // An IP and an SN name NCs too; duplicates collapse.
    expect(await planned(`${ncs[1]!.ip},${ncs[1]!.hostname}`)).toEqual([ncs[1]!.hostname]);
  });

  test('an unknown group or NC is not-found with near matches; an empty set is a usage error', async () => {
    const cluster = ncs[0]!.cluster;
    const g = await lab.run(['go2nc', `@cluster:${cluster}x`, '--', 'true']);
    expect(g.code).toBe(3);
    expect(g.stderr).toContain(`did you mean: @cluster:${cluster}`);
    const n = await lab.run(['go2nc', 'nc-a[01-02],nc-a99', '--', 'true']);
    expect(n.code).toBe(3);
    expect(n.stderr).toMatch(/NC "nc-a99" not found.*did you mean: nc-a\d\d/);
    const empty = await lab.run(['go2nc', `nc-a01!nc-a01`, '--', 'true']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('resolves to no hosts');
  });

  test('--dry-run prints targets and the command, runs nothing', async () => {
    const marker = `rdsctl-dry-${randomInt(1e9)}`;
    const r = await lab.run(['go2nc', all(), '--dry-run', '--reason', 'test', '--', `touch /tmp/${marker}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`targets (${ncs.length}): ${ncs[0]!.hostname} (${ncs[0]!.ip}:`);
    expect(r.stdout).toContain(`touch /tmp/${marker}`);
    expect(fs.existsSync(`/tmp/${marker}`)).toBe(false);
  });
});

describe('failures', () => {
  test('an NC whose sshd is stopped is refused or times out while the others succeed', async () => {
    const down = ncs[2]!.hostname;
    lab.stopHost(down);
    try {
      const r = await lab.run(['go2nc', all(), '-o', 'json', '--connect-timeout', '3', '--', 'hostname']);
      expect(r.code).toBe(5);
      const recs = json<HostRecord[]>(r);
      const bad = recs.find((x) => x.host === down)!;
      expect(['refused', 'connect-timeout']).toContain(bad.category);
      expect(bad.exit_code).toBeNull();
      expect(bad.error).toBeTruthy();
      for (const ok of recs.filter((x) => x.host !== down)) expect(ok).toMatchObject({ category: null, stdout: `${ok.host}\n` });
      expect(r.stderr).toContain(`${ncs.length - 1} ok, 1 failed: ${down}\n`);
    } finally {
      lab.startHost(down);
    }
    expect((await lab.run(['go2nc', down, '--', 'true'])).code).toBe(0);
  });

  test('a command past --command-timeout is killed on the host, leaving no process behind', async () => {
    // A unique extra argument makes this sleep findable: GNU sleep adds its arguments up.
    const marker = `0.${randomInt(1e8, 1e9)}`;
    const t0 = Date.now();
    const r = await lab.run(['go2nc', ncs[1]!.hostname, '-o', 'json', '--command-timeout', '2', '--', `sleep 600 ${marker}`]);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.code).toBe(5);
    expect(json<HostRecord[]>(r)[0]).toMatchObject({ category: 'command-timeout', exit_code: null });
    let left = pgrep(`sleep 600 ${marker}`);
    for (let i = 0; i < 20 && left.length; i++) {
      await new Promise((res) => setTimeout(res, 100));
      left = pgrep(`sleep 600 ${marker}`);
    }
    expect(left).toEqual([]);
  });

  test('a host whose key changed is refused, naming the host and the known_hosts file', async () => {
    const victim = ncs[0]!;
    const kh = path.join(tmp, 'known_hosts');
    const otherKey = path.join(tmp, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const fake = fs.readFileSync(`${otherKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const lines = fs.readFileSync(lab.knownHosts, 'utf8').split('\n');
    const mine = (l: string): boolean => l.startsWith(`[${victim.ip}]:`) || l.startsWith(`${victim.ip} `);
    expect(lines.some(mine)).toBe(true);
    fs.writeFileSync(kh, lines.map((l) => (mine(l) ? `${l.split(/\s+/)[0]} ${fake}` : l)).join('\n'));
    const cfg = JSON.parse(fs.readFileSync(lab.configPath, 'utf8')) as { current: string; profiles: Array<{ name: string; ssh: Record<string, unknown> }> };
    for (const p of cfg.profiles) if (p.name === cfg.current) p.ssh.known_hosts = kh;
    const cfgFile = path.join(tmp, 'config.json');
    fs.writeFileSync(cfgFile, JSON.stringify(cfg));

    const r = await lab.run(['go2nc', `${victim.hostname},${ncs[1]!.hostname}`, '-o', 'json', '--', 'true'], { env: { RDSCTL_CONFIG: cfgFile } });
    expect(r.code).toBe(5);
    const [bad, good] = json<HostRecord[]>(r);
    expect(bad).toMatchObject({ host: victim.hostname, category: 'host-key' });
    expect(bad!.error).toContain(kh);
    expect(bad!.error).toMatch(new RegExp(victim.hostname.replace(/[-]/g, '\\-') + '|' + victim.ip.replace(/\./g, '\\.')));
    expect(good).toMatchObject({ category: null });
    // --accept-new does not override a changed key.
    const again = await lab.run(['go2nc', victim.hostname, '--accept-new', '--', 'true'], { env: { RDSCTL_CONFIG: cfgFile } });
    expect(again.code).toBe(5);
    expect(again.stderr).toContain(kh);
  });
});

describe('Ctrl-C', () => {
  test('closes every channel, prints what was gathered and exits 130, leaving nothing running', async () => {
    const marker = `0.${randomInt(1e8, 1e9)}`;
    const doneFile = path.join(tmp, `quick-${marker}`);
    const ac = new AbortController();
    // Interrupt once the quick host has answered (the hosts are on this machine), whatever the load.
    const poll = setInterval(() => {
      if (!fs.existsSync(doneFile)) return;
      clearInterval(poll);
      setTimeout(() => ac.abort(new Error('interrupted by SIGINT')), 300);
    }, 100);
    const quick = ncs[0]!.hostname;
    const r = await lab.run(['go2nc', 'nc-a[01-03]', '-o', 'json', '--', `if [ "$(hostname)" = ${quick} ]; then touch ${doneFile}; echo done; else sleep 30 ${marker}; fi`], { signal: ac.signal });
    clearInterval(poll);
    expect(r.code).toBe(130);
    const recs = json<HostRecord[]>(r);
    expect(recs.find((x) => x.host === quick)).toMatchObject({ category: null, stdout: 'done\n' });
    expect(recs.filter((x) => x.host !== quick).map((x) => x.category)).toEqual(['interrupted', 'interrupted']);
    let left = pgrep(`sleep 30 ${marker}`);
    for (let i = 0; i < 20 && left.length; i++) {
      await new Promise((res) => setTimeout(res, 100));
      left = pgrep(`sleep 30 ${marker}`);
    }
    expect(left).toEqual([]);
  });
});

describe('audit', () => {
  test('every fan-out is recorded with targets, command, reason and per-host outcome', async () => {
    const reason = `audit-check-${randomInt(1e9)}`;
    const r = await lab.run(['go2nc', 'nc-a[01-02]', '--reason', reason, '--', 'true']);
    expect(r.code).toBe(0);
    const { ctx } = lab.context();
    const recs = ctx.audit().readLocal().filter((x) => x.reason === reason);
    await ctx.close();
    expect(recs.map((x) => x.phase).sort()).toEqual(['intent', 'result']);
    const result = recs.find((x) => x.phase === 'result')!;
    expect(result).toMatchObject({ command: 'go2nc', targets: ['nc-a01', 'nc-a02'], ok: true, detail: { command: 'true', outcomes: { ok: 'nc-a[01-02]' } } });
  });
});

describe('hostile names never reach SQL or a shell', () => {
  const names = ["nc-a01'", 'nc-a01; touch /tmp/rdsctl-pwned', '$(touch /tmp/rdsctl-pwned)', '`touch /tmp/rdsctl-pwned`', 'nc-a*', 'nc a01', 'nc-a01\nnc-a02', "' OR 1=1 -- "];
  test.each(names)('%j: go2nc usage error, go2ncinfo and go2vmlist not-found, one line each', async (name) => {
    const nc = await lab.run(['go2nc', name, '--', 'true']);
    expect(nc.code).toBe(2);
    expect(nc.stderr.trim().split('\n')).toHaveLength(1);
    for (const verb of ['go2ncinfo', 'go2vmlist']) {
      const r = await lab.run([verb, name]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^rdsctl: NC ".*" not found in houyi/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(fs.existsSync('/tmp/rdsctl-pwned')).toBe(false);
  });
});
