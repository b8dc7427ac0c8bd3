import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createContext, type Context } from '../../src/core/context.js';
import { createIO } from '../../src/core/io.js';
import { fanoutExitCode, gatherText, hostRecord, outcome, outcomeSummary, runRemote, summaryLine, type FanoutDisplay } from '../../src/houyi/fanout.js';
import type { ExecResult, FanoutOptions, HostTarget, SshPool } from '../../src/remote/ssh-types.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-fanout-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const auditFile = path.join(tmp, 'audit.jsonl');
const cfgFile = path.join(tmp, 'config.json');
fs.writeFileSync(cfgFile, JSON.stringify({ current: 't', profiles: [{ name: 't', databases: {}, ssh: { user: 'root', port: 22 }, audit_log: auditFile }] }));

function res(host: string, over: Partial<ExecResult> = {}): ExecResult {
  return { host, address: `10.0.0.${host.slice(-1)}`, exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 12.4, category: null, ...over };
}

/** A pool that answers fanout() from a table and fails on anything else. */
function tablePool(table: Record<string, ExecResult>, seen: { command?: string; opts?: FanoutOptions }): SshPool {
  const unexpected = (what: string) => () => {
    throw new Error(`unexpected pool.${what}`);
  };
  return {
    exec: unexpected('exec'),
    run: unexpected('run'),
    forget: unexpected('forget'),
    closeAll: async () => undefined,
    async fanout(targets: HostTarget[], command: string, opts: FanoutOptions = {}) {
      seen.command = command;
      seen.opts = opts;
      return targets.map((t) => {
        const r = table[t.name];
        if (!r) throw new Error(`unexpected host ${t.name}`);
        for (const line of r.stdout.split('\n').filter(Boolean)) opts.onLine?.(t.name, 'stdout', line);
        for (const line of r.stderr.split('\n').filter(Boolean)) opts.onLine?.(t.name, 'stderr', line);
        opts.onResult?.(r);
        return r;
      });
    },
  };
}

function harness(signal?: AbortSignal): { ctx: Context; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (d: Buffer) => (o += d.toString()));
  stderr.on('data', (d: Buffer) => (e += d.toString()));
  const env = { HOME: tmp, PATH: process.env.PATH };
  const ctx = createContext({ io: createIO({ stdout, stderr, stdoutIsTTY: false, stderrIsTTY: false, env }), env, configFlag: cfgFile, ...(signal ? { signal } : {}) });
  return { ctx, out: () => o, err: () => e };
}

const targets = (names: string[]): HostTarget[] => names.map((n) => ({ name: n, address: `10.0.0.${n.slice(-1)}`, port: 22 }));

async function run(display: FanoutDisplay, table: Record<string, ExecResult>, signal?: AbortSignal) {
  const h = harness(signal);
  const seen: { command?: string; opts?: FanoutOptions } = {};
  const code = await runRemote(h.ctx, tablePool(table, seen), { verb: 'go2nc', targets: targets(Object.keys(table)), command: 'uptime', display, concurrency: 7, commandTimeoutSec: 3, reason: 'test' });
  await new Promise((r) => setImmediate(r));
  return { code, out: h.out(), err: h.err(), seen };
}

describe('outcomes and exit codes', () => {
  it('names each outcome', () => {
    expect(outcome(res('a1'))).toBe('ok');
    expect(outcome(res('a1', { category: 'exit', exitCode: 2 }))).toBe('exit 2');
    expect(outcome(res('a1', { category: 'signal', exitCode: null, signal: 'KILL' }))).toBe('signal KILL');
    expect(outcome(res('a1', { category: 'refused', exitCode: null }))).toBe('refused');
  });

  it('passes one host\'s code through and never confuses an ssh failure with exit 255', () => {
    expect(fanoutExitCode([res('a1')], false)).toBe(0);
    expect(fanoutExitCode([res('a1', { category: 'exit', exitCode: 3 })], false)).toBe(3);
    expect(fanoutExitCode([res('a1', { category: 'exit', exitCode: 255 })], false)).toBe(255);
    expect(fanoutExitCode([res('a1', { category: 'refused', exitCode: null })], false)).toBe(5);
    expect(fanoutExitCode([res('a1'), res('a2')], false)).toBe(0);
    expect(fanoutExitCode([res('a1'), res('a2', { category: 'exit', exitCode: 1 })], false)).toBe(5);
    expect(fanoutExitCode([res('a1'), res('a2', { category: 'interrupted', exitCode: null })], false)).toBe(130);
    expect(fanoutExitCode([res('a1')], true)).toBe(130);
  });

  it('summarizes failed hosts as a folded node set', () => {
    const rs = [res('nc-a01'), res('nc-a02', { category: 'refused' }), res('nc-a03', { category: 'exit', exitCode: 1 }), res('nc-a04', { category: 'refused' })];
    expect(summaryLine(rs)).toBe('1 ok, 3 failed: nc-a[02-04]\n');
    expect(summaryLine([res('nc-a01')])).toBe('1 ok, 0 failed\n');
    expect(outcomeSummary(rs)).toEqual({ ok: 'nc-a01', refused: 'nc-a[02,04]', 'exit 1': 'nc-a03' });
  });

  it('JSON records carry the documented fields', () => {
    expect(hostRecord(res('nc-a01', { stdout: 'x\n' }))).toEqual({ host: 'nc-a01', address: '10.0.0.1', exit_code: 0, signal: null, stdout: 'x\n', stderr: '', duration_ms: 12, category: null, error: null, truncated: false });
  });
});

