import type { Context } from '../../src/core/context.js';
import { ConflictError, ExitCode, RemoteError } from '../../src/core/errors.js';
import type { FlowBase } from '../../src/flow/base.js';
import { gotoStep, skipStep, stepViews } from '../../src/flow/control.js';
import { cancelUnderLease, runTask, StepTimeoutError, type RunMode, type RunResult, type StepEvent } from '../../src/flow/engine.js';
import { enqueue } from '../../src/flow/enqueue.js';
import { Lease, LeaseLostError, TaskBusyError, newOwner } from '../../src/flow/lease.js';
import { FlowRegistry, UnknownFlowError, type AnyFlow } from '../../src/flow/registry.js';
import { CLAIMABLE, tryClaimAndRun } from '../../src/flow/runner.js';
import { MemoryStore, refusingDb } from '../../src/flow/store-memory.js';
import type { TaskStore } from '../../src/flow/store.js';
import type { FlowDef, StepDef, TaskStatus } from '../../src/flow/types.js';
import { readyTasks } from '../../src/flow/worker.js';
import { ManualClock, settle } from '../support/clock.js';

// The engine's rules on the in-memory store, with a clock that moves only when the test says:
// ordering, groups, lease loss, fencing, resume after a crash at every boundary, retry, skip,
// goto, cancel, flow versions, unknown flows, step results, timeouts. No database, no sleeping.

interface TCtx {
  base: FlowBase;
  log: string[];
}
type TStep = StepDef<TCtx, string>;

const ALL: TaskStatus[] = ['pending', 'running', 'failed', 'paused', 'done'];
const TARGET = { kind: 'thing', id: 't-1' };

let clock: ManualClock;
let store: MemoryStore;
let log: string[];
/** Effects on "the outside world": what a crash does not undo. */
let world: string[];

beforeEach(() => {
  clock = new ManualClock();
  store = new MemoryStore(clock);
  log = [];
  world = [];
});

/** A context that has a clock and a signal and fails on anything else the engine might reach for. */
function strictCtx(signal: AbortSignal = new AbortController().signal): Context {
  const known: Record<string, unknown> = { clock, signal, osUser: 'jest' };
  return new Proxy({} as Context, {
    get(_t, p) {
      if (typeof p === 'string' && p in known) return known[p];
      if (p === 'then') return undefined;
      throw new Error(`test context: unexpected use of ctx.${String(p)}`);
    },
  });
}

function step(name: string, o: Partial<TStep> = {}): TStep {
  return {
    name,
    role: 'any',
    timeoutSec: 60,
    effect: 'metadb',
    run: async (c) => {
      c.log.push(name);
      world.push(name);
    },
    ...o,
  };
}

/** A remote-style step: its effect lands in the world once; a re-run probes and finds it. */
function remoteStep(name: string, o: Partial<TStep> = {}): TStep {
  return step(name, { effect: 'remote', role: 'a', probe: async () => world.includes(name), ...o });
}

function testFlow(steps: TStep[], o: Partial<FlowDef<TCtx, string>> = {}): FlowDef<TCtx, string> {
  return {
    name: 'test',
    version: 1,
    targetKind: 'thing',
    roles: ['any', 'a', 'b'],
    steps,
    load: async (env) => ({ base: env.base, log }),
    nodesOf: (_c, role) => (role === 'a' ? ['host-a'] : role === 'b' ? ['host-b'] : []),
    hostName: (n) => n,
    onRun: async () => void log.push('onRun'),
    onDone: async () => void log.push('onDone'),
    onFail: async (_c, _tx, error) => void log.push(`onFail: ${error}`),
    onCancel: async () => void log.push('onCancel'),
    ...o,
  };
}

async function newTask(flow: AnyFlow, s: TaskStore = store): Promise<number> {
  return enqueue(s, flow, TARGET, { size: 1 }, { createdBy: 'jest' });
}

async function run(flow: AnyFlow, taskId: number, o: { mode?: RunMode; allow?: TaskStatus[]; ttlSec?: number; owner?: string; s?: TaskStore; events?: StepEvent[]; signal?: AbortSignal } = {}): Promise<RunResult> {
  const s = o.s ?? store;
  const lease = await Lease.claim(s, taskId, { owner: o.owner ?? newOwner(), ttlSec: o.ttlSec ?? 30, allow: o.allow ?? ALL, clock });
  const task = await s.getTask(taskId);
  return runTask(flow, { ctx: strictCtx(o.signal), db: refusingDb(), store: s, task, lease }, o.mode ?? { kind: 'resume' }, { step: (e) => o.events?.push(e) });
}

