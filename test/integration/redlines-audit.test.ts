import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import type { AuditEntry } from '../../src/core/audit-query.js';
import type { AuditRecord } from '../../src/core/audit.js';
import { readConfig, writeConfig, type Profile } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import { json } from '../support/run.js';
import { freePort, sharedLab, type TestLab } from '../support/lab.js';
import { USERS, labNames, oneErrorLine, runAs, type LabNames } from '../support/redlines.js';
import { diffSnapshots, hostsSnapshot, metadbSnapshot } from '../support/snapshot.js';

// The audit loses nothing: every state change writes an intent (fsynced) before it acts and a
// result after, locally and in dbaas.ops_audit; a command killed mid-way leaves an intent with no
// result; a log that cannot be written stops the command before it acts; with the metadb down the
// record stays local and `audit backfill` copies it later.

jest.setTimeout(120_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
const tag = randomBytes(3).toString('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-redlines-audit-'));
let lab: TestLab;
let ctx: Context;
let n: LabNames;
let auditFile: string;

beforeAll(async () => {
  lab = sharedLab();
  ctx = lab.context().ctx;
  n = await labNames(ctx);
  auditFile = ctx.profile().audit_log!;
});

afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await ctx.close();
});

/** The lab's config with the lab profile changed by `edit`, written to its own file. */
function configWith(name: string, edit: (p: Profile) => Profile): NodeJS.ProcessEnv {
  const cfg = readConfig(lab.configPath);
  const file = path.join(tmp, `${name}.json`);
  writeConfig(file, { ...cfg, profiles: cfg.profiles.map((p) => (p.name === cfg.current ? edit(p) : p)) });
  return { RDSCTL_CONFIG: file };
}

const local = (reason: string): AuditRecord[] => ctx.audit().readLocal().filter((r) => r.reason === reason);

async function inMetadb(ids: string[]): Promise<Array<[string, string]>> {
  if (!ids.length) return [];
  const rows = await ctx.db('dbaas').query<{ record_id: string; phase: string }>('SELECT record_id, phase FROM ops_audit WHERE record_id IN (?) ORDER BY id', [ids]);
  return rows.map((r) => [r.record_id, r.phase]);
}

