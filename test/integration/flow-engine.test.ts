import { jest } from '@jest/globals';
import type { Context } from '../../src/core/context.js';
import { ConflictError } from '../../src/core/errors.js';
import type { Db } from '../../src/remote/mysql.js';
import { gotoStep, skipStep } from '../../src/flow/control.js';
import { runTask, type StepEvent } from '../../src/flow/engine.js';
import { enqueue } from '../../src/flow/enqueue.js';
import { Lease, LeaseLostError, TaskBusyError, localIdentity, newOwner } from '../../src/flow/lease.js';
import { sqlStore, type MariaDbStore } from '../../src/flow/store-sql.js';
import type { FlowDef, StepDef, TaskStatus } from '../../src/flow/types.js';
import { readyTasks } from '../../src/flow/worker.js';
import { sharedLab } from '../support/lab.js';

// The task engine against the lab's real MariaDB, with a small flow of metadb steps: one winner
// per claim, fencing of a runner that lost its lease, resume from the first unfinished step,
// failure, skip and goto. (The install flow itself is exercised by instance*.test.ts.)

jest.setTimeout(60_000);

interface Ctx {
  calls: string[];
  db: Db;
  lease: Lease;
}

let ctx: Context;
let db: Db;
let store: MariaDbStore;
let close: () => Promise<void>;
const ALL: TaskStatus[] = ['pending', 'running', 'failed', 'paused', 'done'];
// Test tasks hang off custins ids no real instance uses.
let nextCustins = 900_000 + (process.pid % 50_000);

beforeAll(() => {
  const lab = sharedLab();
  const c = lab.context();
  ctx = c.ctx;
  db = ctx.db('dbaas');
  store = sqlStore(db);
  close = () => ctx.close();
});

afterAll(async () => {
  await db.execute('DELETE s FROM task_step s JOIN task_queue q ON q.id = s.task_id WHERE q.custins_id >= 900000');
  await db.execute('DELETE FROM task_queue WHERE custins_id >= 900000');
  await close();
});

function step(name: string, run: (c: Ctx) => Promise<string | void>, o: Partial<StepDef<Ctx, string>> = {}): StepDef<Ctx, string> {
  return { name, role: 'metadb', timeoutSec: 20, effect: 'metadb', run: (c) => run(c), ...o };
}

function flowOf(steps: StepDef<Ctx, string>[], calls: string[]): FlowDef<Ctx, string> {
  return {
    name: 'test',
    version: 1,
    targetKind: 'instance',
    roles: ['metadb'],
    steps,
    load: async (env) => ({ calls, db: env.db, lease: env.lease }),
    nodesOf: () => [],
    hostName: () => '',
    onDone: async (c) => void c.calls.push('onDone'),
    onFail: async (c) => void c.calls.push('onFail'),
  };
}

async function newTask(steps: StepDef<Ctx, string>[]): Promise<number> {
  const custinsId = nextCustins++;
  return db.transaction((tx) => enqueue(sqlStore(tx), flowOf(steps, []), { kind: 'instance', id: String(custinsId) }, {}, { createdBy: 'jest' }));
}

const claim = (taskId: number, ttlSec = 30, allow = ALL): Promise<Lease> => Lease.claim(store, taskId, { owner: newOwner(), ttlSec, allow, clock: ctx.clock });
const getTask = (_db: Db, id: number) => store.getTask(id);
const loadSteps = (_db: Db, id: number) => store.loadSteps(id);
const env = async (id: number) => ({ ctx, db, store, task: await store.getTask(id), lease: await claim(id) });

test('of five concurrent claims exactly one wins; the others get a conflict naming the holder', async () => {
  const steps = [step('s1', async () => undefined)];
  const id = await newTask(steps);
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => claim(id)));
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(4);
  for (const l of lost) {
    expect(l.reason).toBeInstanceOf(TaskBusyError);
    expect(l.reason).toBeInstanceOf(ConflictError);
    expect((l.reason as Error).message).toMatch(new RegExp(`task ${id} is being run by ${localIdentity().host}:${process.pid}:`));
  }
  await (won[0] as PromiseFulfilledResult<Lease>).value.release();
});