async function statuses(taskId: number): Promise<string[]> {
  return (await store.loadSteps(taskId)).map((r) => r.status);
}

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

test('steps run in flow order, each persisted, hooks around them; progress names each step', async () => {
  const flow = testFlow([step('s1'), remoteStep('s2'), step('s3', { role: 'b' })]);
  const id = await newTask(flow);
  const events: StepEvent[] = [];
  const r = await run(flow, id, { events });
  expect(r).toEqual({ status: 'done', ran: 3 });
  expect(log).toEqual(['onRun', 's1', 's2', 's3', 'onDone']);
  expect(await statuses(id)).toEqual(['done', 'done', 'done']);
  expect(events.map((e) => `${e.seq}/${e.total} ${e.name} ${e.host ?? '-'} ${e.status}`)).toEqual(['1/3 s1 - done', '2/3 s2 host-a done', '3/3 s3 host-b done']);
  const t = await store.getTask(id);
  expect(t).toMatchObject({ status: 'done', target_kind: 'thing', target_id: 't-1', flow: 'test', flow_version: 1, lease_owner: null, current_step: null, error: null });
  expect((await store.loadSteps(id)).map((s) => s.attempts)).toEqual([1, 1, 1]);
});

test('a group runs together; the entry after it waits for the whole group', async () => {
  const g = gate();
  const started: string[] = [];
  const member = (name: string, role: string): TStep =>
    step(name, {
      role,
      group: 'pair',
      run: async () => {
        started.push(name);
        await g.wait;
      },
    });
  const flow = testFlow([step('s1'), member('g_master', 'a'), member('g_slave', 'b'), step('s4', { run: async () => void started.push('s4') })]);
  const id = await newTask(flow);
  const done = run(flow, id);
  await settle(20);
  expect(started).toEqual(['g_master', 'g_slave']);
  expect(await statuses(id)).toEqual(['done', 'running', 'running', 'pending']);
  g.open();
  expect((await done).status).toBe('done');
  expect(started).toEqual(['g_master', 'g_slave', 's4']);
});

test('of a group that fails twice, the task is named after its first failed step everywhere', async () => {
  const fail = (name: string, role: string, ms: number): TStep =>
    step(name, {
      role,
      group: 'pair',
      run: async (c) => {
        await c.base.clock.sleep(ms);
        throw new RemoteError(`${name} broke`, { host: role === 'a' ? 'host-a' : 'host-b' });
      },
    });
  // The later step of the group fails first in time: the name must still be the first by order.
  const flow = testFlow([fail('g1', 'a', 2000), fail('g2', 'b', 1000), step('s3')]);
  const id = await newTask(flow);
  const p = run(flow, id);
  await clock.advance(3000);
  const r = await p;
  expect(r.failed).toMatchObject({ seq: 1, name: 'g1', host: 'host-a', exitCode: ExitCode.REMOTE });
  const t = await store.getTask(id);
  expect(t.error).toBe('step 1 g1 on host-a: g1 broke');
  expect(t.current_step).toBe('1 g1');
  expect((await store.listTasks({ limit: 5 }))[0]!.failed_step).toBe('1 g1');
  expect(log).toContain('onFail: step 1 g1 on host-a: g1 broke');
});

test('a lost lease aborts the running step, writes nothing more, and leaves the step to the next runner', async () => {
  const flow = testFlow([
    step('s1'),
    step('s2', {
      run: async (c, _n, s) => {
        await c.base.clock.sleep(100_000, s.signal);
        world.push('s2');
      },
    }),
    step('s3'),
  ]);
  const id = await newTask(flow);
  const p = run(flow, id, { ttlSec: 30 }).catch((e: unknown) => e);
  await settle(20);
  // Another runner took the task (say this one was paused past its TTL): the next renewal fails.
  const t = await store.getTask(id);
  store.poke(id, { lease_owner: 'other:1:abcdef', fencing_token: t.fencing_token + 1 });
  await clock.advance(11_000);
  expect(await p).toBeInstanceOf(LeaseLostError);
  expect(world).toEqual(['s1']);
  expect(await statuses(id)).toEqual(['done', 'running', 'pending']);
  expect((await store.getTask(id)).lease_owner).toBe('other:1:abcdef');
});

