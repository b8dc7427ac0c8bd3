import { NotFoundError, UsageError } from '../../src/core/errors.js';
import { resolveStep, stepViews } from '../../src/flow/control.js';
import { INSTALL_FLOW_V1, installFlow } from '../../src/flow/install/index.js';
import { parseInstallParams } from '../../src/flow/install/context.js';
import { formatStep } from '../../src/flow/progress.js';
import { localIdentity, newOwner, ownerIsProvablyDead, parseOwner } from '../../src/flow/lease.js';
import type { StepRow, TaskRow } from '../../src/flow/store.js';

// Naming steps for `instance step`, the step list view, progress lines and lease owners.

// A task written with version 1 of the install flow (the seed's 80 entries).
const rows: StepRow[] = INSTALL_FLOW_V1.map((s, i) => ({ task_id: 7, seq: i + 1, step_name: s.name, role: s.role, status: 'pending', attempts: 0, host: null, skip_reason: null, error: null, detail: null, result: null, gmt_started: null, gmt_finished: null }));

describe('resolveStep', () => {
  test('by number, by name, by name:role', () => {
    expect(resolveStep(rows, '1')).toBe(1);
    expect(resolveStep(rows, 'do_init')).toBe(1);
    expect(resolveStep(rows, 'do_check_start_instnace_success_master')).toBe(21);
    expect(resolveStep(rows, 'do_make_dir:slave')).toBe(9);
    expect(resolveStep(rows, 'do_drop_root_account:master')).toBe(56);
  });

  test('a name listed twice must be disambiguated, with the choices named', () => {
    expect(() => resolveStep(rows, 'do_make_dir')).toThrow(UsageError);
    expect(() => resolveStep(rows, 'do_make_dir')).toThrow('step do_make_dir is listed 2 times: name one of 8 (do_make_dir:master), 9 (do_make_dir:slave)');
  });

  test('unknown steps are not found (exit 3), with near names', () => {
    let err: unknown;
    try {
      resolveStep(rows, 'do_make_dirs');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).exitCode).toBe(3);
    expect((err as NotFoundError).suggestions).toContain('do_make_dir');
    expect(() => resolveStep(rows, '81')).toThrow('step 81 does not exist (this task has steps 1-80)');
    expect(() => resolveStep(rows, "x'; DROP TABLE task_step")).toThrow(NotFoundError);
  });
});

test('step views carry the declarations and durations', () => {
  const started = new Date('2026-01-01T00:00:00.000Z');
  const v = stepViews({ ...installFlow, version: 1, steps: INSTALL_FLOW_V1 }, [{ ...rows[13]!, status: 'skipped', skip_reason: 'no ECS security group', gmt_started: started, gmt_finished: new Date(started.getTime() + 1500) }]);
  expect(v[0]).toMatchObject({ seq: 14, step: 'do_add_rds_ecs_sg_rel', role: 'metadb', status: 'skipped', duration_ms: 1500, timeout_sec: 30, effect: 'metadb', skip_reason: 'no ECS security group' });
  expect(v[0]!.skip_rule).toMatch(/--ecs-sg/);
});

test('progress lines: [n/80] step host took (elapsed)', () => {
  expect(formatStep({ seq: 8, total: 80, name: 'do_make_dir', host: 'nc-a01', status: 'done', ms: 35, elapsedMs: 1234 })).toBe('[ 8/80] do_make_dir  nc-a01  35ms  (1.2s)');
  expect(formatStep({ seq: 14, total: 80, name: 'do_add_rds_ecs_sg_rel', host: null, status: 'skipped', ms: 0, elapsedMs: 500, detail: 'no ECS security group was given (--ecs-sg)' })).toBe('[14/80] do_add_rds_ecs_sg_rel  skipped: no ECS security group was given (--ecs-sg)  (500ms)');
  expect(formatStep({ seq: 21, total: 80, name: 'x', host: 'nc-a01', status: 'failed', ms: 9, elapsedMs: 60000, detail: 'boom' })).toBe('[21/80] x  FAILED on nc-a01: boom  (60.0s)');
});

test('a lease owner is presumed dead only when provably so: same boot, same PID namespace, pid gone or reused', () => {
  const self = localIdentity();
  const mine = newOwner();
  expect(parseOwner(mine)).toMatchObject({ host: self.host, pid: process.pid, bootId: self.bootId, pidNs: self.pidNs, start: self.start });
  expect(ownerIsProvablyDead(mine)).toBe(false);
  const gone = mine.replace(/^([^:]+):(\d+):/, '$1:999999999:');
  expect(ownerIsProvablyDead(gone)).toBe(true);
  // pid 1 exists, but started at another time than the owner says: the pid was reused.
  const reused = newOwner({ ...self, pid: 1, start: '123456789012' });
  expect(ownerIsProvablyDead(reused)).toBe(true);
  // another PID namespace: its pid 999999999 means nothing here.
  expect(ownerIsProvablyDead(newOwner({ ...self, pid: 999999999, pidNs: '1' }))).toBe(false);
  // another boot (another machine, or before a reboot we cannot tell apart): not provable.
  expect(ownerIsProvablyDead(newOwner({ ...self, pid: 999999999, bootId: '00000000-0000-0000-0000-000000000000' }))).toBe(false);
  // same hostname, older owner format without boot id and namespace: never presumed dead.
  expect(ownerIsProvablyDead(`${self.host}:999999999:abcdef`)).toBe(false);
  expect(ownerIsProvablyDead('garbage')).toBe(false);
});

test('task params: missing or ill-typed fields get safe defaults', () => {
  const t = { params: { ecs_sg: 5, dbs: ['shop', 7], accounts: 'app', time_zone: 'Asia/Shanghai' } } as unknown as TaskRow;
  expect(parseInstallParams(t)).toEqual({ ecs_sg: null, time_zone: 'Asia/Shanghai', whitelist: [], dbs: ['shop'], accounts: [], vswitch_id: null });
});
