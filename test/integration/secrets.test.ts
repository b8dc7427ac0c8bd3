import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { readConfig, writeConfig } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import type { CliResult } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { labNames, type LabNames } from '../support/redlines.js';
import type { InstanceRecord } from '../../src/rds/record.js';

// Passwords never show: not on any command line while rdsctl works (sampled with ps during an
// instance create and a fan-out), not in any output of a representative run (tables and -o json),
// not in the audit (file and ops_audit), the lab's logs, the JUnit report, an error message — the
// lab's metadb password, and every password of an instance this file creates.

jest.setTimeout(180_000);

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin/rdsctl');
const tag = randomBytes(3).toString('hex');
const INS = `rm-sec${tag}`;
const APP_PW = `App-${randomBytes(9).toString('base64url')}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-secrets-'));
const run = promisify(execFile);

let lab: TestLab;
let ctx: Context;
let n: LabNames;
let labPw: string;
let instanceSecrets: string[] = [];
let created: InstanceRecord;
/** Everything rdsctl printed in this file, by what printed it. */
const seen: Array<{ what: string; text: string }> = [];

const secrets = (): string[] => [labPw, APP_PW, ...instanceSecrets];
function keep(what: string, r: CliResult | { stdout: string; stderr: string }): void {
  seen.push({ what, text: `${r.stdout}\n${r.stderr}` });
}
/** Which secrets occur in `text` (by index into secrets(), so a failure does not print them). */
function leaks(text: string): number[] {
  return secrets().flatMap((s, i) => (text.includes(s) ? [i] : []));
}

/** Runs bin/rdsctl as its own process and samples `ps -eo args` until it exits. */
async function withPs(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string; samples: number; ps: string[] }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: lab.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? '');
  let done = false;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => ((done = true), resolve(code))));
  const ps = new Set<string>();
  let samples = 0;
  while (!done) {
    const { stdout: out } = await run('ps', ['-eo', 'args', '--no-headers'], { maxBuffer: 64 << 20 });
    for (const line of out.split('\n')) ps.add(line);
    samples++;
  }
  return { code: await exited, stdout, stderr, samples, ps: [...ps] };
}

beforeAll(async () => {
  lab = sharedLab();
  ctx = lab.context().ctx;
  n = await labNames(ctx);
  labPw = (JSON.parse(fs.readFileSync(path.join(lab.dir, 'secrets.json'), 'utf8')) as { mariadb_password: string }).mariadb_password;
  expect(labPw.length).toBeGreaterThanOrEqual(16);
});

afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await ctx.close();
});

test('instance create (password on stdin): no password on any command line while the 81 steps run', async () => {
  const r = await withPs(['instance', 'create', '--name', INS, '--db', 'shop', '--account', 'app', '--password-stdin', '--reason', 'secrets test', '-o', 'json'], `${APP_PW}\n`);
  keep('instance create', r);
  expect({ code: r.code, stderr: r.stderr.split('\n').filter((l) => l.startsWith('rdsctl:')) }).toEqual({ code: 0, stderr: [] });
  instanceSecrets = (await ctx.db('dbaas').query<{ secret: string }>('SELECT s.secret FROM custins_secret s JOIN custins c ON c.id = s.custins_id WHERE c.ins_name = ?', [INS])).map((x) => x.secret);
  // aliyun_root, replicator, the maintenance account and app
  expect(instanceSecrets.length).toBeGreaterThanOrEqual(4);
  expect(instanceSecrets).toContain(APP_PW);
  expect(r.samples).toBeGreaterThan(5);
  // The steps did run while we looked: their remote shells and mariadbd show up in the samples.
  expect(r.ps.some((l) => l.includes('/mysqldata/dbs'))).toBe(true);
  expect(r.ps.filter((l) => leaks(l).length)).toEqual([]);
  created = JSON.parse(r.stdout) as InstanceRecord;
});

test('no password in any binlog or relay log of either host, read with mariadb-binlog', async () => {
  // The logs on disk of both hosts (each host's disk is hosts/<host>/ in the lab dir).
  const files: string[] = [];
  const kinds = new Set<string>();
  for (const [role, node] of [['master', created.master!], ['slave', created.slave!]] as const) {
    const dir = path.join(lab.dir, 'hosts', node.host, `mysqldata/dbs${node.port}`);
    for (const f of fs.readdirSync(dir).filter((x) => /^(mysql|relay)-bin\.\d+$/.test(x))) {
      files.push(path.join(dir, f));
      kinds.add(`${role}:${f.split('.')[0]}`);
    }
  }
  // Both hosts have a binlog and a relay log (dual master, log_slave_updates).
  expect([...kinds].sort()).toEqual(['master:mysql-bin', 'master:relay-bin', 'slave:mysql-bin', 'slave:relay-bin']);
  let decoded = '';
  for (const f of files) {
    const { stdout } = await run('mariadb-binlog', ['--base64-output=decode-rows', '--verbose', f], { maxBuffer: 256 << 20 });
    decoded += stdout;
    const raw = fs.readFileSync(f, 'latin1');
    expect([path.basename(f), leaks(raw)]).toEqual([path.basename(f), []]);
  }
  // What the logs do hold: the replicated GRANTs of the maintenance users and of app.
  expect(decoded).toMatch(/GRANT ALL PRIVILEGES ON \*\.\* TO [`']?aliyun_root/i);
  expect(decoded).toMatch(/GRANT SELECT, INSERT.* TO [`']?app/i);
  expect(decoded).not.toMatch(/IDENTIFIED (BY|VIA|WITH)/i);
  expect(leaks(decoded)).toEqual([]);
});

test('a fan-out of sleep 3: no password on any command line', async () => {
  const r = await withPs(['go2nc', n.ncSet, '--reason', 'secrets test', '--', 'sleep 3']);
  keep('go2nc sleep', r);
  expect(r.code).toBe(0);
  expect(r.ps.some((l) => /sleep 3/.test(l))).toBe(true);
  expect(r.ps.filter((l) => leaks(l).length)).toEqual([]);
});

test('every output of a representative run, tables and -o json, holds no password', async () => {
  const junit = path.join(tmp, 'smoke.xml');
  const [task] = await ctx.db('dbaas').query<{ id: number }>('SELECT t.id FROM task_queue t JOIN custins c ON c.id = t.custins_id WHERE c.ins_name = ?', [INS]);
  const runs: string[][] = [
    ['config', 'show'], ['config', 'show', '-o', 'json'], ['config', 'list', '-o', 'json'], ['lab', 'status', '-o', 'json'],
    ['instance', 'show', INS], ['instance', 'show', INS, '--live', '-o', 'json'], ['instance', 'show', INS, '-o', 'wide'], ['instance', 'list', '-o', 'json'],
    ['instance', 'step', INS, 'list', '-o', 'json'], ['instance', 'step', INS, 'list', '-o', 'wide'], ['instance', 'step', INS, 'resume', '--reason', 'secrets test'],
    ['task', 'show', String(task!.id), '-o', 'json'], ['task', 'show', String(task!.id), '-o', 'wide'], ['task', 'list', '-o', 'json'],
    ['check', 'rds', '-o', 'json'], ['check', '--junit', junit], ['go2ncinfo', n.nc, '--live', '-o', 'json'], ['go2which', INS, '-o', 'json'],
    ['go2nc', n.nc, '-o', 'json', '--', 'hostname'], ['hyapi', 'detail_vm', `vm_name=${n.runningVm}`],
    ['audit', 'list', '--since', '1h', '-o', 'json'], ['audit', 'list', '--since', '1h', '--source', 'metadb', '-o', 'wide'], ['audit', 'backfill', '--dry-run'],
    ['instance', 'delete', INS, '--dry-run', '-o', 'json'], ['instance', 'create', '--dry-run', '-o', 'json'],
  ];
  for (const args of runs) keep(args.join(' '), await lab.run(args));
  keep('junit', { stdout: fs.readFileSync(junit, 'utf8'), stderr: '' });
  const bad = seen.map((s) => ({ what: s.what, leaks: leaks(s.text) })).filter((s) => s.leaks.length);
  expect(bad).toEqual([]);
});

test('an error about a wrong password does not show it, not even with --debug', async () => {
  const wrong = `Wr0ng-${randomBytes(8).toString('hex')}`;
  const cfg = readConfig(lab.configPath);
  const file = path.join(tmp, 'wrong.json');
  writeConfig(file, { ...cfg, profiles: cfg.profiles.map((p) => (p.name === cfg.current ? { ...p, roles_source: 'none', databases: { ...p.databases, houyi: { ...p.databases.houyi!, password: wrong } } } : p)) });
  for (const args of [['go2vmlist', n.nc], ['--debug', 'go2vmlist', n.nc], ['hyapi', 'list_nc', '-o', 'json']]) {
    const r = await lab.run(args, { env: { RDSCTL_CONFIG: file } });
    keep(`wrong password: ${args.join(' ')}`, r);
    // A wrong password is a configuration error (7) that says so, not "unreachable" (8).
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/metadb houyi at 127\.0\.0\.1:\d+ refused the login: ER_ACCESS_DENIED_ERROR \(check the user or password in the profile's databases\.houyi\)/);
    expect(`${r.stdout}${r.stderr}`).not.toContain(wrong);
    expect(leaks(`${r.stdout}${r.stderr}`)).toEqual([]);
  }
});

test('a password is never taken from the config set command line; from stdin it is stored and shown masked', async () => {
  const file = path.join(tmp, 'set.json');
  fs.copyFileSync(lab.configPath, file);
  const env = { RDSCTL_CONFIG: file };
  const argv = await lab.run(['config', 'set', 'databases.vpc.password', APP_PW], { env });
  expect(argv.code).toBe(2);
  expect(argv.stderr).toMatch(/a password on the command line shows in ps and shell history; give "-" and the password on stdin/);
  expect(argv.stderr).not.toContain(APP_PW);
  const piped = await lab.run(['config', 'set', 'databases.vpc.password', '-'], { env, stdin: `${labPw}\n` });
  expect(piped.code).toBe(0);
  const shown = await lab.run(['config', 'show', '-o', 'json'], { env });
  keep('config show after set', shown);
  expect((JSON.parse(shown.stdout) as { databases: { vpc: { password: string } } }).databases.vpc.password).toBe('********');
  expect((await lab.run(['vpc', 'route', 'list'], { env })).code).toBe(0);
});

test('instance delete, then the logs and the audit hold no password either', async () => {
  const d = await lab.run(['instance', 'delete', INS, '--yes', '--reason', 'secrets test cleanup', '-o', 'json']);
  keep('instance delete', d);
  expect(d.code).toBe(0);
  const logs: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && e.name !== 'data') walk(p);
      else if (e.isFile() && /\.(log|err|jsonl)$|^error\.log/.test(e.name)) logs.push(p);
    }
  };
  walk(lab.dir);
  expect(logs.some((p) => p.endsWith('mariadb.log'))).toBe(true);
  // Each lab host's sshd log is in the host: hosts/<host>/var/log/sshd.log.
  expect(logs.some((p) => /\/var\/log\/sshd\.log$/.test(p))).toBe(true);
  expect(logs).toContain(ctx.profile().audit_log);
  const leaked = logs.filter((p) => leaks(fs.readFileSync(p, 'latin1')).length).map((p) => path.relative(lab.dir, p));
  expect(leaked).toEqual([]);
  const rows = await ctx.db('dbaas').query<Record<string, unknown>>('SELECT command, targets, reason, detail FROM ops_audit');
  expect(rows.length).toBeGreaterThan(0);
  expect(leaks(JSON.stringify(rows))).toEqual([]);
});

test('the files that hold a secret are 0600: config, the lab\'s client.cnf and secrets.json, the audit log', () => {
  for (const f of [lab.configPath, path.join(lab.dir, 'client.cnf'), path.join(lab.dir, 'secrets.json'), ctx.profile().audit_log!]) {
    expect([f, (fs.statSync(f).mode & 0o777).toString(8)]).toEqual([f, '600']);
  }
});

test('no source file puts a password on a command line it builds', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      // redact-words.ts names the password options of each program in order to redact them
      else if (p.endsWith('.ts') && path.basename(p) !== 'redact-words.ts') {
        fs.readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
          // -p<password> / --password=<value> / MYSQL_PWD=<value> built into a command string or argv
          if (/(?:['"`\s]-p\$\{|--password[= ]\$\{|MYSQL_PWD=\$\{|['"]--password['"]\s*,|IDENTIFIED BY '\$\{)/.test(line)) offenders.push(`${path.relative(REPO, p)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(path.join(REPO, 'src'));
  expect(offenders).toEqual([]);
});