test('fencing: a runner whose lease expired and was taken over changes nothing; the new holder does', async () => {
  const flow = testFlow([step('s1')]);
  const id = await newTask(flow);
  const a = await Lease.claim(store, id, { owner: 'a:1:aaaaaa', ttlSec: 10, allow: ALL, clock });
  await expect(Lease.claim(store, id, { owner: 'b:2:bbbbbb', ttlSec: 10, allow: ALL, clock })).rejects.toBeInstanceOf(TaskBusyError);
  await clock.advance(10_001);
  const b = await Lease.claim(store, id, { owner: 'b:2:bbbbbb', ttlSec: 10, allow: ALL, clock });
  expect(b.token).toBe(a.token + 1);
  await expect(a.apply({ task: { error: 'from A' } })).rejects.toBeInstanceOf(LeaseLostError);
  await expect(a.tx(async () => 'from A')).rejects.toBeInstanceOf(LeaseLostError);
  await b.apply({ task: { error: 'from B' } });
  expect((await store.getTask(id)).error).toBe('from B');
  // The local clock alone stops a runner that could not renew for its TTL, before any write.
  await clock.advance(9_500);
  expect(() => b.assertHeld()).toThrow(LeaseLostError);
});

test('of several claims at once exactly one wins; the losers learn who holds it (a typed result)', async () => {
  const id = await newTask(testFlow([step('s1')]));
  const outcomes = await Promise.all(Array.from({ length: 5 }, (_, i) => Lease.tryClaim(store, id, { owner: `w:${i}:00000${i}`, ttlSec: 30, allow: ALL, clock })));
  expect(outcomes.filter((o) => 'lease' in o)).toHaveLength(1);
  const busy = outcomes.filter((o): o is { busy: TaskBusyError } => 'busy' in o);
  expect(busy).toHaveLength(4);
  expect(busy[0]!.busy.holder).toMatch(/^w:\d:/);
});

test('a provably dead holder is taken over at once; a live one in another namespace never is', async () => {
  const id = await newTask(testFlow([step('s1')]));
  await Lease.claim(store, id, { owner: 'dead:1:dddddd', ttlSec: 300, allow: ALL, clock });
  const live = await Lease.claim(store, id, { owner: 'new:2:eeeeee', ttlSec: 30, allow: ALL, clock, isDead: (o) => o === 'dead:1:dddddd' });
  expect(live.owner).toBe('new:2:eeeeee');
  const r = await Lease.tryClaim(store, id, { owner: 'third:3:ffffff', ttlSec: 30, allow: ALL, clock, isDead: () => false });
  expect('busy' in r).toBe(true);
  // The worker's view: a free task and a dead holder's task are ready, a live holder's is not.
  const other = await newTask(testFlow([step('s1')]));
  await Lease.claim(store, other, { owner: 'dead:1:dddddd', ttlSec: 300, allow: ALL, clock });
  const third = await newTask(testFlow([step('s1')]));
  const ready = await readyTasks(store, 10, (o) => o === 'dead:1:dddddd');
  expect(ready.map((t) => t.id)).toEqual([other, third]);
});

