import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import type { StepView } from '../../src/flow/control.js';
import { leftoversScript } from '../../src/rds/host-ops.js';
import { hostLayout } from '../../src/rds/layout.js';
import type { InstanceView } from '../../src/rds/show.js';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';

// The engine on real pairs: repairs of a finished instance (goto back to any install step, then
// resume, converges), cancel of a running install at a step boundary and delete afterwards, a
// delete killed with SIGKILL and resumed, a worker taking over a provably dead local runner at
// once, and a runner in another PID namespace that is never preempted.

jest.setTimeout(1_800_000);

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

/** bin/rdsctl as its own process (optionally under a wrapper such as unshare); `onLine` sees stderr lines and may kill it. */
function rdsctl(args: string[], onLine?: (line: string, kill: () => void) => void, wrapper: string[] = []): Promise<Child> {
  return new Promise((resolve, reject) => {
    const argv = [...wrapper, process.execPath, BIN, ...args];
    const p = spawn(argv[0]!, argv.slice(1), { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
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

interface TaskJson {
  task_id: number;
  flow: string;
  status: string;
  lease_owner: string | null;
  failed_step: string | null;
  current_step: string | null;
}

async function tasksOf(name: string): Promise<TaskJson[]> {
  return json<TaskJson[]>(await lab.run(['task', 'list', '--target', name, '-o', 'json']));
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

function layouts(v: InstanceView) {
  return v.hosts.map((h) => ({ host: h.host, layout: hostLayout(h.port) }));
}

/** What a purge would leave on each host (empty when nothing is left), asked through the hosts' sshd. */
async function leftovers(v: InstanceView): Promise<string> {
  const out: string[] = [];
  for (const { host, layout } of layouts(v)) {
    const r = await lab.run(['go2nc', host, '--', leftoversScript(layout)]);
    expect(r.code).toBe(0);
    if (r.stdout.trim()) out.push(`${host}: ${r.stdout.trim()}`);
  }
  return out.join('; ');
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

test('a time zone the tz database does not have is refused up front (exit 2), nothing written', async () => {
  const before = json<unknown[]>(await lab.run(['task', 'list', '-o', 'json', '--limit', '100000'])).length;
  for (const args of [['instance', 'create', '--time-zone', 'Mars/Olympus'], ['instance', 'create', '--time-zone', 'Mars/Olympus', '--dry-run']]) {
    const r = await lab.run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rdsctl: --time-zone "Mars\/Olympus": not a zone of the tz database/);
  }
  expect(json<unknown[]>(await lab.run(['task', 'list', '-o', 'json', '--limit', '100000'])).length).toBe(before);
});

test('on a finished pair, goto back to any install step then resume converges to a healthy replicating pair', async () => {
  const name = `rm-rep${tag}`;
  created.push(name);
  // A named time zone, so the time zone steps run instead of being skipped.
  const c = await lab.run(['instance', 'create', '--name', name, '--db', 'app1', '--account', 'app', '--password-stdin', '--time-zone', 'Asia/Shanghai'], { stdin: 'S3cure-pass-1\n' });
  expect(c.code).toBe(0);
  await healthy(name);
  const taskId = (await tasksOf(name))[0]!.task_id;
  const targets = [1, 6, 12, 17, 23, 30, 33, 45, 51, 56, 58, 63, 70, 77];
  const took: string[] = [];
  for (const seq of targets) {
    const g = await lab.run(['task', 'goto', String(taskId), String(seq), '--yes', '--reason', `repair test ${seq}`]);
    expect({ seq, code: g.code, stderr: g.stderr }).toMatchObject({ seq, code: 0 });
    expect(g.stderr).toMatch(/goes back to step/);
    const t0 = Date.now();
    const r = await lab.run(['task', 'resume', String(taskId), '--reason', `repair test ${seq}`]);
    took.push(`${seq}:${((Date.now() - t0) / 1000).toFixed(1)}s`);
    expect({ seq, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ seq, code: 0, stderr: '' });
    expect(r.stderr).toMatch(/\[81\/81\]/);
    const st = await steps(name);
    expect(st.filter((s) => s.status !== 'done' && s.status !== 'skipped')).toEqual([]);
    await healthy(name);
  }
  // Each resume re-ran (and probed) everything after the goto; the pair was never rebuilt.
  process.stderr.write(`goto+resume times: ${took.join(' ')}\n`);
  const st = await steps(name);
  // By name, not position: install v2 put do_issue_server_cert before them.
  expect(st.find((s) => s.step === 'do_reset_named_timezone_config')).toMatchObject({ status: 'done' });
  expect(st.find((s) => s.step === 'do_drop_root_account' && s.role === 'master')).toMatchObject({ status: 'done' });
});

test('task cancel of a running install stops it at a step boundary; then the instance can be deleted', async () => {
  const name = `rm-can${tag}`;
  created.push(name);
  expect((await lab.run(['instance', 'create', '--name', name, '--no-wait'])).code).toBe(0);
  const taskId = (await tasksOf(name))[0]!.task_id;
  let cancel: Promise<Awaited<ReturnType<TestLab['run']>>> | null = null;
  const runner = await rdsctl(['task', 'resume', String(taskId)], (line) => {
    if (!cancel && /^\[ ?8\/81\]/.test(line)) cancel = lab.run(['task', 'cancel', String(taskId), '--yes', '--reason', 'wrong class']);
  });
  expect(cancel).not.toBeNull();
  const cr = await cancel!;
  expect({ code: cr.code, stderr: cr.stderr }).toMatchObject({ code: 0 });
  expect(cr.stderr).toMatch(/cancelled at a step boundary|cancelled \(no runner held it\)/);
  // The runner stopped at a boundary: it reports the cancel (exit 9), not a failure.
  expect(runner.code).toBe(9);
  expect(runner.stderr).toMatch(/cancelled \(by [^)]*wrong class\)/);
  const st = await steps(name);
  expect(st.some((s) => s.status === 'running' || s.status === 'failed')).toBe(false);
  const finished = st.filter((s) => s.status === 'done' || s.status === 'skipped').length;
  expect(finished).toBeGreaterThanOrEqual(8);
  expect(finished).toBeLessThan(81);
  expect(st.slice(finished).every((s) => s.status === 'pending')).toBe(true);
  const t = (await tasksOf(name))[0]!;
  expect(t).toMatchObject({ status: 'cancelled', lease_owner: null });
  // A cancelled task does not run again.
  expect((await lab.run(['task', 'resume', String(taskId)])).code).toBe(9);

  const show = json<InstanceView>(await lab.run(['instance', 'show', name, '-o', 'json']));
  const d = await lab.run(['instance', 'delete', name, '--yes', '--reason', 'after cancel', '-o', 'json']);
  expect({ code: d.code, stderr: d.code === 0 ? '' : d.stderr }).toEqual({ code: 0, stderr: '' });
  expect(json<{ status: string }>(d).status).toBe('deleted');
  expect(await leftovers(show)).toBe('');
  const all = await tasksOf(name);
  expect(all.map((x) => `${x.flow} ${x.status}`)).toEqual(['delete done', 'install cancelled']);
});

test('a delete of an instance with a running task says to cancel it, naming the instance and the task', async () => {
  const name = `rm-blk${tag}`;
  created.push(name);
  expect((await lab.run(['instance', 'create', '--name', name, '--no-wait'])).code).toBe(0);
  const taskId = (await tasksOf(name))[0]!.task_id;
  let refused: Awaited<ReturnType<TestLab['run']>> | null = null;
  let asked = false;
  const runner = await rdsctl(['task', 'resume', String(taskId)], (line, kill) => {
    if (!asked && /^\[ ?5\/81\]/.test(line)) {
      asked = true;
      void lab.run(['instance', 'delete', name, '--yes']).then((r) => {
        refused = r;
        kill();
      });
    }
  });
  expect(runner.signal).toBe('SIGKILL');
  const r = refused as unknown as Awaited<ReturnType<TestLab['run']>>;
  expect(r.code).toBe(9);
  expect(r.stderr).toMatch(new RegExp(`^rdsctl: instance ${name} has task ${taskId} \\(install\\) running on .+; cancel it before the delete`, 'm'));
  expect(r.stderr).toMatch(new RegExp(`rdsctl task cancel ${taskId} --reason`));
  expect(r.stderr).not.toMatch(/instance \d+:/);
  // Its runner is dead now (provably, on this host): the delete goes ahead at once.
  const d = await lab.run(['instance', 'delete', name, '--yes', '--reason', 'runner gone']);
  expect({ code: d.code, stderr: d.code === 0 ? '' : d.stderr }).toEqual({ code: 0, stderr: '' });
});

test('a delete killed with SIGKILL mid-flow resumes and leaves nothing behind', async () => {
  const name = `rm-del${tag}`;
  created.push(name);
  expect((await lab.run(['instance', 'create', '--name', name])).code).toBe(0);
  const before = await healthy(name);
  let killedAfter = '';
  const first = await rdsctl(['instance', 'delete', name, '--yes', '--reason', 'kill test'], (line, kill) => {
    if (!killedAfter && /^\[2\/6\]/.test(line)) {
      killedAfter = line;
      kill();
    }
  });
  expect(first.signal).toBe('SIGKILL');
  expect(killedAfter).toMatch(/do_stop_instance/);
  const mid = await tasksOf(name);
  expect(mid[0]).toMatchObject({ flow: 'delete', status: 'running' });
  expect(json<InstanceView>(await lab.run(['instance', 'show', name, '-o', 'json'])).instance.status).toBe('deleting');
  // The same command resumes the delete task (its dead runner's lease is taken over at once).
  const second = await lab.run(['instance', 'delete', name, '--yes', '--reason', 'kill test, again']);
  expect({ code: second.code, stderr: second.code === 0 ? '' : second.stderr }).toEqual({ code: 0, stderr: '' });
  expect(second.stderr).toMatch(/resuming delete task/);
  expect(second.stderr).not.toMatch(/^\[[12]\/6\]/m);
  expect(await leftovers(before)).toBe('');
  const after = json<InstanceView>(await lab.run(['instance', 'show', name, '-o', 'json']));
  expect(after.instance.status).toBe('deleted');
  expect(after.hosts.every((h) => h.status === 'deleted')).toBe(true);
  expect((await tasksOf(name)).filter((t) => t.flow === 'delete').map((t) => t.status)).toEqual(['done']);
  expect((await lab.run(['instance', 'delete', name, '--yes'])).code).toBe(3);
});

test('worker takes over a provably dead local runner at once, without waiting for its lease', async () => {
  const name = `rm-wdd${tag}`;
  created.push(name);
  expect((await lab.run(['instance', 'create', '--name', name, '--no-wait'])).code).toBe(0);
  const taskId = (await tasksOf(name))[0]!.task_id;
  // A one-hour lease: only proof of death can let the worker in before it expires.
  const runner = await rdsctl(['task', 'resume', String(taskId), '--lease-ttl', '3600'], (line, kill) => {
    if (/^\[ ?6\/81\]/.test(line)) kill();
  });
  expect(runner.signal).toBe('SIGKILL');
  const held = (await tasksOf(name))[0]!;
  expect(held.status).toBe('running');
  expect(held.lease_owner).not.toBeNull();
  const dry = await lab.run(['worker', '--dry-run']);
  expect(dry.stdout).toMatch(new RegExp(`task ${taskId} .*provably died`));
  const t0 = Date.now();
  const w = await lab.run(['worker', '--once']);
  expect(w.code).toBe(0);
  expect(w.stdout).toMatch(new RegExp(`^task ${taskId} done \\(\\d+ steps\\)$`, 'm'));
  expect(Date.now() - t0).toBeLessThan(600_000);
  await healthy(name);
});

test('a runner with a fresh lease in another PID namespace is never preempted', async () => {
  const name = `rm-ns${tag}`;
  created.push(name);
  expect((await lab.run(['instance', 'create', '--name', name, '--no-wait'])).code).toBe(0);
  const taskId = (await tasksOf(name))[0]!.task_id;
  const tries: Array<Awaited<ReturnType<TestLab['run']>>> = [];
  let owner: string | null = null;
  let probing: Promise<void> | null = null;
  const runner = await rdsctl(
    ['task', 'resume', String(taskId)],
    (line) => {
      if (probing || !/^\[ ?4\/81\]/.test(line)) return;
      probing = (async () => {
        owner = (await tasksOf(name))[0]!.lease_owner;
        tries.push(await lab.run(['worker', '--once']));
        tries.push(await lab.run(['task', 'resume', String(taskId)]));
        tries.push(await lab.run(['instance', 'delete', name, '--yes']));
      })();
    },
    ['unshare', '--pid', '--fork'],
  );
  await probing;
  // Inside its namespace the runner is pid 1: from here that pid proves nothing, so nobody took its lease.
  expect(owner).toMatch(/^[^:]+:1:[0-9a-f]+:/);
  const [worker, resume, del] = tries;
  expect(worker!.code).toBe(0);
  expect(worker!.stdout).not.toMatch(new RegExp(`^task ${taskId} `, 'm'));
  expect(resume!.code).toBe(9);
  expect(resume!.stderr).toMatch(new RegExp(`task ${taskId} is being run by`));
  expect(del!.code).toBe(9);
  expect(runner.code).toBe(0);
  expect(runner.stderr).toMatch(/\[81\/81\]/);
  await healthy(name);
});
