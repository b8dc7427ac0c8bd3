import fs from 'node:fs';
import { jest } from '@jest/globals';
import { json } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import type { Context } from '../../src/core/context.js';

// Pangu against the lab seed: pangu-hz-a keeps every chunk on exactly 3 healthy replicas on
// cs-a01..a03 (so any of their disks is refused by the replica rule), cs-a04 holds no chunk,
// cs-a05 already has 2 disks offline (its cluster's limit); pangu-hz-b has cs-b02 abnormal with
// sdc in error. Disks this file takes offline are put back as the seed had them.

jest.setTimeout(60_000);

let lab: TestLab;
let ctx: Context;
beforeAll(() => {
  lab = sharedLab();
  ctx = lab.context().ctx;
});
afterAll(() => ctx.close());

interface DiskRow {
  disk: string;
  status: string;
  offline_reason: string | null;
}

async function diskState(): Promise<Array<{ id: number; status: string; offline_reason: string | null }>> {
  return ctx.db('pangu').query('SELECT id, status, offline_reason FROM disk ORDER BY id');
}

async function restoreCsA04(): Promise<void> {
  await ctx.db('pangu').execute("UPDATE disk d JOIN chunkserver cs ON cs.id = d.chunkserver_id SET d.status = 'ok', d.offline_reason = NULL WHERE cs.hostname = 'cs-a04'");
}

describe('status views', () => {
  test('chunkserver status: unhealthy first, exit 4; a healthy cluster alone exits 0', async () => {
    const r = await lab.run(['pangu', 'chunkserver', 'status', '-o', 'json']);
    expect(r.code).toBe(4);
    const rows = json<Array<Record<string, unknown>>>(r);
    expect(rows).toHaveLength(9);
    expect(rows[0]).toMatchObject({ hostname: 'cs-b02', cluster: 'pangu-hz-b', status: 'abnormal', disks: 4, disks_error: 1 });
    expect(rows.find((x) => x.hostname === 'cs-a05')).toMatchObject({ disks_out: 2, disks_ok: 2 });
    expect(Object.keys(rows[0]!).sort()).toEqual(['capacity_gb', 'cluster', 'disks', 'disks_error', 'disks_ok', 'disks_out', 'hostname', 'ip', 'last_heartbeat', 'status', 'used_gb']);
    const a = await lab.run(['pangu', 'chunkserver', 'status', '--cluster', 'pangu-hz-a']);
    expect(a.code).toBe(0);
    expect(a.stderr).toBe('5 chunkservers, 0 unhealthy\n');
    expect((await lab.run(['pangu', 'chunkserver', 'status', '--cluster', 'pangu-hz'])).code).toBe(3);
  });

  test('disk status: unhealthy first (error, offline, replacing, ok), filters, exit 4 on a disk in error', async () => {
    const r = await lab.run(['pangu', 'disk', 'status', '-o', 'json']);
    expect(r.code).toBe(4);
    const rows = json<DiskRow[]>(r);
    expect(rows.slice(0, 4).map((d) => [d.disk, d.status])).toEqual([
      ['cs-b02:sdc', 'error'],
      ['cs-a05:sdb', 'offline'],
      ['cs-a05:sdc', 'offline'],
      ['cs-b04:sdd', 'replacing'],
    ]);
    expect(rows.slice(4).every((d) => d.status === 'ok')).toBe(true);
    const a04 = await lab.run(['pangu', 'disk', 'status', '--chunkserver', 'cs-a04', '-o', 'tsv']);
    expect(a04.code).toBe(0);
    expect(a04.stdout.trim().split('\n')).toHaveLength(5);
    const off = await lab.run(['pangu', 'disk', 'status', '--status', 'offline,replacing', '-o', 'json']);
    expect(off.code).toBe(0);
    expect(json<DiskRow[]>(off).map((d) => d.disk)).toEqual(['cs-a05:sdb', 'cs-a05:sdc', 'cs-b04:sdd']);
    expect((await lab.run(['pangu', 'disk', 'status', '--status', 'broken'])).code).toBe(2);
    const near = await lab.run(['pangu', 'disk', 'status', '--chunkserver', 'cs-a4']);
    expect(near.code).toBe(3);
  });
});

