import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { readConfig } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import type { CliResult } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { CANARY_FILE, CANARY_TABLE, hostileCorpus, label } from '../support/hostile-corpus.js';
import { labNames, type LabNames } from '../support/redlines.js';

// The hostile corpus against every command that takes a name, key=value, a node set, a step, a
// CIDR, a number or a path: each input ends in exit 0 (correct handling, e.g. an empty list), a
// usage error (2) or not-found (3) — or the slot's own documented code — with one stderr line and
// no stack trace, never exit 1. A canary table and canary files in every host root, and a marker
// file that the shell payloads would create, prove that no SQL or shell injection ran.
//
// `lab up` is left out: its --dir starts a whole lab in a new directory (its inputs are unit-tested
// in test/unit/lab-params.test.ts).

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-hostile-'));
const MARKER = path.join(tmp, 'pwned');
const CORPUS = hostileCorpus(MARKER);
const JUNIT_DIR = path.join(tmp, 'junit');

interface Fixture extends LabNames {
  ins: string;
}

interface Slot {
  name: string;
  args: (v: string, f: Fixture) => string[];
  /** Exit codes besides 0, 2 and 3 this slot documents for bad input. */
  also?: number[];
  /** A secondary option of a command whose main input gets the whole corpus: every 6th entry plus every payload. */
  sample?: boolean;
  /**
   * Runs against a fresh copy of the config, one input at a time: the command writes the config,
   * or (lab) falls back to the profile's lab, which in the copy is a decoy and not the shared lab.
   */
  ownConfig?: boolean;
}

const dry = '--dry-run';
const acl = (f: Fixture, over: Record<string, string>): string[] =>
  Object.entries({ natgw_id: f.natgw, direction: 'ingress', protocol: 'tcp', src_cidr: '198.51.100.0/24', dst_cidr: '172.16.1.0/24', port_range: '22/22', ...over }).map(([k, v]) => `${k}=${v}`);
const create = (flag: string) => (v: string): string[] => ['instance', 'create', dry, flag, v];
const junitPath = (v: string): string => {
  const p = `${JUNIT_DIR}/${v}`;
  // Only ever inside the test's own directory, whatever ".." the input holds.
  return path.resolve(p).startsWith(`${JUNIT_DIR}/`) ? p : `${JUNIT_DIR}/${v.replace(/\.\./g, '__')}`;
};