test('a runner whose lease expired and was taken over stops before its next write', async () => {
  const steps = [step('s1', async () => undefined)];
  const id = await newTask(steps);
  const a = await claim(id, 1);
  await new Promise((r) => setTimeout(r, 1300));
  const b = await claim(id, 30);
  expect(b.token).toBe(a.token + 1);
  await expect(a.apply({ steps: [{ seqs: [1], change: { status: 'pending', detail: 'from A' } }] })).rejects.toBeInstanceOf(LeaseLostError);
  await expect(a.tx(async (tx) => tx.execute('UPDATE task_queue SET error = ? WHERE id = ?', ['from A', id]))).rejects.toBeInstanceOf(LeaseLostError);
  await b.apply({ steps: [{ seqs: [1], change: { status: 'pending', detail: 'from B', result: { pos: 4 } } }] });
  expect((await loadSteps(db, id))[0]!.result).toEqual({ pos: 4 });
  expect((await loadSteps(db, id))[0]!.detail).toBe('from B');
  expect((await getTask(db, id)).error).toBeNull();
  await b.release();
});

test('a lease held by a process of this host that provably no longer exists is taken over at once; others are not', async () => {
  const id = await newTask([step('s1', async () => undefined)]);
  const dead = newOwner({ ...localIdentity(), pid: 999999999 });
  await db.execute('UPDATE task_queue SET lease_owner = ?, lease_expires_at = NOW(3) + INTERVAL 1 HOUR, fencing_token = 41 WHERE id = ?', [dead, id]);
  expect((await readyTasks(store, 100000)).map((t) => t.id)).toContain(id);
  const l = await claim(id);
  expect(l.token).toBe(42);
  await l.release();
  // Same hostname, pid gone, but an owner that does not prove it (older format, or another PID namespace).
  for (const owner of [`${localIdentity().host}:999999999:abcdef`, newOwner({ ...localIdentity(), pid: 999999999, pidNs: '1' })]) {
    await db.execute('UPDATE task_queue SET lease_owner = ?, lease_expires_at = NOW(3) + INTERVAL 1 HOUR WHERE id = ?', [owner, id]);
    await expect(claim(id)).rejects.toThrow(new RegExp(`is being run by ${owner}`));
    expect((await readyTasks(store, 100000)).map((t) => t.id)).not.toContain(id);
  }
});

test('a failed step fails the task and stops the flow; resume reruns only from there', async () => {
  const calls: string[] = [];
  let broken = true;
  const steps = [
    step('s1', async (c) => void c.calls.push('s1')),
    step('s2', async (c) => {
      c.calls.push('s2');
      await c.lease.tx((tx) => tx.execute('UPDATE task_queue SET current_step = current_step WHERE id = ?', [c.lease.taskId]));
    }),
    step('s3', async (c) => {
      c.calls.push('s3');
      if (broken) throw new ConflictError('disk full on the NC');
      return 'fixed';
    }),
    step('s4', async (c) => void c.calls.push('s4'), { skip: () => 'not for this task', skipRule: 'never' }),
    step('s5', async (c) => void c.calls.push('s5')),
  ];
  const flow = flowOf(steps, calls);
  const id = await newTask(steps);
  const events: StepEvent[] = [];
  const r1 = await runTask(flow, await env(id), { kind: 'resume' }, { step: (e) => events.push(e) });
  expect(r1.status).toBe('failed');
  expect(r1.failed).toMatchObject({ seq: 3, name: 's3', error: 'disk full on the NC', exitCode: 9 });
  expect((await getTask(db, id)).current_step).toBe('3 s3');
  expect(calls).toEqual(['s1', 's2', 's3', 'onFail']);
  let t = await getTask(db, id);
  expect(t.status).toBe('failed');
  expect(t.error).toBe('step 3 s3: disk full on the NC');
  expect(t.lease_owner).toBeNull();
  expect((await loadSteps(db, id)).map((s) => s.status)).toEqual(['done', 'done', 'failed', 'pending', 'pending']);
  expect(events.map((e) => `${e.seq}:${e.status}`)).toEqual(['1:done', '2:done', '3:failed']);

  broken = false;
  calls.length = 0;
  const r2 = await runTask(flow, await env(id), { kind: 'resume' });
  expect(r2).toEqual({ status: 'done', ran: 3 });
  expect(calls).toEqual(['s3', 's5', 'onDone']);
  const st = await loadSteps(db, id);
  expect(st.map((s) => [s.status, s.attempts])).toEqual([['done', 1], ['done', 1], ['done', 2], ['skipped', 0], ['done', 1]]);
  expect(st[3]!.skip_reason).toBe('not for this task');
  expect(st[2]!.detail).toBe('fixed');
  t = await getTask(db, id);
  expect([t.status, t.error, t.lease_owner]).toEqual(['done', null, null]);
});