describe('disk offline', () => {
  test('refused by the replica rule: exit 9, nothing written', async () => {
    const before = await diskState();
    const r = await lab.run(['pangu', 'disk', 'offline', 'cs-a01:sdb', '--yes', '--reason', 'test']);
    expect(r.code).toBe(9);
    expect(r.stderr).toBe('rdsctl: refusing to take cs-a01:sdb offline: 3 chunks would keep fewer than 3 healthy replicas (chunk 1 /oss/bucket-logs/2024/part-00001 would keep 2)\n');
    expect(await diskState()).toEqual(before);
  });

  test('refused by the per-chunkserver rule: cs-a05 is at max_offline_disks_per_cs', async () => {
    const before = await diskState();
    const r = await lab.run(['pangu', 'disk', 'offline', 'cs-a05:sdd', '--yes', '--reason', 'test']);
    expect(r.code).toBe(9);
    expect(r.stderr).toBe('rdsctl: refusing to take cs-a05:sdd offline: chunkserver cs-a05 already has 2 disks offline or replacing (sdb, sdc); cluster pangu-hz-a allows 2\n');
    expect(await diskState()).toEqual(before);
  });

  test('already offline: refused; bad names: usage or not-found; no TTY without --yes: usage, nothing written', async () => {
    const before = await diskState();
    expect((await lab.run(['pangu', 'disk', 'offline', 'cs-a05:sdb', '--yes', '--reason', 'test'])).stderr).toMatch(/cs-a05:sdb is already offline/);
    expect((await lab.run(['pangu', 'disk', 'offline', 'cs-a04', '--yes'])).code).toBe(2);
    expect((await lab.run(['pangu', 'disk', 'offline', "cs-a04:sdb'--", '--yes'])).code).toBe(2);
    const nocs = await lab.run(['pangu', 'disk', 'offline', 'cs-a44:sdb', '--yes', '--reason', 'test']);
    expect(nocs.code).toBe(3);
    expect(nocs.stderr).toMatch(/chunkserver cs-a44 not found \(did you mean: cs-a04/);
    const nodev = await lab.run(['pangu', 'disk', 'offline', 'cs-a04:sdz', '--yes', '--reason', 'test']);
    expect(nodev.code).toBe(3);
    const noTty = await lab.run(['pangu', 'disk', 'offline', 'cs-a04:sdb', '--reason', 'test']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/needs confirmation: rerun with --yes/);
    expect(await diskState()).toEqual(before);
  });

  test('--dry-run prints the locking SQL and the update, writes nothing; a refused dry run exits 9', async () => {
    const before = await diskState();
    const r = await lab.run(['pangu', 'disk', 'offline', 'cs-a04:sdb', '--dry-run', '-o', 'json']);
    expect(r.code).toBe(0);
    const plan = json<{ dry_run: boolean; targets: string[]; sql: Array<{ statement: string }>; notes: string[] }>(r);
    expect(plan.dry_run).toBe(true);
    expect(plan.targets).toEqual(['cs-a04:sdb']);
    expect(plan.sql.filter((s) => /FOR UPDATE$/.test(s.statement))).toHaveLength(4);
    expect(plan.sql[0]!.statement).toBe('SELECT id FROM pangu_cluster WHERE id = ? FOR UPDATE');
    expect(plan.sql[plan.sql.length - 1]!.statement).toMatch(/^UPDATE disk SET status = 'offline'/);
    const refused = await lab.run(['pangu', 'disk', 'offline', 'cs-a02:sdc', '--dry-run']);
    expect(refused.code).toBe(9);
    expect(refused.stdout).toMatch(/note: would be REFUSED: /);
    expect(await diskState()).toEqual(before);
  });

  test('accepted on a disk that holds no chunk: offline with the reason, audited; then restored', async () => {
    try {
      const r = await lab.run(['pangu', 'disk', 'offline', 'cs-a04:sdb', '--yes', '--reason', 'SMART pre-fail, ticket 4411', '-o', 'json']);
      expect(r.stderr).toBe('disk cs-a04:sdb is offline (was ok); 0 chunk replicas on it, no chunk falls below 3 healthy replicas\n');
      expect(r.code).toBe(0);
      expect(json(r)).toMatchObject({ disk: 'cs-a04:sdb', previous_status: 'ok', status: 'offline', offline_reason: 'SMART pre-fail, ticket 4411', refusal: null });
      const d = json<DiskRow[]>(await lab.run(['pangu', 'disk', 'status', '--chunkserver', 'cs-a04', '-o', 'json']));
      expect(d[0]).toMatchObject({ disk: 'cs-a04:sdb', status: 'offline', offline_reason: 'SMART pre-fail, ticket 4411' });
      const audit = fs.readFileSync(ctx.profile().audit_log!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const mine = audit.filter((a: { command: string; targets: string[] }) => a.command === 'pangu disk offline' && a.targets[0] === 'cs-a04:sdb');
      expect(mine.slice(-2).map((a: { phase: string; ok?: boolean; reason: string }) => [a.phase, a.ok, a.reason])).toEqual([
        ['intent', undefined, 'SMART pre-fail, ticket 4411'],
        ['result', true, 'SMART pre-fail, ticket 4411'],
      ]);
    } finally {
      await restoreCsA04();
    }
  });

  test('two operators at once on one chunkserver with one slot left: exactly one wins, the other is refused', async () => {
    try {
      await ctx.db('pangu').execute("UPDATE disk d JOIN chunkserver cs ON cs.id = d.chunkserver_id SET d.status = 'offline' WHERE cs.hostname = 'cs-a04' AND d.device = 'sde'");
      const [a, b] = await Promise.all([lab.run(['pangu', 'disk', 'offline', 'cs-a04:sdb', '--yes', '--reason', 'race test']), lab.run(['pangu', 'disk', 'offline', 'cs-a04:sdc', '--yes', '--reason', 'race test'])]);
      expect([a.code, b.code].sort()).toEqual([0, 9]);
      expect([a, b].find((x) => x.code === 9)!.stderr).toMatch(/chunkserver cs-a04 already has 2 disks offline or replacing/);
      const out = await ctx.db('pangu').query<{ device: string }>("SELECT d.device FROM disk d JOIN chunkserver cs ON cs.id = d.chunkserver_id WHERE cs.hostname = 'cs-a04' AND d.status = 'offline' ORDER BY d.device");
      expect(out).toHaveLength(2);
    } finally {
      await restoreCsA04();
    }
  });
});