describe('intent before, result after, locally and in ops_audit', () => {
  /** Each: a real state change (undone after), its audited command name and targets. */
  const runs: Array<{ name: string; user: keyof typeof USERS; args: (reason: string) => string[]; command: string; ok: boolean; undo?: () => Promise<void> }> = [
    { name: 'go2nc fan-out', user: 'operator', args: (r) => ['go2nc', n.ncSet, '--reason', r, '--', 'true'], command: 'go2nc', ok: true },
    { name: 'go2nc failing on one host', user: 'operator', args: (r) => ['go2nc', n.nc, '--reason', r, '--', 'exit 3'], command: 'go2nc', ok: false },
    { name: 'go2vm', user: 'operator', args: (r) => ['go2vm', n.runningVm, '--reason', r, '--', 'true'], command: 'go2vm', ok: true },
    { name: 'hyapi stop_vm', user: 'operator', args: (r) => ['hyapi', 'stop_vm', `vm_name=${n.runningVm}`, '--reason', r], command: 'hyapi stop_vm', ok: true },
    { name: 'hyapi start_vm', user: 'operator', args: (r) => ['hyapi', 'start_vm', `vm_name=${n.runningVm}`, '--reason', r], command: 'hyapi start_vm', ok: true },
    { name: 'nc lock', user: 'operator', args: (r) => ['nc', 'lock', n.nc, '--reason', r], command: 'nc lock', ok: true },
    {
      name: 'nc unlock',
      user: 'operator',
      args: (r) => ['nc', 'unlock', n.nc, '--reason', r],
      command: 'nc unlock',
      ok: true,
      // n.nc was online and unlocked before 'nc lock' above; put it back whatever happened.
      undo: async () => void (await ctx.db('houyi').execute("UPDATE nc SET locked = 0, lock_reason = NULL, status = 'online' WHERE hostname = ?", [n.nc])),
    },
    { name: 'vpc route add', user: 'operator', args: (r) => ['vpc', 'route', 'add', '--vpc', n.vpc, '--cidr', n.routeCidr, '--next-hop', n.nextHop, '--reason', r], command: 'vpc route add', ok: true },
    { name: 'vpc route delete', user: 'admin', args: (r) => ['vpc', 'route', 'delete', '--vpc', n.vpc, '--cidr', n.routeCidr, '--yes', '--reason', r], command: 'vpc route delete', ok: true },
    {
      name: 'pangu disk offline',
      user: 'admin',
      args: (r) => ['pangu', 'disk', 'offline', n.freeDisk, '--yes', '--reason', r],
      command: 'pangu disk offline',
      ok: true,
      undo: async () => {
        const [cs, dev] = n.freeDisk.split(':');
        await ctx.db('pangu').execute("UPDATE disk d JOIN chunkserver cs ON cs.id = d.chunkserver_id SET d.status = 'ok', d.offline_reason = NULL WHERE cs.hostname = ? AND d.device = ?", [cs, dev]);
      },
    },
  ];

  test.each(runs.map((r) => [r.name, r] as const))('%s', async (_, run) => {
    const reason = `redlines audit ${run.name} ${tag}`;
    const t0 = Date.now();
    const r = await runAs(lab, USERS[run.user])(run.args(reason));
    try {
      expect(r.code === 0).toBe(run.ok);
      const recs = local(reason);
      expect(recs.map((x) => [x.phase, x.command, x.user, x.ok])).toEqual([
        ['intent', run.command, USERS[run.user], undefined],
        ['result', run.command, USERS[run.user], run.ok],
      ]);
      const [intent, result] = recs as [AuditRecord, AuditRecord];
      expect(result.id).toBe(intent.id);
      expect(Date.parse(intent.ts)).toBeGreaterThanOrEqual(t0 - 1000);
      expect(Date.parse(result.ts)).toBeGreaterThanOrEqual(Date.parse(intent.ts));
      expect(result.exit_code).toBe(r.code);
      expect(await inMetadb([intent.id])).toEqual([[intent.id, 'intent'], [intent.id, 'result']]);
    } finally {
      await run.undo?.();
    }
  });

  test('the intent is on disk before the remote command runs, the result after it ends', async () => {
    const reason = `redlines audit order ${tag}`;
    // The NC is its own host and cannot read the jump host's audit log: the remote command marks
    // that it runs (in the NC's /tmp, its disk's tmp/ here) and waits; the log is read meanwhile.
    const marker = path.join(lab.hostDisk(n.nc), 'tmp', `redlines-order-${tag}`);
    const running = lab.run(['go2nc', n.nc, '--reason', reason, '--', `touch /tmp/redlines-order-${tag}; sleep 2`]);
    try {
      for (let i = 0; i < 300 && !fs.existsSync(marker); i++) await new Promise((res) => setTimeout(res, 50));
      expect(fs.existsSync(marker)).toBe(true);
      expect(local(reason).map((x) => x.phase)).toEqual(['intent']);
      expect((await running).code).toBe(0);
      expect(local(reason).map((x) => x.phase)).toEqual(['intent', 'result']);
    } finally {
      await running;
      fs.rmSync(marker, { force: true });
    }
  });

  test('audit list joins them: filters by user, target and command, -o json fields', async () => {
    const r = await lab.run(['audit', 'list', '--user', USERS.operator, '--command', 'go2nc', '--target', n.nc, '--since', '1h', '-o', 'json']);
    expect(r.code).toBe(0);
    const rows = json<AuditEntry[]>(r);
    const mine = rows.filter((x) => x.reason === `redlines audit go2nc failing on one host ${tag}`);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ user: USERS.operator, command: 'go2nc', targets: [n.nc], outcome: 'failed', exit_code: 3, dry_run: false });
    expect(Object.keys(mine[0]!).sort()).toEqual(['command', 'detail', 'dry_run', 'exit_code', 'finished_at', 'id', 'outcome', 'profile', 'reason', 'targets', 'ts', 'user']);
    const m = await lab.run(['audit', 'list', '--source', 'metadb', '--user', USERS.operator, '--since', '1h', '-o', 'json']);
    expect(json<AuditEntry[]>(m).some((x) => x.id === mine[0]!.id && x.outcome === 'failed')).toBe(true);
    for (const fmt of ['table', 'wide', 'tsv']) expect((await lab.run(['audit', 'list', '--since', '1h', '-o', fmt])).code).toBe(0);
  });
});