test('a step that outlives its lease: its result is not written and the run stops', async () => {
  const calls: string[] = [];
  let stolen = false;
  const steps = [
    step('s1', async (c) => {
      c.calls.push('s1');
      // Another runner takes the task over while this step works.
      await db.execute('UPDATE task_queue SET lease_owner = ?, fencing_token = fencing_token + 1 WHERE id = ?', ['thief:1:abc', c.lease.taskId]);
      stolen = true;
    }),
    step('s2', async (c) => void c.calls.push('s2')),
  ];
  const id = await newTask(steps);
  await expect(runTask(flowOf(steps, calls), await env(id), { kind: 'resume' })).rejects.toBeInstanceOf(LeaseLostError);
  expect(stolen).toBe(true);
  expect(calls).toEqual(['s1']);
  const st = await loadSteps(db, id);
  expect(st.map((s) => s.status)).toEqual(['running', 'pending']);
  expect((await getTask(db, id)).lease_owner).toBe('thief:1:abc');
});

test('a step over its timeout fails with the timeout, and the flow stops', async () => {
  const steps = [step('slow', () => new Promise((r) => setTimeout(r, 5000)), { timeoutSec: 1 }), step('after', async () => undefined)];
  const id = await newTask(steps);
  const r = await runTask(flowOf(steps, []), await env(id), { kind: 'resume' });
  expect(r.failed).toMatchObject({ name: 'slow', error: 'slow timed out after 1s' });
  expect((await loadSteps(db, id)).map((s) => s.status)).toEqual(['failed', 'pending']);
});

test('run one step, skip, goto back and forward: the task is paused, workers leave it alone, resume finishes', async () => {
  const calls: string[] = [];
  const probes: string[] = [];
  const steps = ['a', 'b', 'c', 'd', 'e'].map((n) =>
    step(n, async (c) => void c.calls.push(n), { effect: 'remote', probe: async () => (probes.push(n), n === 'b') }),
  );
  const flow = flowOf(steps, calls);
  const id = await newTask(steps);
  expect((await store.claimable(100000)).map((t) => t.id)).toContain(id);

  let r = await runTask(flow, await env(id), { kind: 'next' });
  expect(r).toEqual({ status: 'paused', ran: 1 });
  expect((await store.claimable(100000)).map((t) => t.id)).not.toContain(id);

  let l = await claim(id);
  await skipStep(l, 3, 'skipped by jest: known bad');
  await l.release();
  r = await runTask(flow, await env(id), { kind: 'resume' });
  expect(r.status).toBe('done');
  expect(calls).toEqual(['a', 'b', 'd', 'e', 'onDone']);
  expect(probes).toEqual([]);

  // Back to b: b..e pending again. Re-runs probe first (b says "already done").
  l = await claim(id);
  const g = await gotoStep(l, await loadSteps(db, id), 2, 'goto 2 by jest');
  await l.release();
  expect(g).toEqual({ direction: 'back', changed: [2, 3, 4, 5] });
  expect((await getTask(db, id)).status).toBe('paused');
  calls.length = 0;
  r = await runTask(flow, await env(id), { kind: 'resume' });
  expect(r).toEqual({ status: 'done', ran: 4 });
  expect(probes).toEqual(['b', 'd', 'e']);
  expect(calls).toEqual(['c', 'd', 'e', 'onDone']);
  const st = await loadSteps(db, id);
  expect(st.map((s) => s.detail)).toEqual([null, 'already done (probe)', null, null, null]);

  // Forward from 2 to 5: the unfinished 2..4 are skipped with the reason.
  l = await claim(id);
  await gotoStep(l, st, 2, 'goto 2 by jest');
  const f = await gotoStep(l, await loadSteps(db, id), 5, 'goto 5 by jest');
  await l.release();
  expect(f).toEqual({ direction: 'forward', changed: [2, 3, 4] });
  expect((await loadSteps(db, id)).map((s) => `${s.status}:${s.skip_reason ?? ''}`)).toEqual(['done:', 'skipped:goto 5 by jest', 'skipped:goto 5 by jest', 'skipped:goto 5 by jest', 'pending:']);
});