describe('gathered output (clush -b)', () => {
  it('folds identical output and outcome under one node set', () => {
    const text = gatherText([
      res('nc-a01', { stdout: 'up 3 days\n' }),
      res('nc-a02', { stdout: 'up 3 days\n' }),
      res('nc-a03', { stdout: 'up 1 day\n' }),
      res('nc-a04', { stdout: 'up 3 days\n', category: 'exit', exitCode: 1 }),
      res('nc-a05', { category: 'refused', exitCode: null }),
      res('nc-a06', { stdout: '' }),
    ]);
    expect(text).toBe(
      ['---------------', 'nc-a[01-02] (2)', '---------------', 'up 3 days', '---------------', 'nc-a03', '---------------', 'up 1 day', '---------------', 'nc-a04 (exit 1)', '---------------', 'up 3 days', ''].join('\n'),
    );
  });

  it("orders blocks as clush does: by return code, then bigger groups, then first host; one-host headers have no count", () => {
    const text = gatherText([
      res('n9', { stdout: 'b\n', category: 'exit', exitCode: 2 }),
      res('n3', { stdout: 'x\n' }),
      res('n1', { stdout: 'a\n', category: 'exit', exitCode: 1 }),
      res('n4', { stdout: 'y\n' }),
      res('n5', { stdout: 'y\n' }),
      res('n2', { stdout: 'b\n', category: 'exit', exitCode: 2 }),
      res('n6', { stdout: 'late\n', category: 'command-timeout', exitCode: null }),
    ]);
    const headers = text.split('\n').filter((_, i) => i % 4 === 1);
    expect(headers).toEqual(['n[4-5] (2)', 'n3', 'n1 (exit 1)', 'n[2,9] (2, exit 2)', 'n6 (command-timeout)']);
  });
});

describe('runRemote', () => {
  const table = {
    'nc-a01': res('nc-a01', { stdout: 'hello\n' }),
    'nc-a02': res('nc-a02', { stdout: 'hello\n', stderr: 'warn\n' }),
    'nc-a03': res('nc-a03', { category: 'connect-timeout', exitCode: null, error: 'no SSH session within 3s' }),
  };

  it('streams host-prefixed lines, reports failures and a summary on stderr, audits per-host outcomes', async () => {
    const r = await run('stream', table);
    expect(r.code).toBe(5);
    expect(r.out).toBe('nc-a01: hello\nnc-a02: hello\n');
    expect(r.err).toBe('nc-a02: warn\nnc-a03: connect-timeout: no SSH session within 3s\n2 ok, 1 failed: nc-a03\n');
    expect(r.seen.command).toBe('uptime');
    expect(r.seen.opts).toMatchObject({ concurrency: 7, timeoutSec: 3 });
    const audit = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const [intent, result] = audit.slice(-2);
    expect(intent).toMatchObject({ phase: 'intent', command: 'go2nc', targets: ['nc-a01', 'nc-a02', 'nc-a03'], reason: 'test', detail: { command: 'uptime' } });
    expect(result).toMatchObject({ phase: 'result', ok: false, exit_code: 5, detail: { outcomes: { ok: 'nc-a[01-02]', 'connect-timeout': 'nc-a03' } } });
  });

  it('gathers', async () => {
    const r = await run('gather', table);
    expect(r.out).toBe('---------------\nnc-a[01-02] (2)\n---------------\nhello\n');
    expect(r.err).toContain('nc-a02: warn\n');
    expect(r.err).toContain('nc-a03: connect-timeout');
  });

  it('prints one JSON record per host', async () => {
    const r = await run('json', table);
    const recs = JSON.parse(r.out) as Array<Record<string, unknown>>;
    expect(recs.map((x) => [x.host, x.category])).toEqual([['nc-a01', null], ['nc-a02', null], ['nc-a03', 'connect-timeout']]);
    expect(r.err).toBe('2 ok, 1 failed: nc-a03\n');
  });

  it('one host: its exit code, no summary line', async () => {
    const r = await run('stream', { 'nc-a01': res('nc-a01', { stdout: 'x\n', category: 'exit', exitCode: 7 }) });
    expect(r.code).toBe(7);
    expect(r.err).toBe('nc-a01: exit 7\n');
  });

  it('Ctrl-C: prints what was gathered and returns 130', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await run('json', { 'nc-a01': res('nc-a01', { stdout: 'x\n' }), 'nc-a02': res('nc-a02', { category: 'interrupted', exitCode: null }) }, ac.signal);
    expect(r.code).toBe(130);
    expect((JSON.parse(r.out) as unknown[]).length).toBe(2);
  });
});