const SLOTS: Slot[] = [
  { name: 'backup show ID', args: (v) => ['backup', 'show', v] },
  { name: 'backup list --instance', args: (v) => ['backup', 'list', '--instance', v], sample: true },
  { name: 'instance backup NAME', args: (v) => ['instance', 'backup', v, dry], sample: true },
  { name: 'backup archive NAME', args: (v) => ['backup', 'archive', v, dry], sample: true },
  { name: 'instance clone --to-time', args: (v, f) => ['instance', 'clone', f.ins, '--to-time', v, dry], also: [9], sample: true },
  { name: 'go2nc TARGET (node set)', args: (v) => ['go2nc', v, dry, '--', 'true'] },
  { name: 'go2nc --concurrency', args: (v, f) => ['go2nc', f.nc, dry, '--concurrency', v, '--', 'true'], sample: true },
  { name: 'go2nc --connect-timeout', args: (v, f) => ['go2nc', f.nc, dry, '--connect-timeout', v, '--', 'true'], sample: true },
  { name: 'go2nc --command-timeout', args: (v, f) => ['go2nc', f.nc, dry, '--command-timeout', v, '--', 'true'], sample: true },
  { name: 'go2nc --reason', args: (v, f) => ['go2nc', f.nc, dry, '--reason', v, '--', 'true'], sample: true },
  { name: 'go2vm VM', args: (v) => ['go2vm', v, dry, '--', 'true'], also: [9] },
  { name: 'go2ncinfo NC', args: (v) => ['go2ncinfo', v] },
  { name: 'go2vmlist NC', args: (v) => ['go2vmlist', v] },
  { name: 'go2which NAME', args: (v) => ['go2which', v] },
  { name: 'hyapi ACTION', args: (v) => ['hyapi', v] },
  { name: 'hyapi KEY=', args: (v, f) => ['hyapi', 'detail_vm', `${v}=${f.runningVm}`], sample: true },
  { name: 'hyapi detail_vm vm_name=', args: (v) => ['hyapi', 'detail_vm', `vm_name=${v}`] },
  { name: 'hyapi stop_vm vm_name=', args: (v) => ['hyapi', 'stop_vm', `vm_name=${v}`, dry], also: [9], sample: true },
  { name: 'hyapi list_vm nc_name=', args: (v) => ['hyapi', 'list_vm', `nc_name=${v}`], sample: true },
  { name: 'hyapi detail_nc nc_name=', args: (v) => ['hyapi', 'detail_nc', `nc_name=${v}`], sample: true },
  { name: 'hyapi list_nc zone=', args: (v) => ['hyapi', 'list_nc', `zone=${v}`], sample: true },
  { name: 'hyapi list_nc cluster=', args: (v) => ['hyapi', 'list_nc', `cluster=${v}`], sample: true },
  { name: 'hyapi --wait', args: (v, f) => ['hyapi', 'stop_vm', `vm_name=${f.runningVm}`, dry, '--wait', v], sample: true },
  { name: 'hyapi list_natgw_acl natgw_id=', args: (v) => ['hyapi', 'list_natgw_acl', `natgw_id=${v}`], sample: true },
  { name: 'hyapi list_natgw_acl direction=', args: (v) => ['hyapi', 'list_natgw_acl', `direction=${v}`], sample: true },
  ...['natgw_id', 'direction', 'protocol', 'src_cidr', 'dst_cidr', 'port_range', 'policy', 'priority', 'description'].map(
    (k): Slot => ({ name: `hyapi add_natgw_acl ${k}=`, args: (v, f) => ['hyapi', 'add_natgw_acl', ...acl(f, { [k]: v }), dry], also: [9], sample: k !== 'src_cidr' }),
  ),
  { name: 'hyapi delete_natgw_acl acl_id=', args: (v) => ['hyapi', 'delete_natgw_acl', `acl_id=${v}`, dry], sample: true },
  { name: 'lb_node status --cluster', args: (v) => ['lb_node', 'status', '--cluster', v] },
  { name: 'lb_node status --status', args: (v) => ['lb_node', 'status', '--status', v], sample: true, also: [4] },
  { name: 'lb_node status --live --timeout', args: (v) => ['lb_node', 'status', '--cluster', 'nosuch', '--live', '--timeout', v], sample: true },
  { name: 'proxy status --cluster', args: (v) => ['proxy', 'status', '--cluster', v] },
  { name: 'proxy status --concurrency', args: (v) => ['proxy', 'status', '--cluster', 'nosuch', '--live', '--concurrency', v], sample: true },
  { name: 'tianji cluster list --product', args: (v) => ['tianji', 'cluster', 'list', '--product', v] },
  { name: 'tianji service list --cluster', args: (v) => ['tianji', 'service', 'list', '--cluster', v] },
  { name: 'tianji serverrole status --cluster', args: (v) => ['tianji', 'serverrole', 'status', '--cluster', v] },
  { name: 'tianji serverrole status --service', args: (v, f) => ['tianji', 'serverrole', 'status', '--cluster', f.tianjiCluster, '--service', v], sample: true },
  { name: 'tianji machine HOST', args: (v) => ['tianji', 'machine', v] },
  { name: 'pangu chunkserver status --cluster', args: (v) => ['pangu', 'chunkserver', 'status', '--cluster', v] },
  { name: 'pangu disk status --chunkserver', args: (v) => ['pangu', 'disk', 'status', '--chunkserver', v] },
  { name: 'pangu disk status --status', args: (v) => ['pangu', 'disk', 'status', '--status', v], sample: true, also: [4] },
  { name: 'pangu disk offline DISK', args: (v) => ['pangu', 'disk', 'offline', v, dry], also: [9] },
  { name: 'vpc route list --vpc', args: (v) => ['vpc', 'route', 'list', '--vpc', v] },
  { name: 'vpc route add --vpc', args: (v, f) => ['vpc', 'route', 'add', dry, '--vpc', v, '--cidr', f.routeCidr, '--next-hop', f.nextHop], sample: true },
  { name: 'vpc route add --cidr', args: (v, f) => ['vpc', 'route', 'add', dry, '--vpc', f.vpc, '--cidr', v, '--next-hop', f.nextHop], also: [9] },
  { name: 'vpc route add --next-hop', args: (v, f) => ['vpc', 'route', 'add', dry, '--vpc', f.vpc, '--cidr', f.routeCidr, '--next-hop', v], sample: true },
  { name: 'vpc route add --description', args: (v, f) => ['vpc', 'route', 'add', dry, '--vpc', f.vpc, '--cidr', f.routeCidr, '--next-hop', f.nextHop, '--description', v], sample: true },
  { name: 'vpc route delete ROUTE', args: (v) => ['vpc', 'route', 'delete', v, dry], sample: true },
  { name: 'vpc route delete --cidr', args: (v, f) => ['vpc', 'route', 'delete', dry, '--vpc', f.vpc, '--cidr', v], sample: true },
  // `check --` runs every check: the seed has unhealthy parts (4).
  { name: 'check CHECK', args: (v) => ['check', v], also: [4] },
  { name: 'check --junit FILE', args: (v) => ['check', 'pangu', '--junit', junitPath(v)], also: [4, 8], sample: true },
  { name: 'check --timeout', args: (v) => ['check', 'pangu', '--timeout', v], sample: true, also: [4] },
  { name: 'instance show NAME', args: (v) => ['instance', 'show', v] },
  { name: 'instance step NAME list', args: (v) => ['instance', 'step', v, 'list'], sample: true },
  { name: 'instance step ACTION', args: (v, f) => ['instance', 'step', f.ins, v, dry], sample: true },
  { name: 'instance step run STEP', args: (v, f) => ['instance', 'step', f.ins, 'run', v, dry] },
  { name: 'instance step goto STEP', args: (v, f) => ['instance', 'step', f.ins, 'goto', v, dry], sample: true },
  { name: 'instance step --task', args: (v, f) => ['instance', 'step', f.ins, 'list', '--task', v], sample: true },
  { name: 'instance step --lease-ttl', args: (v, f) => ['instance', 'step', f.ins, 'resume', dry, '--lease-ttl', v], sample: true },
  { name: 'instance delete NAME', args: (v) => ['instance', 'delete', v, dry] },
  { name: 'instance list --nc', args: (v) => ['instance', 'list', '--nc', v] },
  { name: 'instance list --status', args: (v) => ['instance', 'list', '--status', v], sample: true },
  { name: 'instance list --zone', args: (v) => ['instance', 'list', '--zone', v], sample: true },
  { name: 'instance list --limit', args: (v) => ['instance', 'list', '--limit', v], sample: true },
  { name: 'instance create --name', args: create('--name') },
  { name: 'instance create --db', args: create('--db'), sample: true },
  { name: 'instance create --account', args: (v) => ['instance', 'create', dry, '--account', `${v}:S3cure-pass`, '--insecure-password-arg'], sample: true },
  { name: 'instance create --account NAME:PASSWORD', args: (v) => ['instance', 'create', dry, '--account', `app:${v}`, '--insecure-password-arg'], sample: true },
  { name: 'instance create --whitelist', args: create('--whitelist'), sample: true },
  ...['--engine', '--version', '--class', '--storage', '--storage-type', '--zone', '--network', '--vpc-id', '--vswitch-id', '--ecs-sg', '--time-zone', '--lease-ttl'].map((flag): Slot => ({ name: `instance create ${flag}`, args: create(flag), sample: true })),
  { name: 'task show TASK', args: (v) => ['task', 'show', v] },
  { name: 'task list --instance', args: (v) => ['task', 'list', '--instance', v] },
  { name: 'task list --status', args: (v) => ['task', 'list', '--status', v], sample: true },
  { name: 'task list --flow', args: (v) => ['task', 'list', '--flow', v], sample: true },
  { name: 'task list --limit', args: (v) => ['task', 'list', '--limit', v], sample: true },
  { name: 'audit list --target', args: (v) => ['audit', 'list', '--target', v] },
  { name: 'audit list --user', args: (v) => ['audit', 'list', '--user', v, '--source', 'metadb'], sample: true },
  { name: 'audit list --command', args: (v) => ['audit', 'list', '--command', v], sample: true },
  { name: 'audit list --since', args: (v) => ['audit', 'list', '--since', v], sample: true },
  { name: 'audit list --limit', args: (v) => ['audit', 'list', '--limit', v], sample: true },
  { name: 'worker --max-tasks', args: (v) => ['worker', '--once', '--max-tasks', v], sample: true },
  { name: 'worker --poll', args: (v) => ['worker', '--once', '--poll', v], sample: true },
  { name: 'config show NAME', args: (v) => ['config', 'show', v], also: [7], ownConfig: true },
  { name: 'config use NAME', args: (v) => ['config', 'use', v], also: [7], ownConfig: true },
  { name: 'config set KEY', args: (v) => ['config', 'set', v, 'x'], sample: true, ownConfig: true },
  { name: 'config set ssh.user VALUE', args: (v) => ['config', 'set', 'ssh.user', v], sample: true, ownConfig: true },
  { name: 'config set ssh.port VALUE', args: (v) => ['config', 'set', 'ssh.port', v], sample: true, ownConfig: true },
  { name: 'config set audit_log VALUE', args: (v) => ['config', 'set', 'audit_log', v], sample: true, ownConfig: true },
  { name: 'config set databases.dbaas.dsn VALUE', args: (v) => ['config', 'set', 'databases.dbaas.dsn', v], sample: true, ownConfig: true },
  { name: 'lab status --dir', args: (v) => ['lab', 'status', '--dir', v], also: [4], ownConfig: true },
  { name: 'lab down --dir', args: (v) => ['lab', 'down', '--dir', v], ownConfig: true },
];

