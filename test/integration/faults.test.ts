import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import type { StepView } from '../../src/flow/control.js';
import type { HostRecord } from '../../src/houyi/fanout.js';
import type { InstanceView } from '../../src/rds/show.js';
import type { Context } from '../../src/core/context.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { labNames, oneErrorLine, type LabNames } from '../support/redlines.js';
import { diffSnapshots, hostsSnapshot, metadbSnapshot, type Snapshot } from '../support/snapshot.js';

// Faults against the lab, each ending in an error that says what and where, with no data lost and
// the task resumable: a host that accepts TCP but never speaks SSH; a remote command that floods
// 100 MB (rdsctl's peak RSS, read from /proc/<pid>/status VmHWM of bin/rdsctl as a child); the
// metadb stopped while commands run and in the middle of `instance create`; an NC's sshd stopped in
// the middle of `instance create`. (An audit log that cannot be written is in redlines-audit.)

jest.setTimeout(300_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
const tag = randomBytes(3).toString('hex');
let lab: TestLab;
let ctx: Context;
let n: LabNames;

beforeAll(async () => {
  lab = sharedLab();
  ctx = lab.context().ctx;
  n = await labNames(ctx);
});

afterAll(async () => {
  await ctx.close();
});

interface Child {
  code: number | null;
  stdout: string;
  stdoutBytes: number;
  stderr: string;
  /** Peak resident set (VmHWM) of the rdsctl process, in MiB. */
  peakMiB: number;
}

/** bin/rdsctl as a child: stderr line by line to `onLine`; stdout read only after `holdStdoutMs`. */
function rdsctl(args: string[], o: { onLine?: (line: string) => void; holdStdoutMs?: number; keepStdout?: boolean } = {}): Promise<Child> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stdoutBytes = 0;
    let stderr = '';
    let partial = '';
    let peak = 0;
    const sample = (): void => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        // exited between samples: the last reading stands
      }
    };
    const timer = setInterval(sample, 10);
    if (o.holdStdoutMs) {
      p.stdout.pause();
      setTimeout(() => p.stdout.resume(), o.holdStdoutMs);
    }
    p.stdout.on('data', (d: Buffer) => {
      stdoutBytes += d.length;
      if (o.keepStdout !== false) stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) o.onLine?.(l);
    });
    p.on('error', reject);
    p.on('exit', sample);
    p.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, stdoutBytes, stderr, peakMiB: peak / 1024 });
    });
  });
}

const lastError = (stderr: string): string | undefined => stderr.split('\n').filter((l) => l.startsWith('rdsctl: ')).pop();

