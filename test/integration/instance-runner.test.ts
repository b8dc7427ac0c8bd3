import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import type { InstanceRecord } from '../../src/rds/record.js';
import type { InstanceView } from '../../src/rds/show.js';
import type { StepView } from '../../src/flow/control.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// Runners of the install task as separate processes (bin/rdsctl): one killed with SIGKILL in the
// middle and resumed; two started at once on one task (exactly one runs it); a worker taking a
// task left by `create --no-wait`; an NC whose sshd is down, then back.

jest.setTimeout(900_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
const tag = randomBytes(3).toString('hex');
const created: string[] = [];
let lab: TestLab;

interface Child {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** bin/rdsctl as its own process; `onLine` sees stderr line by line and may kill it. */
function rdsctl(args: string[], onLine?: (line: string, kill: () => void) => void): Promise<Child> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) onLine?.(l, () => p.kill('SIGKILL'));
    });
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function steps(name: string): Promise<StepView[]> {
  return json<StepView[]>(await lab.run(['instance', 'step', name, 'list', '-o', 'json']));
}

async function healthy(name: string): Promise<InstanceView> {
  const r = await lab.run(['instance', 'show', name, '--live', '-o', 'json']);
  const v = json<InstanceView>(r);
  expect(v.instance.status).toBe('running');
  expect(v.live!.map((l) => [l.role, l.reachable, l.slave_io_running, l.slave_sql_running, l.read_only])).toEqual([
    ['master', true, 'Yes', 'Yes', false],
    ['slave', true, 'Yes', 'Yes', true],
  ]);
  expect(r.code).toBe(0);
  return v;
}

beforeAll(() => {
  lab = sharedLab();
});

afterAll(async () => {
  for (const name of created) {
    const r = await lab.run(['instance', 'delete', name, '--yes', '--reason', 'integration test cleanup']);
    if (r.code !== 0 && r.code !== 3) throw new Error(`delete ${name} failed (exit ${r.code}): ${r.stderr}`);
  }
});

test('SIGKILL of the runner in the middle of the flow, then resume: the install completes', async () => {
  const name = `rm-kill${tag}`;
  created.push(name);
  let killedAfter = '';
  const child = await rdsctl(['instance', 'create', '--name', name, '--db', 'app1'], (line, kill) => {
    if (!killedAfter && /^\[20\/81\]/.test(line)) {
      killedAfter = line;
      kill();
    }
  });
  expect(child.signal).toBe('SIGKILL');
  expect(killedAfter).toMatch(/do_start_instance_noblock_by_slave|do_start_instance_noblock_by_master/);

  const mid = await steps(name);
  expect(mid.slice(0, 18).every((s) => s.status === 'done' || s.status === 'skipped')).toBe(true);
  expect(mid.slice(22).every((s) => s.status === 'pending')).toBe(true);
  const tasks = json<Array<{ status: string; lease_owner: string | null }>>(await lab.run(['task', 'list', '--instance', name, '-o', 'json']));
  expect(tasks[0]!.status).toBe('running');
  expect(tasks[0]!.lease_owner).toMatch(/:\d+:[0-9a-f]+$/);

  // The dead runner's lease is on this host and its process is gone: resume takes over at once.
  const r = await lab.run(['instance', 'step', name, 'resume', '--reason', 'runner was killed']);
  expect(r.code).toBe(0);
  expect(r.stderr).not.toMatch(/^\[ ?1\/81\]/m);
  expect(r.stderr).toMatch(/\[81\/81\]/);
  const done = await steps(name);
  expect(done.every((s) => s.status === 'done' || s.status === 'skipped')).toBe(true);
  expect(done.slice(0, 18).every((s) => s.attempts <= 1)).toBe(true);
  await healthy(name);
});

test('two runners started at once on one task: exactly one runs it, the other exits 9', async () => {
  const name = `rm-two${tag}`;
  created.push(name);
  const c = await lab.run(['instance', 'create', '--name', name, '--no-wait', '-o', 'json']);
  expect(c.code).toBe(0);
  const rec = json<InstanceRecord>(c);
  expect(rec).toMatchObject({ status: 'creating', endpoint: null });
  expect(rec.task).toMatchObject({ status: 'pending', steps_finished: 0, steps_total: 81 });

  const [a, b] = await Promise.all([rdsctl(['instance', 'step', name, 'resume']), rdsctl(['instance', 'step', name, 'resume'])]);
  const codes = [a.code, b.code].sort();
  expect(codes).toEqual([0, 9]);
  const loser = a.code === 9 ? a : b;
  const winner = a.code === 0 ? a : b;
  expect(loser.stderr).toMatch(/^rdsctl: task \d+ is being run by .+ \(lease until .+\)/m);
  expect(loser.stderr).not.toMatch(/\[\s*\d+\/81\]/);
  expect(winner.stderr).toMatch(/\[81\/81\]/);
  await healthy(name);
});

test('a worker takes a task left by create --no-wait and runs it to the end', async () => {
  const name = `rm-wrk${tag}`;
  created.push(name);
  expect((await lab.run(['instance', 'create', '--name', name, '--no-wait'])).code).toBe(0);
  const w = await lab.run(['worker', '--once']);
  expect(w.code).toBe(0);
  expect(w.stdout).toMatch(/^task \d+ done \(81 steps\)$/m);
  await healthy(name);
  const idle = await lab.run(['worker', '--once']);
  expect(idle.code).toBe(0);
  expect(idle.stderr).toMatch(/no task ready/);
});