const isPayload = (v: string): boolean => v.includes(MARKER) || v.includes(CANARY_FILE) || v.includes(CANARY_TABLE);
const SAMPLE = CORPUS.filter((v, i) => i % 6 === 0 || isPayload(v));

let lab: TestLab;
let ctx: Context;
let f: Fixture;
let ownConfig: NodeJS.ProcessEnv;
let pristineConfig: string;
const canaryFiles = (): string[] => f.ncs.concat(f.runningVm).map((h) => path.join(lab.dir, 'hosts', h, CANARY_FILE));

beforeAll(async () => {
  lab = sharedLab();
  ctx = lab.context().ctx;
  const ins = `rm-rh${randomBytes(3).toString('hex')}`;
  const c = await lab.run(['instance', 'create', '--name', ins, '--no-wait', '--reason', 'hostile input']);
  if (c.code !== 0) throw new Error(`instance create --no-wait: ${c.stderr}`);
  f = { ...(await labNames(ctx)), ins };
  await ctx.db('dbaas').execute(`CREATE TABLE IF NOT EXISTS ${CANARY_TABLE} (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL)`);
  await ctx.db('dbaas').execute(`INSERT IGNORE INTO ${CANARY_TABLE} (id, v) VALUES (1, 'canary')`);
  for (const file of canaryFiles()) fs.writeFileSync(file, 'canary\n');
  fs.mkdirSync(JUNIT_DIR);
  const cfg = readConfig(lab.configPath);
  pristineConfig = JSON.stringify({ ...cfg, profiles: cfg.profiles.map((p) => (p.name === cfg.current ? { ...p, lab_dir: path.join(tmp, 'decoy-lab') } : p)) });
  ownConfig = { RDSCTL_CONFIG: path.join(tmp, 'config.json') };
  // A worker slot given a valid number runs what is queued: only this file's paused task may be there.
  const [{ n }] = (await ctx.db('dbaas').query<{ n: number }>("SELECT COUNT(*) AS n FROM task_queue t JOIN custins c ON c.id = t.custins_id WHERE t.status IN ('pending', 'running') AND c.ins_name <> ?", [ins])) as [{ n: number }];
  if (Number(n) !== 0) throw new Error(`${n} task(s) of other instances are queued; the worker slots would run them`);
  // This file's own task must not be run by those worker slots either: park it as an operator would.
  await ctx.db('dbaas').execute("UPDATE task_queue t JOIN custins c ON c.id = t.custins_id SET t.status = 'paused' WHERE c.ins_name = ?", [ins]);
});

