import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import type { Context } from '../../src/core/context.js';

// `task show ID --follow` on tasks of this file's own (rows in dbaas, removed afterwards): it reports
// each step as it changes and returns when the task ends, with the end state as the exit code.

jest.setTimeout(120_000);

let lab: TestLab;
let ctx: Context;
const ids: number[] = [];

beforeAll(() => {
  lab = sharedLab();
  ctx = lab.context().ctx;
});
afterAll(async () => {
  for (const id of ids) {
    await ctx.db('dbaas').execute('DELETE FROM task_step WHERE task_id = ?', [id]);
    await ctx.db('dbaas').execute('DELETE FROM task_queue WHERE id = ?', [id]);
  }
  await ctx.close();
});

async function task(status: string, steps: Array<[string, string]>): Promise<number> {
  const db = ctx.db('dbaas');
  const id = (await db.execute("INSERT INTO task_queue (custins_id, flow, status, params, created_by) VALUES (0, 'install', ?, '{}', 'follow-test')", [status])).insertId;
  ids.push(id);
  for (const [i, [name, st]] of steps.entries()) {
    await db.execute("INSERT INTO task_step (task_id, seq, step_name, role, status, attempts) VALUES (?, ?, ?, 'metadb', ?, 0)", [id, i + 1, name, st]);
  }
  return id;
}

test('a task already done: its steps, the end state, the view; exit 0', async () => {
  const id = await task('done', [['do_init', 'done'], ['do_make_dir', 'done']]);
  const r = await lab.run(['task', 'show', String(id), '--follow', '--interval', '0.1', '-o', 'json']);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/^\d\d:\d\d:\d\d step 1 do_init: done\n\d\d:\d\d:\d\d step 2 do_make_dir: done\ntask \d+: done\n$/);
  expect(json<{ task_id: number; status: string }>(r)).toMatchObject({ task_id: id, status: 'done' });
});

test('a running task is followed until it fails: the step change is reported, exit 4', async () => {
  const id = await task('running', [['do_init', 'done'], ['do_make_dir', 'running']]);
  const followed = lab.run(['task', 'show', String(id), '--follow', '--interval', '0.1']);
  await ctx.db('dbaas').execute("UPDATE task_step SET status = 'failed', error = 'disk full' WHERE task_id = ? AND seq = 2", [id]);
  await ctx.db('dbaas').execute("UPDATE task_queue SET status = 'failed', error = 'do_make_dir: disk full' WHERE id = ?", [id]);
  const r = await followed;
  expect(r.code).toBe(4);
  expect(r.stderr).toMatch(/step 2 do_make_dir: (running -> )?failed \(disk full\)\n/);
  expect(r.stderr).toMatch(/task \d+: failed\n$/);
  expect(r.stdout).toMatch(/^Task:/);
});

test('--interval out of range, and a task that does not exist', async () => {
  expect((await lab.run(['task', 'show', '1', '--follow', '--interval', '0'])).code).toBe(2);
  expect((await lab.run(['task', 'show', '999999999', '--follow'])).code).toBe(3);
});
