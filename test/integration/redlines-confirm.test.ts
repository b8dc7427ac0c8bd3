import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { Context } from '../../src/core/context.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { labNames, oneErrorLine, type LabNames } from '../support/redlines.js';
import { diffSnapshots, labSnapshot } from '../support/snapshot.js';

// Destructive actions, and a fan-out whose command matches a destructive pattern, show what they
// will touch (count and names) and ask. On a pipe nobody can answer: without --yes they end in a
// usage error (2) and nothing runs. The remote commands here are harmless even if a guard were
// missing (`false && reboot`), except the rm -rf, which aims at a canary inside the hosts' roots.

jest.setTimeout(120_000);

interface Fixture extends LabNames {
  ins: string;
  taskId: number;
  customRoute: string;
}

let lab: TestLab;
let ctx: Context;
let f: Fixture;
const canary = (host: string): string => path.join(lab.dir, 'hosts', host, 'tmp', 'redlines-canary');
const plantCanaries = (): void => {
  for (const h of f.ncs) {
    fs.mkdirSync(canary(h), { recursive: true });
    fs.writeFileSync(path.join(canary(h), 'keep'), 'canary\n');
  }
};
const rmCanary = 'rm -rf "$RDS_HOST_ROOT/tmp/redlines-canary"';

beforeAll(async () => {
  lab = sharedLab();
  ctx = lab.context().ctx;
  const ins = `rm-rc${randomBytes(3).toString('hex')}`;
  const c = await lab.run(['instance', 'create', '--name', ins, '--no-wait', '--reason', 'redlines confirm']);
  if (c.code !== 0) throw new Error(`instance create --no-wait: ${c.stderr}`);
  const [task] = await ctx.db('dbaas').query<{ id: number }>('SELECT t.id FROM task_queue t JOIN custins c ON c.id = t.custins_id WHERE c.ins_name = ?', [ins]);
  const [route] = await ctx.db('vpc').query<{ route_id: string }>("SELECT route_id FROM route_entry WHERE kind = 'custom' ORDER BY id LIMIT 1");
  f = { ...(await labNames(ctx)), ins, taskId: task!.id, customRoute: route!.route_id };
  plantCanaries();
});

afterAll(async () => {
  try {
    for (const h of f?.ncs ?? []) fs.rmSync(canary(h), { recursive: true, force: true });
    if (f) {
      const d = await lab.run(['instance', 'delete', f.ins, '--yes', '--reason', 'redlines confirm cleanup']);
      if (d.code !== 0) throw new Error(`instance delete ${f.ins}: ${d.stderr}`);
    }
  } finally {
    await ctx.close();
  }
});

interface Case {
  name: string;
  args: (f: Fixture) => string[];
  /** The target names the refusal must show. */
  names: (f: Fixture) => string[];
}

const fanout = (name: string, command: string, pattern: string): Case => ({
  name: `go2nc -- ${command} (${pattern})`,
  args: (f) => ['go2nc', f.ncSet, '--reason', 'redlines', '--', command],
  names: (f) => [`matches the destructive pattern "${pattern}"`, `3 targets: ${f.ncs.join(', ')}`],
});

const CASES: Case[] = [
  { name: 'instance delete', args: (f) => ['instance', 'delete', f.ins, '--reason', 'redlines'], names: (f) => [`Delete ${f.ins} (`] },
  { name: 'instance step goto', args: (f) => ['instance', 'step', f.ins, 'goto', '3', '--reason', 'redlines'], names: (f) => [`of ${f.ins} to step 3 `] },
  { name: 'instance step cancel', args: (f) => ['instance', 'step', f.ins, 'cancel', '--reason', 'redlines'], names: (f) => [`(install) of ${f.ins}?`] },
  { name: 'task goto', args: (f) => ['task', 'goto', String(f.taskId), '3', '--reason', 'redlines'], names: (f) => [`Move task ${f.taskId} of ${f.ins} to step 3 `] },
  { name: 'task cancel', args: (f) => ['task', 'cancel', String(f.taskId), '--reason', 'redlines'], names: (f) => [`Cancel task ${f.taskId} (install) of ${f.ins}?`] },
  { name: 'pangu disk offline', args: (f) => ['pangu', 'disk', 'offline', f.freeDisk, '--reason', 'redlines'], names: (f) => [`1 target: ${f.freeDisk}`] },
  { name: 'vpc route delete', args: (f) => ['vpc', 'route', 'delete', f.customRoute, '--reason', 'redlines'], names: (f) => [`1 target: ${f.customRoute} (`] },
  { name: 'hyapi delete_natgw_acl', args: (f) => ['hyapi', 'delete_natgw_acl', `acl_id=${f.aclId}`, '-o', 'table'], names: (f) => [`1 target: ACL rule ${f.aclId} of ${f.natgw}`] },
  fanout('rm', rmCanary, 'rm -r/-f'),
  fanout('reboot', 'false && reboot', 'reboot/shutdown'),
  fanout('shutdown', 'false && sudo /sbin/shutdown -h now', 'reboot/shutdown'),
  fanout('poweroff', 'false && systemctl poweroff', 'systemctl reboot/poweroff'),
  fanout('mkfs', 'false && mkfs.ext4 /dev/sdz1', 'mkfs'),
  fanout('dd', 'false && dd if=/dev/zero of=/dev/sdz bs=1M', 'dd of=/dev/…'),
  fanout('iptables', 'false && iptables -F', 'iptables -F'),
  fanout('kill', 'false && kill -9 1', 'kill -9'),
  fanout('killall', 'false && killall mysqld', 'killall/pkill'),
  { name: 'go2vm -- reboot', args: (f) => ['go2vm', f.runningVm, '--', 'false && reboot'], names: (f) => [`1 target: ${f.runningVm}`] },
];