afterAll(async () => {
  try {
    await ctx.db('dbaas').execute(`DROP TABLE IF EXISTS ${CANARY_TABLE}`);
    for (const file of canaryFiles()) fs.rmSync(file, { force: true });
    const d = await lab.run(['instance', 'delete', f.ins, '--yes', '--reason', 'hostile input cleanup']);
    if (d.code !== 0) throw new Error(`instance delete ${f.ins}: ${d.stderr}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await ctx.close();
  }
});

/** What is wrong with one run, or null. */
function verdict(slot: Slot, v: string, r: CliResult, ms: number): string | null {
  if (/^\s+at .+:\d+:\d+\)?$/m.test(r.stderr) || /\b(?:TypeError|RangeError|SyntaxError|ReferenceError)\b/.test(r.stderr)) return `stack trace or JS error: ${r.stderr.slice(0, 300)}`;
  if (r.code === 1) return `exit 1: ${r.stderr.slice(0, 300)}`;
  // An input that looks like an option is taken as one (`--profile=x` → unknown profile, 7).
  const asOption = v.startsWith('-') ? [7] : [];
  if (![0, 2, 3, ...(slot.also ?? []), ...asOption].includes(r.code)) return `exit ${r.code}: ${r.stderr.slice(0, 300)}`;
  // 0 and 4 are commands that ran (a view, a check, a dry run): their stderr is their summary.
  if (r.code !== 0 && r.code !== 4) {
    const lines = r.stderr.split('\n');
    if (lines.length !== 2 || lines[1] !== '' || !lines[0]!.startsWith('rdsctl: ')) return `not one stderr line (exit ${r.code}): ${JSON.stringify(r.stderr.slice(0, 300))}`;
  }
  // A SLEEP(5) that reached SQL shows up as time: judged only for the SLEEP payloads (any other
  // input is slow only because the shared machine is loaded), and runSlot re-runs a slow one once.
  if (/SLEEP\(/i.test(v) && ms > 4000) return `took ${ms} ms`;
  return null;
}

async function runSlot(slot: Slot): Promise<{ failures: string[]; codes: Record<number, number>; runs: number }> {
  const inputs = slot.sample ? SAMPLE : CORPUS;
  const failures: string[] = [];
  const codes: Record<number, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const v = inputs[next++]!;
      if (slot.ownConfig) fs.writeFileSync(ownConfig.RDSCTL_CONFIG!, pristineConfig, { mode: 0o600 });
      const t0 = Date.now();
      const r = await lab.run(slot.args(v, f), slot.ownConfig ? { env: ownConfig } : {});
      codes[r.code] = (codes[r.code] ?? 0) + 1;
      let bad = verdict(slot, v, r, Date.now() - t0);
      if (bad?.startsWith('took ')) {
        const t1 = Date.now();
        bad = verdict(slot, v, await lab.run(slot.args(v, f), slot.ownConfig ? { env: ownConfig } : {}), Date.now() - t1) && bad;
      }
      if (bad) failures.push(`${slot.name} ${label(v)}: ${bad}`);
    }
  };
  await Promise.all(slot.ownConfig ? [worker()] : Array.from({ length: 5 }, worker));
  return { failures, codes, runs: inputs.length };
}

test('the corpus has at least 200 distinct inputs of every kind the issue names', () => {
  expect(CORPUS.length).toBeGreaterThanOrEqual(200);
  for (const probe of [/'/, /;/, /\$\(/, /`/, /\*/, /\n/, /\0/, /^.{65536,}$/s, /\u2010/, /\u0430/, /^-1$/, /^18446744073709551616$/, /^--$/, /\/\*/, /^#$/]) {
    expect(CORPUS.some((v) => probe.test(v))).toBe(true);
  }
});

const results: Array<{ slot: string; runs: number; ms: number; codes: Record<number, number> }> = [];

describe('every input ends in a one-line error with a documented code, or is handled', () => {
  test.each(SLOTS.map((s) => [s.name, s] as const))('%s', async (_, slot) => {
    const t0 = Date.now();
    const r = await runSlot(slot);
    results.push({ slot: slot.name, runs: r.runs, ms: Date.now() - t0, codes: r.codes });
    expect(r.failures).toEqual([]);
  });
});

test('an empty --dir is refused, never taken as the active lab (it once stopped the shared lab)', async () => {
  for (const verb of ['down', 'status']) {
    for (const v of ['', ' ']) {
      fs.writeFileSync(ownConfig.RDSCTL_CONFIG!, pristineConfig, { mode: 0o600 });
      const r = await lab.run(['lab', verb, '--dir', v], { env: ownConfig });
      expect({ verb, v, code: r.code, stderr: r.stderr }).toEqual({ verb, v, code: 2, stderr: `rdsctl: --dir ${JSON.stringify(v)}: give a directory\n` });
    }
  }
});

test('an error line never carries raw terminal control characters from the input', async () => {
  for (const args of [['go2which', '\x1b[2J\x1b[31mx'], ['instance', 'show', 'x\x1b]0;pwned\x07'], ['tianji', 'machine', 'x\x1b[2J']]) {
    const r = await lab.run(args);
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  }
});

test('no injection ran: the canary table keeps its row, the canary files stay, no marker appeared', async () => {
  expect(await ctx.db('dbaas').query(`SELECT id, v FROM ${CANARY_TABLE}`)).toEqual([{ id: 1, v: 'canary' }]);
  for (const file of canaryFiles()) expect(fs.readFileSync(file, 'utf8')).toBe('canary\n');
  expect(fs.existsSync(MARKER)).toBe(false);
  const total = results.reduce((s, r) => s + r.runs, 0);
  process.stderr.write(`hostile input: ${CORPUS.length} inputs, ${SLOTS.length} slots, ${total} runs\n${results.map((r) => `  ${r.slot}: ${r.runs} runs ${r.ms} ms ${JSON.stringify(r.codes)}`).join('\n')}\n`);
});