test('a crash at every step boundary, then resume: the task finishes and every effect happened once', async () => {
  const steps = () => [remoteStep('r1'), step('m2', { run: async (c) => void c.log.push('m2') }), remoteStep('r3'), remoteStep('r4', { role: 'b' })];
  // Count the persistence points of a clean run: the crash is injected before each of them.
  const counting = countingStore(new MemoryStore(clock), Infinity);
  const flow0 = testFlow(steps());
  await run(flow0, await newTask(flow0, counting.store), { s: counting.store });
  const points = counting.calls();
  expect(points).toBe(1 + 4 * 2 + 1);
  for (let n = 0; n <= points; n++) {
    world = [];
    log = [];
    const mem = new MemoryStore(clock);
    const crashing = countingStore(mem, n);
    const flow = testFlow(steps());
    const id = await newTask(flow, mem);
    const owner = newOwner();
    const first = await run(flow, id, { s: crashing.store, owner }).then(
      (r) => r,
      (e: Error) => e,
    );
    if (n < points) expect(first).toBeInstanceOf(Error);
    const after = await mem.getTask(id);
    if (n < points) {
      // The crashed runner never released its lease: the next one takes it over (provably dead, or expired).
      if (n % 2 === 0) await clock.advance(31_000);
      const lease = await Lease.claim(mem, id, { owner: newOwner(), ttlSec: 30, allow: ALL, clock, isDead: (o) => o === owner });
      const r = await runTask(flow, { ctx: strictCtx(), db: refusingDb(), store: mem, task: after, lease }, { kind: 'resume' });
      expect(r.status).toBe('done');
    }
    expect((await mem.loadSteps(id)).map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
    expect((await mem.getTask(id)).status).toBe('done');
    expect(world).toEqual(['r1', 'r3', 'r4']);
  }
});

test('retry: a failed step fails the task (its own exit code); retry runs it again and continues', async () => {
  let fails = 1;
  const flow = testFlow([
    step('s1'),
    remoteStep('s2', {
      run: async () => {
        if (fails-- > 0) throw new RemoteError('host-a: disk full', { host: 'host-a' });
        world.push('s2');
      },
    }),
    step('s3'),
  ]);
  const id = await newTask(flow);
  const r = await run(flow, id);
  expect(r.status).toBe('failed');
  expect(r.failed).toEqual({ seq: 2, name: 's2', host: 'host-a', error: 'host-a: disk full', exitCode: ExitCode.REMOTE });
  expect(await statuses(id)).toEqual(['done', 'failed', 'pending']);
  const r2 = await run(flow, id, { allow: CLAIMABLE.retry });
  expect(r2).toEqual({ status: 'done', ran: 2 });
  expect((await store.loadSteps(id))[1]!.attempts).toBe(2);
});

test('a program error in a step stays exit 1; it is not turned into a remote failure', async () => {
  const flow = testFlow([
    step('s1', {
      run: async () => {
        throw new TypeError('cannot read x of undefined');
      },
    }),
  ]);
  const r = await run(flow, await newTask(flow));
  expect(r.failed).toMatchObject({ exitCode: ExitCode.GENERAL, error: 'cannot read x of undefined' });
});

test('a step past its timeout fails with the timeout (measured on the clock, no sleeping)', async () => {
  const flow = testFlow([
    step('slow', {
      role: 'a',
      timeoutSec: 5,
      run: async (c, _n, s) => {
        await c.base.clock.sleep(3_600_000, s.signal);
      },
    }),
  ]);
  const id = await newTask(flow);
  const p = run(flow, id);
  await settle(20);
  await clock.advance(5_000);
  const r = await p;
  expect(r.failed).toMatchObject({ name: 'slow', error: 'slow timed out after 5s', exitCode: ExitCode.REMOTE });
  expect(new StepTimeoutError('x', 1, null)).toBeInstanceOf(RemoteError);
});

test('a step transaction chosen as a deadlock victim runs again; other errors and a fourth deadlock do not', async () => {
  const id = await newTask(testFlow([step('s1')]));
  const lease = await Lease.claim(store, id, { owner: newOwner(), ttlSec: 30, allow: ALL, clock });
  const deadlock = (): Error => new ConflictError('metadb dbaas: ER_LOCK_DEADLOCK (another operation holds the rows; retry)', { cause: Object.assign(new Error('Deadlock found when trying to get lock'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 }) });
  let calls = 0;
  await expect(lease.tx(async () => (++calls < 3 ? Promise.reject(deadlock()) : 'written'))).resolves.toBe('written');
  expect(calls).toBe(3);
  calls = 0;
  await expect(lease.tx(async () => (++calls, Promise.reject(deadlock())))).rejects.toThrow(/ER_LOCK_DEADLOCK/);
  expect(calls).toBe(4);
  calls = 0;
  await expect(lease.tx(async () => (++calls, Promise.reject(new ConflictError('metadb dbaas: ER_LOCK_WAIT_TIMEOUT'))))).rejects.toThrow(/LOCK_WAIT/);
  expect(calls).toBe(1);
  await lease.release();
});

test('skip: a skipped step does not run; the task is paused until resume', async () => {
  const flow = testFlow([step('s1'), step('s2'), step('s3')]);
  const id = await newTask(flow);
  const lease = await Lease.claim(store, id, { owner: newOwner(), ttlSec: 30, allow: ALL, clock });
  await skipStep(lease, 2, 'skipped by bob: not needed');
  await lease.release();
  expect((await store.getTask(id)).status).toBe('paused');
  expect((await run(flow, id)).status).toBe('done');
  expect(world).toEqual(['s1', 's3']);
  expect((await store.loadSteps(id))[1]).toMatchObject({ status: 'skipped', skip_reason: 'skipped by bob: not needed' });
});

test('goto back resets the step and all after it (results forgotten); goto forward skips the unfinished steps before it', async () => {
  const flow = testFlow([
    step('s1', { run: async () => ({ detail: 'pos 42', result: { file: 'binlog.000003', pos: 42 } }) }),
    step('s2', {
      run: async (c) => {
        const r = c.base.result<{ pos: number }>('s1');
        world.push(`s2 read ${r?.pos}`);
        return `read ${r?.pos}`;
      },
    }),
    step('s3'),
    step('s4'),
  ]);
  const id = await newTask(flow);
  expect((await run(flow, id)).status).toBe('done');
  expect(world).toEqual(['s2 read 42', 's3', 's4']);
  expect((await store.loadSteps(id))[0]!.result).toEqual({ file: 'binlog.000003', pos: 42 });

  let lease = await Lease.claim(store, id, { owner: newOwner(), ttlSec: 30, allow: ALL, clock });
  const back = await gotoStep(lease, await store.loadSteps(id), 2, 'goto 2 by bob');
  await lease.release();
  expect(back).toEqual({ direction: 'back', changed: [2, 3, 4] });
  expect(await statuses(id)).toEqual(['done', 'pending', 'pending', 'pending']);
  expect((await store.getTask(id)).status).toBe('paused');
  world = [];
  expect((await run(flow, id)).status).toBe('done');
  expect(world).toEqual(['s2 read 42', 's3', 's4']);

  // Back to 1: s1's result is forgotten and recorded anew.
  lease = await Lease.claim(store, id, { owner: newOwner(), ttlSec: 30, allow: ALL, clock });
  await gotoStep(lease, await store.loadSteps(id), 1, 'goto 1');
  await lease.release();
  expect((await store.loadSteps(id))[0]!.result).toBeNull();

  // Forward from 1 to 3 on the reset task: 1 and 2 skipped with the reason, then 3.. run.
  lease = await Lease.claim(store, id, { owner: newOwner(), ttlSec: 30, allow: ALL, clock });
  const fwd = await gotoStep(lease, await store.loadSteps(id), 3, 'goto 3 by bob');
  await lease.release();
  expect(fwd).toEqual({ direction: 'forward', changed: [1, 2] });
  world = [];
  expect((await run(flow, id)).status).toBe('done');
  expect(world).toEqual(['s3', 's4']);
  expect((await store.loadSteps(id)).map((s) => s.skip_reason)).toEqual(['goto 3 by bob', 'goto 3 by bob', null, null]);
});

test('run one step, or one named step: the task is paused after it', async () => {
  const flow = testFlow([step('s1'), step('s2'), step('s3')]);
  const id = await newTask(flow);
  expect(await run(flow, id, { mode: { kind: 'next' } })).toEqual({ status: 'paused', ran: 1 });
  expect(await run(flow, id, { mode: { kind: 'only', seq: 3 } })).toEqual({ status: 'paused', ran: 1 });
  expect(world).toEqual(['s1', 's3']);
  expect(await run(flow, id)).toEqual({ status: 'done', ran: 1 });
});

test('cancel: the runner notices the request through the store at the next step boundary and stops there', async () => {
  const g = gate();
  const flow = testFlow([
    step('s1'),
    step('s2', {
      run: async () => {
        await g.wait;
        world.push('s2');
      },
    }),
    step('s3'),
  ]);
  const id = await newTask(flow);
  const p = run(flow, id);
  await settle(20);
  await store.requestCancel(id, 'alice: wrong class');
  expect(await statuses(id)).toEqual(['done', 'running', 'pending']);
  g.open();
  const r = await p;
  expect(r).toEqual({ status: 'cancelled', ran: 2, cancelledBy: 'alice: wrong class' });
  expect(world).toEqual(['s1', 's2']);
  expect(await statuses(id)).toEqual(['done', 'done', 'pending']);
  expect(await store.getTask(id)).toMatchObject({ status: 'cancelled', error: 'cancelled by alice: wrong class', cancel_requested: null, lease_owner: null });
  expect(log).toContain('onCancel');
  // A cancelled task is not claimable by workers or resume.
  expect(await readyTasks(store, 10)).toEqual([]);
  await expect(Lease.claim(store, id, { owner: newOwner(), ttlSec: 30, allow: CLAIMABLE.resume, clock })).rejects.toThrow(/is cancelled; this needs it/);
});

test('cancel of a task no runner holds: marked cancelled at once under a lease', async () => {
  const flow = testFlow([step('s1'), step('s2')]);
  const id = await newTask(flow);
  const lease = await Lease.claim(store, id, { owner: newOwner(), ttlSec: 30, allow: CLAIMABLE.control, clock });
  await cancelUnderLease(lease, flow, await store.getTask(id), 'bob: duplicate');
  await lease.release();
  expect(await store.getTask(id)).toMatchObject({ status: 'cancelled', error: 'cancelled by bob: duplicate' });
  expect(await statuses(id)).toEqual(['pending', 'pending']);
});

test('a task of an older flow version finishes with its own step list under a newer binary', async () => {
  const v1 = [step('a'), step('b'), step('c_old')];
  const old = testFlow(v1);
  const id = await newTask(old);
  // The old binary ran one step, then was upgraded.
  expect((await run(old, id, { mode: { kind: 'next' } })).status).toBe('paused');
  const v2 = testFlow([step('a'), step('b'), step('c_new'), step('d_new')], { version: 2, previous: { 1: v1 } });
  const registry = new FlowRegistry([v2]);
  const task = await store.getTask(id);
  expect(task.flow_version).toBe(1);
  const flow = registry.forTask(task);
  expect(flow.steps.map((s: TStep) => s.name)).toEqual(['a', 'b', 'c_old']);
  expect((await run(flow, id)).status).toBe('done');
  expect(world).toEqual(['a', 'b', 'c_old']);
  // New tasks get the new version.
  const id2 = await newTask(registry.get('test')!);
  expect((await store.getTask(id2)).flow_version).toBe(2);
  expect((await store.loadSteps(id2)).map((s) => s.step_name)).toEqual(['a', 'b', 'c_new', 'd_new']);
  // Once the old list is dropped, a leftover v1 task is refused with the versions it knows.
  const v3 = new FlowRegistry([testFlow([step('a')], { version: 3 })]);
  expect(() => v3.forTask(task)).toThrow(/flow test version 1 is not known to this rdsctl \(it runs version 3\)/);
});

test('a task of an unknown flow is listed and shown, but refused to run before its lease is touched', async () => {
  const mystery = testFlow([step('x1'), step('x2', { role: 'b' })], { name: 'mystery' });
  const id = await newTask(mystery);
  const registry = new FlowRegistry([testFlow([step('s1')])]);
  const task = await store.getTask(id);
  const r = registry.resolve(task);
  expect(r).toEqual({ unknown: 'flow "mystery" is not known to this rdsctl (known: test)' });
  let err: unknown;
  try {
    registry.forTask(task);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UnknownFlowError);
  expect((err as UnknownFlowError).exitCode).toBe(ExitCode.CONFLICT);
  // Viewing works: list and the step view without a flow definition.
  expect((await store.listTasks({ limit: 10 }))[0]).toMatchObject({ id, flow: 'mystery', steps_total: 2 });
  expect(stepViews(null, await store.loadSteps(id)).map((v) => `${v.seq} ${v.step}:${v.role} ${v.status}`)).toEqual(['1 x1:any pending', '2 x2:b pending']);
  const ctx = strictCtx();
  await expect(tryClaimAndRun(ctx, id, { allow: ALL, mode: { kind: 'resume' }, ttlSec: 30, store, registry })).rejects.toBeInstanceOf(UnknownFlowError);
  expect((await store.getTask(id)).fencing_token).toBe(0);
});

test('a task whose rows do not match its version is refused, not guessed at', async () => {
  const flow = testFlow([step('s1'), step('s2')]);
  const id = await newTask(testFlow([step('s1'), step('other')]));
  await expect(run(flow, id)).rejects.toThrow(/its 2 steps do not match flow test version 1/);
});

test('registration refuses flows the engine cannot run safely', () => {
  expect(() => new FlowRegistry([testFlow([step('s1'), step('s1')])])).toThrow(/listed twice/);
  expect(() => new FlowRegistry([testFlow([step('s1', { role: 'nope' })])])).toThrow(/role the flow does not declare/);
  expect(() => new FlowRegistry([testFlow([step('s1')], { version: 2, previous: { 2: [step('s1')] } })])).toThrow(/older version/);
  expect(() => new FlowRegistry([testFlow([step('s1')]), testFlow([step('s1')])])).toThrow(/registered twice/);
});

test('the flows this rdsctl ships all pass registration', async () => {
  const { flows } = await import('../../src/flow/flows.js');
  expect(flows.names()).toEqual(expect.arrayContaining(['install', 'delete']));
  for (const name of flows.names()) expect(flows.get(name)!.steps.length).toBeGreaterThan(0);
});

test('enqueue validates parameters first and records target, version and every step', async () => {
  const flow = testFlow([step('s1'), step('s2', { role: 'a' })], {
    validateParams: (p) => {
      if (p.size !== 1) throw new Error('size must be 1');
    },
  });
  await expect(enqueue(store, flow, TARGET, { size: 2 }, { createdBy: 'jest' })).rejects.toThrow('size must be 1');
  expect(await store.listTasks({ limit: 10 })).toEqual([]);
  await expect(enqueue(store, flow, { kind: 'instance', id: '7' }, { size: 1 }, { createdBy: 'jest' })).rejects.toThrow(/acts on thing targets/);
  const id = await enqueue(store, flow, TARGET, { size: 1 }, { createdBy: 'jest', custinsId: 7 });
  expect(await store.getTask(id)).toMatchObject({ target_kind: 'thing', target_id: 't-1', custins_id: 7, flow: 'test', flow_version: 1, status: 'pending', params: { size: 1 } });
  expect((await store.loadSteps(id)).map((s) => `${s.step_name}:${s.role}`)).toEqual(['s1:any', 's2:a']);
  expect((await store.openTasks({ custinsId: 7 })).map((t) => t.id)).toEqual([id]);
  expect((await store.listTasks({ target: TARGET, limit: 5 })).map((t) => t.id)).toEqual([id]);
  expect(await store.listTasks({ kind: 'nc', limit: 5 })).toEqual([]);
});

test('a step result over the size limit is a program error', async () => {
  const flow = testFlow([step('s1', { run: async () => ({ result: 'x'.repeat(70_000) }) })]);
  const r = await run(flow, await newTask(flow));
  expect(r.failed).toMatchObject({ exitCode: ExitCode.GENERAL });
  expect(r.failed!.error).toMatch(/step result is \d+ bytes of JSON/);
});

test('Ctrl-C during a step fails it with exit 130', async () => {
  const ac = new AbortController();
  const flow = testFlow([step('s1', { run: async (c, _n, s) => c.base.clock.sleep(1e9, s.signal) })]);
  const id = await newTask(flow);
  const p = run(flow, id, { signal: ac.signal });
  await settle(20);
  ac.abort();
  expect((await p).failed).toMatchObject({ exitCode: ExitCode.INTERRUPTED });
});

/** A store that "crashes" (every call throws, as if the process died) after `limit` fenced changes. */
function countingStore(inner: MemoryStore, limit: number): { store: TaskStore; calls: () => number } {
  let fenced = 0;
  let dead = false;
  const store = new Proxy(inner, {
    get(target, p, recv) {
      const v = Reflect.get(target, p, recv) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (dead) return Promise.reject(new Error('crashed'));
        if (p === 'fenced') {
          if (fenced >= limit) {
            dead = true;
            return Promise.reject(new Error('crashed'));
          }
          fenced++;
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as TaskStore;
  return { store, calls: () => fenced };
}
