import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import type { Context } from '../../src/core/context.js';

// `rdsctl check` against the lab: the seed makes lb_node, proxy, tianji and pangu fail; every
// online NC answers over SSH; rds depends on what is running (none, unless another suite left
// an instance), and fails for a running instance this file adds whose hosts do not answer.

jest.setTimeout(120_000);

interface CheckJson {
  status: string;
  summary: { ok: number; warn: number; fail: number };
  checks: Array<{ name: string; status: string; reason: string; details: Record<string, unknown>; duration_ms: number; error: boolean }>;
}

let lab: TestLab;
let ctx: Context;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-check-'));
beforeAll(() => {
  lab = sharedLab();
  ctx = lab.context().ctx;
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the seed\'s faults fail their checks with reasons; exit 4; -o json', async () => {
  const r = await lab.run(['check', 'lb_node', 'proxy', 'tianji', 'pangu', '-o', 'json']);
  expect(r.code).toBe(4);
  const j = json<CheckJson>(r);
  expect(j.status).toBe('fail');
  expect(j.summary).toEqual({ ok: 0, warn: 0, fail: 4 });
  const by = Object.fromEntries(j.checks.map((c) => [c.name, c]));
  expect(j.checks.map((c) => c.name)).toEqual(['lb_node', 'proxy', 'tianji', 'pangu']);
  expect(by.lb_node!.reason).toBe(`2 of 8 not online: ${lab.file.net}.200.4 (offline), ${lab.file.net}.200.7 (maintain)`);
  expect(by.proxy!.reason).toBe(`1 of 6 not online: ${lab.file.net}.201.3 (offline)`);
  expect(by.tianji!.reason).toMatch(/^\d+ rule violations; first: violation \[service_roles\]: cluster houyi-ctl-hz/);
  expect(by.pangu!.reason).toBe('pangu-hz-b: 2 of 8 chunks below 3 healthy replicas');
  expect(j.checks.every((c) => !c.error && c.duration_ms >= 0)).toBe(true);
});

test('--live: lb_node also probes each node\'s port; an online node that does not answer fails, named', async () => {
  const quiet = json<CheckJson>(await lab.run(['check', 'lb_node', '--live', '-o', 'json'])).checks[0]!;
  // Every online LVS node of the lab answers on its service port: only the metadb's two remain.
  expect(quiet.reason).toBe(`2 of 8 not online: ${lab.file.net}.200.4 (offline), ${lab.file.net}.200.7 (maintain)`);
  expect(quiet.details).toMatchObject({ up: 6, online_not_answering: [] });
  lab.stopHost('lvs-01');
  try {
    const r = await lab.run(['check', 'lb_node', '--live', '-o', 'json']);
    expect(r.code).toBe(4);
    const c = json<CheckJson>(r).checks[0]!;
    expect(c.reason).toMatch(new RegExp(`; 1 online but not answering: ${lab.file.net.replace(/\./g, '\\.')}\\.200\\.1:${lab.file.ssh_port} \\(`));
    // Without --live the metadb alone is read, as before.
    expect(json<CheckJson>(await lab.run(['check', 'lb_node', '-o', 'json'])).checks[0]!.reason).toBe(quiet.reason);
  } finally {
    lab.startHost('lvs-01');
  }
});

test('nc: every online NC answers `true` over SSH', async () => {
  // A generous budget: on a loaded 2-core machine an SSH handshake can take seconds.
  const r = await lab.run(['check', 'nc', '--timeout', '90', '-o', 'json']);
  const [nc] = json<CheckJson>(r).checks;
  const online = Number((await ctx.db('houyi').query<{ n: number }>("SELECT COUNT(*) AS n FROM nc WHERE status = 'online'"))[0]!.n);
  expect(nc).toMatchObject({ name: 'nc', status: 'ok', reason: `all ${online} online NCs answer over SSH` });
  expect(r.code).toBe(0);
});

test('nc: a stopped NC sshd fails the check, naming the host', async () => {
  const [victim] = await ctx.db('houyi').query<{ hostname: string }>("SELECT hostname FROM nc WHERE status = 'online' ORDER BY hostname DESC LIMIT 1");
  lab.stopHost(victim!.hostname);
  try {
    const r = await lab.run(['check', 'nc', '--timeout', '90', '-o', 'json']);
    expect(r.code).toBe(4);
    const [nc] = json<CheckJson>(r).checks;
    expect(nc!.status).toBe('fail');
    expect(nc!.reason).toMatch(new RegExp(`^\\d+ of \\d+ online NCs unreachable: .*${victim!.hostname} \\(refused\\)`));
    expect((nc!.details.unreachable as Array<{ host: string; category: string }>).find((u) => u.host === victim!.hostname)).toMatchObject({ category: 'refused' });
  } finally {
    lab.startHost(victim!.hostname);
  }
});

describe('rds', () => {
  const name = 'rdsctl-check-test';
  test('every running instance is checked; one whose hosts do not answer fails', async () => {
    const dbaas = ctx.db('dbaas');
    const running = Number((await dbaas.query<{ n: number }>("SELECT COUNT(*) AS n FROM custins WHERE status = 'running'"))[0]!.n);
    if (running === 0) {
      const r = await lab.run(['check', 'rds', '-o', 'json']);
      expect(r.code).toBe(0);
      expect(json<CheckJson>(r).checks[0]).toMatchObject({ status: 'ok', reason: 'no running instances' });
    }
    // A running custins whose master and standby point at a lab address nothing listens on.
    const { insertId } = await dbaas.execute(
      "INSERT INTO custins (ins_name, engine, version, class_code, storage_gb, storage_type, zone, status) VALUES (?, 'mysql', '8.0', 'test', 20, 'cloud_ssd', 'cn-hangzhou-a', 'running')",
      [name],
    );
    try {
      const dead = `${lab.file.net}.200.251`;
      await dbaas.execute(
        "INSERT INTO instance (custins_id, role, hostinfo_id, host_name, ip, port, cpu, mem_mb, disk_gb, status) VALUES (?, 'master', 0, 'nowhere-1', ?, 3991, 1, 1024, 20, 'running'), (?, 'slave', 0, 'nowhere-2', ?, 3992, 1, 1024, 20, 'running')",
        [insertId, dead, insertId, dead],
      );
      await dbaas.execute("INSERT INTO custins_secret (custins_id, account_name, secret) VALUES (?, 'aurora', 'not-a-real-password')", [insertId]);
      const r = await lab.run(['check', 'rds', '-o', 'json']);
      expect(r.code).toBe(4);
      const [rds] = json<CheckJson>(r).checks;
      expect(rds!.status).toBe('fail');
      expect(rds!.reason).toMatch(new RegExp(`not replicating: .*${name}: master: nowhere-1 ${dead.replace(/\./g, '\\.')}:3991: cannot log in as aurora: ECONNREFUSED`));
      const states = rds!.details.instances as Array<{ ins_name: string; problem: string | null }>;
      expect(states.find((s) => s.ins_name === name)!.problem).toMatch(/ECONNREFUSED/);
      expect(r.stdout).not.toContain('not-a-real-password');
    } finally {
      await dbaas.execute('DELETE FROM custins_secret WHERE custins_id = ?', [insertId]);
      await dbaas.execute('DELETE FROM instance WHERE custins_id = ?', [insertId]);
      await dbaas.execute('DELETE FROM custins WHERE id = ?', [insertId]);
    }
  });
});

test('--junit FILE: JUnit XML that a real XML parser reads back, written atomically', async () => {
  const file = path.join(tmp, 'smoke.xml');
  fs.writeFileSync(file, 'stale');
  const r = await lab.run(['check', 'lb_node', 'proxy', 'tianji', '--junit', file]);
  expect(r.code).toBe(4);
  expect(r.stdout.split('\n')[0]).toMatch(/^CHECK\s+STATUS\s+REASON$/);
  expect(r.stderr).toBe('3 checks: 0 ok, 0 warn, 3 fail\n');
  const parsed = JSON.parse(
    execFileSync(
      'python3',
      ['-c', "import json,sys,xml.etree.ElementTree as E\nr=E.parse(sys.argv[1]).getroot()\ns=r.find('testsuite')\nprint(json.dumps({'root':r.tag,'suite':dict(s.attrib),'cases':[[c.get('name'),c.find('failure').get('message') if c.find('failure') is not None else None] for c in s.findall('testcase')]}))", file],
      { encoding: 'utf8' },
    ),
  ) as { root: string; suite: Record<string, string>; cases: Array<[string, string | null]> };
  expect(parsed.root).toBe('testsuites');
  expect(parsed.suite).toMatchObject({ name: 'rdsctl check', tests: '3', failures: '3', errors: '0' });
  expect(parsed.cases.map((c) => c[0])).toEqual(['lb_node', 'proxy', 'tianji']);
  expect(parsed.cases[1]![1]).toBe(`1 of 6 not online: ${lab.file.net}.201.3 (offline)`);
  expect(fs.readdirSync(tmp)).toEqual(['smoke.xml']);
});

test('bad arguments are usage errors; an unwritable --junit path fails before the checks run, with nothing left behind', async () => {
  const r = await lab.run(['check', 'lbnode']);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('rdsctl: unknown check "lbnode" (known: lb_node, proxy, rds, nc, tianji, pangu)\n');
  expect((await lab.run(['check', '--timeout', '0'])).code).toBe(2);
  const w = await lab.run(['check', 'proxy', '--junit', path.join(tmp, 'missing', 'x.xml')]);
  expect(w.code).toBe(2);
  expect(w.stderr).toMatch(/--junit .*missing\/x\.xml: cannot write the report \(ENOENT\)/);
});

test('with no argument every check runs, in the documented order', async () => {
  const j = json<CheckJson>(await lab.run(['check', '-o', 'json', '--warn-ok', '--timeout', '90']));
  expect(j.checks.map((c) => c.name)).toEqual(['lb_node', 'proxy', 'rds', 'nc', 'tianji', 'pangu']);
});