describe('a command killed mid-way leaves an intent with no result', () => {
  const sleeper = `sleep 29.${Number.parseInt(tag, 16) % 1000}`;

  /** Pids of `sleep 29.NNN` processes (the remote side of the killed fan-out), found by their exact argv. */
  const sleepers = (): number[] =>
    fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8') === `${sleeper.replace(' ', '\0')}\0`;
      } catch {
        return false;
      }
    }).map(Number);

  afterAll(() => {
    for (const pid of sleepers()) process.kill(pid, 'SIGKILL');
  });

  test('SIGKILL during go2nc: audit list shows it as no-result, locally and in ops_audit', async () => {
    const reason = `redlines audit kill ${tag}`;
    const child = spawn(process.execPath, [BIN, 'go2nc', n.nc, '--reason', reason, '--', sleeper], { env: lab.env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
    const deadline = Date.now() + 15_000;
    while (!(local(reason).length && sleepers().length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(sleepers().length).toBe(1);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(local(reason).map((x) => x.phase)).toEqual(['intent']);
    const [intent] = local(reason);
    for (const source of ['local', 'metadb']) {
      const rows = json<AuditEntry[]>(await lab.run(['audit', 'list', '--source', source, '--command', 'go2nc', '--since', '1h', '-o', 'json']));
      expect(rows.find((x) => x.id === intent!.id)).toMatchObject({ outcome: 'no-result', exit_code: null, finished_at: null, reason });
    }
    const table = await lab.run(['audit', 'list', '--command', 'go2nc', '--since', '1h']);
    expect(table.stdout).toMatch(new RegExp(`go2nc\\s+${n.nc}\\s+no-result\\s+-\\s+${reason}`));
  });
});

describe('an audit log that cannot be written: the command refuses before it acts', () => {
  const ro = path.join(tmp, 'ro');
  const roLog = path.join(ro, 'audit.jsonl');
  const asRoot = process.getuid?.() === 0;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    fs.mkdirSync(ro);
    // root ignores mode bits; the immutable attribute stops root too.
    if (asRoot) execFileSync('chattr', ['+i', ro]);
    else fs.chmodSync(ro, 0o500);
    env = configWith('ro-audit', (p) => ({ ...p, audit_log: roLog }));
  });
  afterAll(() => {
    if (asRoot) execFileSync('chattr', ['-i', ro]);
    else fs.chmodSync(ro, 0o700);
  });

  const attempts: Array<[string, (ins: string) => string[]]> = [
    ['go2nc', () => ['go2nc', n.ncSet, '--', `touch "$RDS_HOST_ROOT/tmp/redlines-unaudited-${tag}"`]],
    ['go2vm', () => ['go2vm', n.runningVm, '--', `touch "$RDS_HOST_ROOT/tmp/redlines-unaudited-${tag}"`]],
    ['hyapi stop_vm', () => ['hyapi', 'stop_vm', `vm_name=${n.runningVm}`, '-o', 'table']],
    ['hyapi add_natgw_acl', () => ['hyapi', 'add_natgw_acl', `natgw_id=${n.natgw}`, 'direction=ingress', 'protocol=tcp', 'src_cidr=198.51.100.0/24', 'dst_cidr=172.16.1.0/24', 'port_range=22/22', '-o', 'table']],
    ['nc lock', () => ['nc', 'lock', n.nc, '--reason', 'unaudited']],
    ['vpc route add', () => ['vpc', 'route', 'add', '--vpc', n.vpc, '--cidr', n.routeCidr, '--next-hop', n.nextHop]],
    ['pangu disk offline', () => ['pangu', 'disk', 'offline', n.freeDisk, '--yes', '--reason', 'unaudited']],
    ['instance create', () => ['instance', 'create', '--no-wait']],
  ];

  test.each(attempts)('%s: exit 8 naming the log, nothing written', async (_, args) => {
    const before = await metadbSnapshot(ctx);
    const hosts = hostsSnapshot(lab.dir);
    const r = await lab.run(args(''), { env });
    const changed = [...diffSnapshots(before, await metadbSnapshot(ctx)), ...diffSnapshots(hosts, hostsSnapshot(lab.dir))];
    expect({ code: r.code, line: oneErrorLine(r.stderr), changed }).toEqual({
      code: 8,
      line: expect.stringMatching(new RegExp(`^rdsctl: audit log ${roLog.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not writable \\(E[A-Z]+\\); refusing to act unaudited$`)),
      changed: [],
    });
    expect(fs.existsSync(roLog)).toBe(false);
  });

  test('reads still work: they write no audit', async () => {
    expect((await lab.run(['go2vmlist', n.nc], { env })).code).toBe(0);
  });
});

