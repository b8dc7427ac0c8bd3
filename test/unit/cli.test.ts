import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandWords } from '../../src/cli.js';
import { COMMANDS } from '../../src/commands/index.js';
import { runCli } from '../support/run.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-cli-'));
const cfgFile = path.join(tmp, 'config.json');
const env = { HOME: tmp, RDSCTL_CONFIG: cfgFile, PATH: process.env.PATH };
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('program contract', () => {
  it('--version prints the version', async () => {
    const r = await runCli(['--version'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
  });

  it("a command's own --version is not taken for the program's", async () => {
    const r = await runCli(['config', 'list', '--version'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--version'/);
    expect((await runCli(['--debug', '--version'], { env })).stdout.trim()).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
  });

  it('--help lists every command group with a summary', async () => {
    const r = await runCli(['--help'], { env });
    expect(r.code).toBe(0);
    for (const top of new Set(COMMANDS.map((c) => c.path[0]))) expect(r.stdout).toMatch(new RegExp(`\\n  ${top}\\b`));
  });

  it('every command has a summary and examples in its own --help', async () => {
    for (const spec of COMMANDS) {
      expect(spec.summary.length).toBeGreaterThan(10);
      const r = await runCli([...spec.path, '--help'], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Examples:');
    }
    // Every verb's --help in turn (70 of them, each loading its module): seconds on a loaded 2-core machine.
  }, 60_000);

  it('help exit-codes prints the table', async () => {
    const r = await runCli(['help', 'exit-codes'], { env });
    expect(r.stdout).toMatch(/130\s+interrupted/);
    expect(r.stdout).toMatch(/2\s+usage/);
  });

  it('unknown command and bad flag are one-line usage errors', async () => {
    const a = await runCli(['nosuch'], { env });
    expect(a.code).toBe(2);
    expect(a.stderr).toBe("rdsctl: unknown command 'nosuch'\n");
    const b = await runCli(['config', 'list', '--nosuch'], { env });
    expect(b.code).toBe(2);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('unknown profile: config exit code, one line, no stack', async () => {
    const r = await runCli(['--profile', 'ghost', 'config', 'show'], { env });
    expect(r.code).toBe(7);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('--debug adds the stack trace', async () => {
    const r = await runCli(['--debug', '--profile', 'ghost', 'config', 'show'], { env });
    expect(r.code).toBe(7);
    expect(r.stderr.split('\n').length).toBeGreaterThan(2);
  });

  it('unreadable config: config exit code naming the file', async () => {
    fs.writeFileSync(cfgFile, '{not json');
    const r = await runCli(['config', 'list'], { env });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(cfgFile);
    fs.rmSync(cfgFile);
  });

  it('config set/use/show/list round-trip with masking', async () => {
    fs.writeFileSync(cfgFile, JSON.stringify({ current: 'a', profiles: [{ name: 'a', databases: { dbaas: { dsn: 'mysql://u@127.0.0.1:1/dbaas', password: 'hunter2' } } }, { name: 'b' }] }));
    expect((await runCli(['config', 'set', 'ssh.user', 'admin'], { env })).code).toBe(0);
    const shown = await runCli(['config', 'show', '-o', 'json'], { env });
    expect(JSON.parse(shown.stdout).ssh.user).toBe('admin');
    expect(shown.stdout).not.toContain('hunter2');
    expect((await runCli(['config', 'use', 'b'], { env })).code).toBe(0);
    const list = JSON.parse((await runCli(['config', 'list', '-o', 'json'], { env })).stdout) as Array<{ name: string; current: boolean }>;
    expect(list.find((p) => p.current)?.name).toBe('b');
    expect(fs.statSync(cfgFile).mode & 0o777).toBe(0o600);
    const bad = await runCli(['config', 'set', 'databases.dbaas.dsn', 'mysql://u:pw@h/dbaas'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/must not contain a password/);
  });
});

describe('commandWords', () => {
  it('skips global options and their values', () => {
    expect(commandWords(['--profile', 'x', 'instance', 'step', 'list'])).toEqual(['instance', 'step']);
    expect(commandWords(['--debug', 'go2nc', 'nc-a01', '--', 'ls'])).toEqual(['go2nc', 'nc-a01']);
    expect(commandWords(['--version'])).toEqual([]);
  });
});