test('an NC whose sshd is down fails the step, naming it; retry once it is back completes (VPC guard instance, password from stdin)', async () => {
  const name = `rm-vpc${tag}`;
  created.push(name);
  const { ctx } = lab.context();
  let sw: { vpc_id: string; vswitch_id: string; zone: string; cidr: string };
  try {
    const zones = await ctx.db('dbaas').query<{ zone: string }>("SELECT zone FROM hostinfo WHERE status = 'online' GROUP BY zone HAVING COUNT(*) >= 2 ORDER BY zone LIMIT 1");
    sw = (await ctx.db('vpc').query<typeof sw>('SELECT vpc_id, vswitch_id, zone, cidr FROM vswitch WHERE zone = ? ORDER BY vswitch_id LIMIT 1', [zones[0]!.zone]))[0]!;
  } finally {
    await ctx.close();
  }
  const pw = 'Pw-from-stdin-' + tag;
  const c = await lab.run(['instance', 'create', '--name', name, '--network', 'vpc', '--vpc-id', sw.vpc_id, '--vswitch-id', sw.vswitch_id, '--zone', sw.zone, '--guard', '--db', 'ledger', '--account', 'ops', '--password-stdin', '--no-wait', '-o', 'json'], { stdin: `${pw}\n` });
  expect({ code: c.code, stderr: c.stderr }).toMatchObject({ code: 0 });
  const rec = json<InstanceRecord>(c);
  expect(rec).toMatchObject({ network_type: 'vpc', vpc_id: sw.vpc_id, is_guard: true, zone: sw.zone });

  lab.stopHost(rec.slave!.host);
  try {
    const r = await lab.run(['instance', 'step', name, 'resume']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(rec.slave!.host);
    const st = await steps(name);
    const failed = st.filter((s) => s.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error).toContain(rec.slave!.host);
    expect(st.slice(failed[0]!.seq).every((s) => s.status === 'pending')).toBe(true);
    const shown = json<InstanceView>(await lab.run(['instance', 'show', name, '-o', 'json']));
    expect(shown.instance.status).toBe('failed');
    expect(shown.instance.task).toMatchObject({ status: 'failed' });
    expect(shown.instance.task!.error).toContain(rec.slave!.host);
  } finally {
    lab.startHost(rec.slave!.host);
  }

  const retry = await lab.run(['instance', 'step', name, 'retry', '--reason', 'sshd is back']);
  expect(retry.code).toBe(0);
  const v = json<InstanceView>(await lab.run(['instance', 'show', name, '--live', '-o', 'json']));
  expect(v.instance.status).toBe('running');
  // A guard instance is read-only on both servers, and both replicate.
  expect(v.live!.map((l) => [l.role, l.read_only, l.slave_io_running, l.slave_sql_running])).toEqual([
    ['master', true, 'Yes', 'Yes'],
    ['slave', true, 'Yes', 'Yes'],
  ]);
  const st = await steps(name);
  for (const seq of [36, 43, 61, 62, 63, 72]) expect({ seq, status: st[seq - 1]!.status }).toEqual({ seq, status: 'done' });
  // The VPC address comes from the vswitch's block.
  const { ctx: ctx2 } = lab.context();
  try {
    const m = await ctx2.db('dbaas').query<{ vip: string; vport: number }>('SELECT vip, vport FROM vpc_custins_mapping WHERE custins_id = ? AND live_key = 1', [rec.custins_id]);
    expect(m[0]!.vip.split('.').slice(0, 2)).toEqual(sw.cidr.split('.').slice(0, 2));
    expect(m[0]!.vport).toBe(rec.master!.port);
  } finally {
    await ctx2.close();
  }
  // The account made with the password read from stdin logs in.
  const cnf = path.join(os.tmpdir(), `rdsctl-it-${tag}.cnf`);
  fs.writeFileSync(cnf, `[client]\nuser=ops\npassword=${pw}\n`, { mode: 0o600 });
  try {
    expect(execFileSync('mariadb', [`--defaults-file=${cnf}`, '-h', rec.master!.ip, '-P', String(rec.master!.port), '-N', '-e', "SHOW DATABASES LIKE 'ledger'"], { encoding: 'utf8' }).trim()).toBe('ledger');
  } finally {
    fs.rmSync(cnf, { force: true });
  }
});

test('two creates at once: the row locks on hostinfo give them different (host, port) pairs and capacity adds up', async () => {
  const names = [`rm-par1${tag}`, `rm-par2${tag}`];
  created.push(...names);
  const cap = async () => {
    const { ctx } = lab.context();
    try {
      return await ctx.db('dbaas').query<{ hostname: string; cpu_allocated: number }>('SELECT hostname, cpu_allocated FROM hostinfo ORDER BY id');
    } finally {
      await ctx.close();
    }
  };
  const before = await cap();
  const rs = await Promise.all(names.map((n) => rdsctl(['instance', 'create', '--name', n, '--no-wait', '-o', 'json'])));
  expect(rs.map((r) => r.code)).toEqual([0, 0]);
  const recs = rs.map((r) => JSON.parse(r.stdout) as InstanceRecord);
  const slots = recs.flatMap((r) => [`${r.master!.host}:${r.master!.port}`, `${r.slave!.host}:${r.slave!.port}`]);
  expect(new Set(slots).size).toBe(4);
  const after = await cap();
  const used = after.reduce((s, h) => s + h.cpu_allocated, 0) - before.reduce((s, h) => s + h.cpu_allocated, 0);
  expect(used).toBe(4);
  for (const n of names) expect((await lab.run(['instance', 'delete', n, '--yes'])).code).toBe(0);
  expect(await cap()).toEqual(before);
});