describe('a host that accepts TCP but never answers SSH', () => {
  let server: net.Server;
  const held: net.Socket[] = [];
  const name = `nc-silent-${tag}`;

  beforeAll(async () => {
    server = net.createServer((s) => void held.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    // An NC row pointing at the silent listener: houyi is where go2nc learns address and port.
    await ctx.db('houyi').execute(
      "INSERT INTO nc (hostname, ip, sn, cluster_id, zone_id, status, cpu_total, mem_total_mb, ssh_port) SELECT ?, '127.0.0.1', ?, cluster_id, zone_id, 'online', 1, 1, ? FROM nc WHERE hostname = ?",
      [name, `SN-SILENT-${tag}`, port, n.nc],
    );
  });
  afterAll(async () => {
    await ctx.db('houyi').execute('DELETE FROM nc WHERE hostname = ?', [name]);
    for (const s of held) s.destroy();
    await new Promise((r) => server.close(r));
  });

  test('go2nc: classified connect-timeout after --connect-timeout, one line naming host and address; exit 5', async () => {
    const t0 = Date.now();
    const r = await lab.run(['go2nc', name, '--connect-timeout', '1', '--', 'true']);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(new RegExp(`^${name}: connect-timeout: 127\\.0\\.0\\.1:\\d+: no SSH session within 1s\\n$`));
  });

  test('in a fan-out the others finish; -o json says connect-timeout for it only', async () => {
    const r = await lab.run(['go2nc', `${name},${n.ncSet}`, '--connect-timeout', '1', '-o', 'json', '--', 'hostname']);
    expect(r.code).toBe(5);
    const recs = json<HostRecord[]>(r);
    expect(recs.map((x) => [x.host, x.category])).toEqual([[name, 'connect-timeout'], ...n.ncs.map((h) => [h, null])]);
    expect(r.stderr).toContain(`${n.ncs.length} ok, 1 failed: ${name}\n`);
  });
});

describe('a remote command floods 100 MB: memory stays bounded', () => {
  const flood = `yes ${'0123456789'.repeat(10)} | head -c 100000000`;
  // rdsctl with no output peaks near 70 MiB; -b and -o json keep 8 MiB per host and peak near 150
  // MiB at 100 MB or 300 MB alike (garbage from the data passing through). Streaming pauses the
  // SSH channel while stdout is full (before that fix it grew with the flood: 500-700 MiB).
  const BOUND_MIB = 200;
  const peaks: Record<string, number> = {};
  afterAll(() => process.stderr.write(`faults: peak RSS of rdsctl under a 100 MB flood (MiB): ${JSON.stringify(peaks)}\n`));

  test('-b (gathered): output cut at the cap, said on stderr, RSS bounded', async () => {
    const r = await rdsctl(['go2nc', n.nc, '-b', '--', flood], { holdStdoutMs: 1000, keepStdout: false });
    peaks.gather = Math.round(r.peakMiB);
    expect(r.code).toBe(0);
    expect(r.stdoutBytes).toBeLessThan(16 << 20);
    expect(r.stderr).toContain(`${n.nc}: output truncated`);
    expect(r.peakMiB).toBeLessThan(BOUND_MIB);
  });

  test('-o json: the record says truncated, RSS bounded', async () => {
    const r = await rdsctl(['go2nc', n.nc, '-o', 'json', '--', flood], { holdStdoutMs: 1000 });
    peaks.json = Math.round(r.peakMiB);
    expect(r.code).toBe(0);
    expect(json<HostRecord[]>({ code: 0, stdout: r.stdout, stderr: '' })[0]).toMatchObject({ host: n.nc, category: null, truncated: true });
    expect(r.peakMiB).toBeLessThan(BOUND_MIB);
  });

  test('streamed to a reader that keeps up: every byte arrives', async () => {
    const r = await rdsctl(['go2nc', n.nc, '--', flood], { keepStdout: false });
    peaks.stream = Math.round(r.peakMiB);
    expect(r.code).toBe(0);
    // each line gains the "host: " prefix, and the cut last line its newline
    expect(r.stdoutBytes).toBe(100_000_000 + Math.ceil(100_000_000 / 101) * `${n.nc}: `.length + 1);
    expect(r.peakMiB).toBeLessThan(BOUND_MIB);
  });

  test('streamed into a pipe whose reader pauses: the SSH channel is paused too, RSS bounded', async () => {
    const r = await rdsctl(['go2nc', n.nc, '--', flood], { holdStdoutMs: 2000, keepStdout: false });
    peaks.streamPausedReader = Math.round(r.peakMiB);
    expect(r.code).toBe(0);
    expect(r.peakMiB).toBeLessThan(BOUND_MIB);
  });
});

/** The lab's MariaDB: stopped by pid, started again by `lab up` on the same dir (idempotent). */
function mariadbPid(): number {
  return Number(fs.readFileSync(path.join(lab.dir, 'mariadb', 'mariadb.pid'), 'utf8').trim());
}
async function stopMariadb(): Promise<void> {
  const pid = mariadbPid();
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 500 && fs.existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
}
async function startMariadb(): Promise<void> {
  const r = await lab.run(['lab', 'up', '--dir', lab.dir]);
  if (r.code !== 0) throw new Error(`lab up after stopping MariaDB: ${r.stderr}`);
}

async function stepViews(name: string): Promise<StepView[]> {
  return json<StepView[]>(await lab.run(['instance', 'step', name, 'list', '-o', 'json']));
}

async function healthyPair(name: string): Promise<void> {
  const r = await lab.run(['instance', 'show', name, '--live', '-o', 'json']);
  expect(r.code).toBe(0);
  const v = json<InstanceView>(r);
  expect(v.instance.status).toBe('running');
  expect(v.live!.map((l) => [l.role, l.reachable, l.slave_io_running, l.slave_sql_running])).toEqual([
    ['master', true, 'Yes', 'Yes'],
    ['slave', true, 'Yes', 'Yes'],
  ]);
}

describe('the metadb stops', () => {
  const name = `rm-fm${tag}`;
  afterAll(async () => {
    if (!fs.existsSync(`/proc/${mariadbPid()}`)) await startMariadb();
    const d = await lab.run(['instance', 'delete', name, '--yes', '--reason', 'faults cleanup']);
    if (d.code !== 0 && d.code !== 3) throw new Error(`instance delete ${name}: ${d.stderr}`);
  });

  test('in the middle of instance create: exit 8 naming the db and where; commands refuse while it is down; after restart the task resumes to a healthy pair and the audit is backfilled', async () => {
    const others: Snapshot = new Map([...(await metadbSnapshot(ctx))].filter(([k]) => !k.startsWith('metadb dbaas.')));
    const hosts = hostsSnapshot(lab.dir);
    let stoppedAt = 0;
    let stopping: Promise<void> | undefined;
    const r = await rdsctl(['instance', 'create', '--name', name, '--reason', `faults metadb ${tag}`], {
      onLine: (line) => {
        const m = /^\[(\d+)\/81\]/.exec(line);
        if (m && Number(m[1]) >= 30 && !stopping) {
          stoppedAt = Number(m[1]);
          stopping = stopMariadb();
        }
      },
    });
    await stopping;
    try {
      expect({ stoppedAt: stoppedAt >= 30, code: r.code, tail: r.stderr.split('\n').slice(-3) }).toMatchObject({ stoppedAt: true, code: 8 });
      expect(lastError(r.stderr)).toMatch(/^rdsctl: metadb dbaas at 127\.0\.0\.1:\d+ is unreachable: [A-Z_]+$/);
      // While it is down: a read, a state change and a fan-out all refuse in one line, acting on nothing.
      for (const args of [['instance', 'list'], ['vpc', 'route', 'add', '--vpc', n.vpc, '--cidr', n.routeCidr, '--next-hop', n.nextHop], ['go2nc', n.nc, '--', `touch "$RDS_HOST_ROOT/tmp/faults-${tag}"`]]) {
        const d = await lab.run(args);
        expect({ args, code: d.code, line: oneErrorLine(d.stderr) }).toEqual({ args, code: 8, line: expect.stringMatching(/^rdsctl: cannot check the role of \S+ for rdsctl .+: metadb dbaas at 127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED$/) });
      }
    } finally {
      await startMariadb();
    }
    await ctx.close();
    ctx = lab.context().ctx;
    expect(diffSnapshots(others, new Map([...(await metadbSnapshot(ctx))].filter(([k]) => !k.startsWith('metadb dbaas.'))))).toEqual([]);
    expect(diffSnapshots(hosts, hostsSnapshot(lab.dir)).filter((d) => d.includes(`faults-${tag}`))).toEqual([]);

    // Consistent: done or skipped up to where it stopped, at most the one step in flight left running, nothing failed.
    const steps = await stepViews(name);
    expect(steps.filter((s) => s.status === 'failed')).toEqual([]);
    expect(steps.filter((s) => s.status === 'running').length).toBeLessThanOrEqual(1);
    const finished = steps.filter((s) => s.status === 'done' || s.status === 'skipped').length;
    expect(finished).toBeGreaterThanOrEqual(stoppedAt - 1);
    expect(finished).toBeLessThan(81);

    const res = await lab.run(['instance', 'step', name, 'resume', '--reason', `faults metadb ${tag}`]);
    expect({ code: res.code, err: lastError(res.stderr) }).toEqual({ code: 0, err: undefined });
    expect((await stepViews(name)).every((s) => s.status === 'done' || s.status === 'skipped')).toBe(true);
    await healthyPair(name);

    // The create's result was written while the metadb was down: local only, until backfilled.
    const recs = ctx.audit().readLocal().filter((a) => a.reason === `faults metadb ${tag}` && a.command === 'instance create');
    expect(recs.map((a) => [a.phase, a.exit_code])).toEqual([['intent', undefined], ['result', 8]]);
    const inDb = async (): Promise<string[]> => (await ctx.db('dbaas').query<{ phase: string }>('SELECT phase FROM ops_audit WHERE record_id = ? ORDER BY id', [recs[0]!.id])).map((x) => x.phase);
    expect(await inDb()).toEqual(['intent']);
    expect((await lab.run(['audit', 'backfill'])).code).toBe(0);
    expect(await inDb()).toEqual(['intent', 'result']);
  });
});

/** Pids of sshd session processes serving connections to address:port (found through their sockets). */
function sshSessionsTo(address: string, port: number): number[] {
  const hexAddr = address.split('.').map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase()).reverse().join('');
  const local = `${hexAddr}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '01') inodes.add(f[9]!);
  }
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (!/^sshd/.test(fs.readFileSync(`/proc/${d}/comm`, 'utf8'))) continue;
      const socks = fs.readdirSync(`/proc/${d}/fd`).map((fd) => {
        try {
          return fs.readlinkSync(`/proc/${d}/fd/${fd}`);
        } catch {
          return '';
        }
      });
      if (socks.some((s) => inodes.has(/^socket:\[(\d+)\]$/.exec(s)?.[1] ?? ''))) pids.push(Number(d));
    } catch {
      continue;
    }
  }
  return pids;
}

describe('an NC\'s sshd stops in the middle of instance create', () => {
  const name = `rm-fs${tag}`;
  let standby: string | undefined;
  afterAll(async () => {
    if (standby) lab.startHost(standby);
    const d = await lab.run(['instance', 'delete', name, '--yes', '--reason', 'faults cleanup']);
    if (d.code !== 0 && d.code !== 3) throw new Error(`instance delete ${name}: ${d.stderr}`);
  });

  test('the step on it fails with exit 5 naming the host; with sshd back, resume finishes a healthy pair', async () => {
    let stoppedAt = 0;
    const r = await rdsctl(['instance', 'create', '--name', name, '--reason', `faults sshd ${tag}`], {
      onLine: (line) => {
        const alloc = new RegExp(`^${name}: master (\\S+), standby (\\S+), port \\d+; task \\d+$`).exec(line);
        if (alloc) standby = alloc[2];
        const m = /^\[(\d+)\/81\]/.exec(line);
        if (m && Number(m[1]) >= 20 && !stoppedAt && standby) {
          stoppedAt = Number(m[1]);
          // The listener, and the session rdsctl already holds to it: the NC is gone for SSH.
          lab.stopHost(standby);
          const h = lab.layout.hosts.find((x) => x.name === standby)!;
          for (const pid of sshSessionsTo(h.address, lab.file.ssh_port)) process.kill(pid, 'SIGKILL');
        }
      },
    });
    expect({ standby, stoppedAt: stoppedAt >= 20, code: r.code, tail: r.stderr.split('\n').slice(-3) }).toMatchObject({ standby: expect.any(String), stoppedAt: true, code: 5 });
    expect(lastError(r.stderr)).toMatch(new RegExp(`^rdsctl: ${name}: install failed at step \\d+ \\S+ on ${standby}: .+; fix the cause, then \`rdsctl instance step ${name} resume\`$`));
    const steps = await stepViews(name);
    const failed = steps.filter((s) => s.status === 'failed');
    expect(failed.map((s) => s.host)).toEqual([standby]);
    expect(failed[0]!.error).toContain(standby!);
    expect(steps.filter((s) => s.status === 'running')).toEqual([]);
    expect(json<Array<{ status: string; ins_name: string }>>(await lab.run(['task', 'list', '--instance', name, '-o', 'json'])).map((t) => t.status)).toEqual(['failed']);

    lab.startHost(standby!);
    const res = await lab.run(['instance', 'step', name, 'resume', '--reason', `faults sshd ${tag}`]);
    expect({ code: res.code, err: lastError(res.stderr) }).toEqual({ code: 0, err: undefined });
    await healthyPair(name);
  });
});