describe('no TTY and no --yes: usage error naming what and how many, nothing runs or is written', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const before = await labSnapshot(lab, ctx);
    const r = await lab.run(c.args(f));
    const changed = diffSnapshots(before, await labSnapshot(lab, ctx));
    const line = oneErrorLine(r.stderr);
    expect({ code: r.code, changed }).toEqual({ code: 2, changed: [] });
    expect(line).toMatch(/needs confirmation: rerun with --yes \(no TTY to ask on/);
    for (const s of c.names(f)) expect(line).toContain(s);
    for (const h of f.ncs) expect(fs.existsSync(path.join(canary(h), 'keep'))).toBe(true);
  });
});

describe('on a TTY the question shows the targets, and only "y" goes ahead', () => {
  test('go2nc rm -rf answered "n": aborted (2), the canaries stay, nothing audited', async () => {
    const before = await labSnapshot(lab, ctx);
    const r = await lab.run(['go2nc', f.ncSet, '--', rmCanary], { tty: true, stdin: 'n\n' });
    expect({ code: r.code, changed: diffSnapshots(before, await labSnapshot(lab, ctx)) }).toEqual({ code: 2, changed: [] });
    expect(r.stderr).toContain(`go2nc: ${JSON.stringify(rmCanary)} matches the destructive pattern "rm -r/-f"\n  3 targets: ${f.ncs.join(', ')}\nProceed? [y/N] `);
    expect(r.stderr).toMatch(/rdsctl: aborted: not confirmed\n$/);
  });

  test('instance delete and vpc route delete answered with Enter: aborted, nothing written', async () => {
    for (const args of [['instance', 'delete', f.ins], ['vpc', 'route', 'delete', f.customRoute]]) {
      const before = await labSnapshot(lab, ctx);
      const r = await lab.run(args, { tty: true, stdin: '\n' });
      expect({ args, code: r.code, changed: diffSnapshots(before, await labSnapshot(lab, ctx)) }).toEqual({ args, code: 2, changed: [] });
      expect(r.stderr).toContain('Proceed? [y/N] ');
    }
  });

  test('go2nc rm -rf answered "y" runs on every host, audited with the pattern; --yes on a pipe does the same', async () => {
    const r = await lab.run(['go2nc', f.ncSet, '--reason', 'redlines confirm y', '--', rmCanary], { tty: true, stdin: 'y\n' });
    expect(r.code).toBe(0);
    for (const h of f.ncs) expect(fs.existsSync(canary(h))).toBe(false);
    plantCanaries();
    const y = await lab.run(['go2nc', f.ncSet, '--yes', '--reason', 'redlines confirm yes', '--', rmCanary]);
    expect(y.code).toBe(0);
    for (const h of f.ncs) expect(fs.existsSync(canary(h))).toBe(false);
    plantCanaries();
    const recs = ctx.audit().readLocal().filter((a) => a.command === 'go2nc' && (a.reason ?? '').startsWith('redlines confirm'));
    expect(recs.map((a) => [a.phase, a.reason, a.detail.destructive, a.targets])).toEqual([
      ['intent', 'redlines confirm y', 'rm -r/-f', f.ncs],
      ['result', 'redlines confirm y', 'rm -r/-f', f.ncs],
      ['intent', 'redlines confirm yes', 'rm -r/-f', f.ncs],
      ['result', 'redlines confirm yes', 'rm -r/-f', f.ncs],
    ]);
  });

  test('--dry-run of a destructive fan-out needs no --yes and runs nothing', async () => {
    const before = await labSnapshot(lab, ctx);
    const r = await lab.run(['go2nc', f.ncSet, '--dry-run', '--', rmCanary]);
    expect({ code: r.code, changed: diffSnapshots(before, await labSnapshot(lab, ctx)) }).toEqual({ code: 0, changed: [] });
    expect(r.stdout).toContain('asks for confirmation');
  });
});