describe('metadb down: roles fail closed; a personal profile acts, audits locally, backfills later', () => {
  let deadPort: number;
  beforeAll(async () => {
    deadPort = await freePort();
  });
  const deadDbaas = (p: Profile): Profile => ({ ...p, databases: { ...p.databases, dbaas: { ...p.databases.dbaas!, dsn: `mysql://rdsctl@127.0.0.1:${deadPort}/dbaas` } } });

  test('roles from the table and dbaas unreachable: exit 8 naming the db and where, nothing runs', async () => {
    const env = configWith('dead-dbaas', deadDbaas);
    const hosts = hostsSnapshot(lab.dir);
    const r = await lab.run(['go2nc', n.nc, '--', `touch "$RDS_HOST_ROOT/tmp/redlines-closed-${tag}"`], { env });
    expect(r.code).toBe(8);
    expect(oneErrorLine(r.stderr)).toBe(`rdsctl: cannot check the role of ${os.userInfo().username} for rdsctl go2nc: metadb dbaas at 127.0.0.1:${deadPort} is unreachable: ECONNREFUSED`);
    expect(diffSnapshots(hosts, hostsSnapshot(lab.dir))).toEqual([]);
  });

  test('roles_source none: the fan-out runs, the record is local only; audit backfill copies it once', async () => {
    const env = configWith('dead-dbaas-noroles', (p) => ({ ...deadDbaas(p), roles_source: 'none' }));
    const reason = `redlines audit metadb down ${tag}`;
    const r = await lab.run(['go2nc', n.nc, '--reason', reason, '--', 'true'], { env });
    expect(r.code).toBe(0);
    const recs = local(reason);
    expect(recs.map((x) => x.phase)).toEqual(['intent', 'result']);
    expect(await inMetadb([recs[0]!.id])).toEqual([]);
    const dry = await lab.run(['audit', 'backfill', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: copy [1-9]\d* record\(s\) of /);
    expect(await inMetadb([recs[0]!.id])).toEqual([]);
    const b = await lab.run(['audit', 'backfill']);
    expect(b.code).toBe(0);
    expect(b.stderr).toMatch(/^audit backfill: [1-9]\d* record\(s\) copied to dbaas.ops_audit from /);
    expect(await inMetadb([recs[0]!.id])).toEqual([[recs[0]!.id, 'intent'], [recs[0]!.id, 'result']]);
    expect((await lab.run(['audit', 'backfill'])).stderr).toMatch(/^audit backfill: 0 record\(s\) copied/);
  });
});
