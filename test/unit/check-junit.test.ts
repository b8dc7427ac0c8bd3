import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { renderJunit, writeFileAtomic, xmlEscape } from '../../src/check/junit.js';
import { CHECKS, runChecks, selectChecks } from '../../src/check/checks.js';
import { redactSecrets } from '../../src/check/rds.js';
import { exitCodeFor, overall } from '../../src/commands/check.js';
import type { Check, CheckResult } from '../../src/check/types.js';
import type { Context } from '../../src/core/context.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-junit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Parse with a real XML parser (Python's ElementTree) and return what CI would read. */
function parseJunit(file: string): { suite: Record<string, string>; cases: Array<{ name: string; failure: string | null; failureType: string | null; error: string | null; out: string }> } {
  const py = `
import json, sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
s = root.find('testsuite')
cases = []
for c in s.findall('testcase'):
    f = c.find('failure'); e = c.find('error'); o = c.find('system-out')
    cases.append({'name': c.get('name'), 'failure': f.get('message') if f is not None else None, 'failureType': f.get('type') if f is not None else None,
                  'error': e.get('message') if e is not None else None, 'out': o.text if o is not None else ''})
print(json.dumps({'suite': dict(s.attrib), 'root': root.tag, 'cases': cases}))`;
  return JSON.parse(execFileSync('python3', ['-c', py, file], { encoding: 'utf8' }));
}

const result = (name: string, status: CheckResult['status'], reason: string, error = false): CheckResult => ({ name, status, reason, details: { n: 1 }, duration_ms: 12, error });

describe('JUnit report', () => {
  const hostile = 'a <b> & "c" \'d\' ]]> \u0001\u0008 \uFFFF end; $(reboot) `id`\n</testcase><testcase name="forged">';
  const results = [result('lb_node', 'fail', '1 of 8 not online'), result('proxy', 'ok', 'all 6 online'), result('pangu', 'warn', hostile), result('nc', 'fail', 'timed out after 1s', true)];
  const meta = { timestamp: new Date('2026-01-02T03:04:05Z'), hostname: 'jump-01', profile: 'lab', warnOk: false };

  it('a real XML parser reads it back: counts, failures, errors, hostile text intact', () => {
    const file = path.join(tmp, 'a.xml');
    writeFileAtomic(file, renderJunit(results, meta));
    const r = parseJunit(file);
    expect(r.suite).toMatchObject({ name: 'rdsctl check', tests: '4', failures: '2', errors: '1', skipped: '0', timestamp: '2026-01-02T03:04:05', hostname: 'jump-01' });
    expect(r.cases.map((c) => c.name)).toEqual(['lb_node', 'proxy', 'pangu', 'nc']);
    expect(r.cases[0]).toMatchObject({ failure: '1 of 8 not online', failureType: 'fail', error: null });
    expect(r.cases[1]).toMatchObject({ failure: null, error: null, out: 'OK: all 6 online' });
    expect(r.cases[2]!.failureType).toBe('warn');
    expect(r.cases[2]!.failure).toBe(hostile.replace(/[\u0001\u0008\uFFFF]/g, '\uFFFD'));
    expect(r.cases[3]).toMatchObject({ error: 'timed out after 1s', failure: null });
  });

  it('--warn-ok: a warning passes, with the warning kept in system-out', () => {
    const file = path.join(tmp, 'b.xml');
    writeFileAtomic(file, renderJunit([result('pangu', 'warn', 'abnormal chunkserver')], { ...meta, warnOk: true }));
    const r = parseJunit(file);
    expect(r.suite).toMatchObject({ failures: '0', errors: '0' });
    expect(r.cases[0]).toMatchObject({ failure: null, out: 'WARN: abnormal chunkserver' });
  });

  it('escaping covers markup and characters XML 1.0 cannot hold', () => {
    expect(xmlEscape('<&>"\'')).toBe('&lt;&amp;&gt;&quot;&apos;');
    expect(xmlEscape('a\u0000b\u001bc\td\ne')).toBe('a\uFFFDb\uFFFDc\td\ne');
    expect(xmlEscape('😀')).toBe('😀');
  });

  it('atomic write: replaces the old report, leaves no temp file; an unwritable path is a one-line usage error', () => {
    const file = path.join(tmp, 'c.xml');
    fs.writeFileSync(file, 'old');
    writeFileAtomic(file, 'new');
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(fs.readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(() => writeFileAtomic(path.join(tmp, 'no-such-dir', 'x.xml'), 'x')).toThrow(/--junit .*no-such-dir.*cannot write the report \(ENOENT\)/);
  });
});

describe('check runner', () => {
  const ctx = { signal: new AbortController().signal } as unknown as Context;
  const mk = (name: string, run: Check['run']): Check => ({ name, summary: name, run });

  it('each check gets its own timeout; a hung check fails with "timed out", the others still report', async () => {
    const t0 = Date.now();
    const [slow, fast] = await runChecks(ctx, [mk('slow', () => new Promise(() => undefined)), mk('fast', async () => ({ status: 'ok', reason: 'fine', details: {} }))], 0.3);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(slow).toMatchObject({ name: 'slow', status: 'fail', reason: 'timed out after 0.3s', error: true });
    expect(fast).toMatchObject({ name: 'fast', status: 'ok', reason: 'fine', error: false });
  });

  it('a check that throws fails with the error\'s one-line message', async () => {
    const [r] = await runChecks(ctx, [mk('boom', async () => { throw new Error('metadb xuanyuan at 127.0.0.1:1 is unreachable\nsecond line'); })], 5);
    expect(r).toMatchObject({ status: 'fail', error: true, reason: 'metadb xuanyuan at 127.0.0.1:1 is unreachable\\nsecond line' });
  });

  it('the signal a check gets fires at its timeout', async () => {
    let aborted = false;
    await runChecks(ctx, [mk('listens', ({ signal }) => new Promise((_, rej) => signal.addEventListener('abort', () => { aborted = true; rej(new Error('stopped')); })))], 0.2);
    expect(aborted).toBe(true);
  });

  it('selection: none = all in report order; unknown names are usage errors', () => {
    expect(selectChecks([]).map((c) => c.name)).toEqual(['lb_node', 'proxy', 'rds', 'nc', 'tianji', 'pangu']);
    expect(selectChecks(['pangu', 'lb_node']).map((c) => c.name)).toEqual(['lb_node', 'pangu']);
    expect(() => selectChecks(['lb_nodes'])).toThrow(/unknown check "lb_nodes" \(known: lb_node, proxy, rds, nc, tianji, pangu\)/);
    expect(CHECKS.every((c) => c.summary.length > 10)).toBe(true);
  });

  it('overall status is the worst one', () => {
    expect(overall([result('a', 'ok', ''), result('b', 'warn', '')])).toBe('warn');
    expect(overall([result('a', 'fail', ''), result('b', 'warn', '')])).toBe('fail');
    expect(overall([result('a', 'ok', '')])).toBe('ok');
  });

  it('exit 0 only when all ok, or only warnings with --warn-ok; 4 otherwise', () => {
    expect(exitCodeFor('ok', false)).toBe(0);
    expect(exitCodeFor('warn', false)).toBe(4);
    expect(exitCodeFor('warn', true)).toBe(0);
    expect(exitCodeFor('fail', true)).toBe(4);
  });
});

describe('rds: replication errors are shown without the passwords they quote', () => {
  it.each([
    ["Error 'Operation CREATE USER failed' on query. Query: 'CREATE USER 'aurora'@'%' IDENTIFIED BY 'Aur0raPw''", "IDENTIFIED BY '***''"],
    ["Query: 'ALTER USER x IDENTIFIED BY PASSWORD('s3cr''et') '", "PASSWORD('***')"],
    ["Query: 'CREATE USER y IDENTIFIED VIA mysql_native_password USING PASSWORD('pw')'", "USING PASSWORD('***')"],
    ["Query: 'SET PASSWORD FOR z = PASSWORD('hunter2')'", "PASSWORD('***')"],
    ["Query: 'CHANGE MASTER TO MASTER_PASSWORD='r3pl', MASTER_USER='repl''", "MASTER_PASSWORD='***'"],
  ])('%s', (text, kept) => {
    const out = redactSecrets(text);
    expect(out).toContain(kept);
    expect(out).not.toMatch(/Aur0raPw|s3cr|hunter2|r3pl|'pw'/);
  });
  it('text without secrets is unchanged', () => {
    expect(redactSecrets("Error 'Duplicate entry '1' for key 'PRIMARY'' on query")).toBe("Error 'Duplicate entry '1' for key 'PRIMARY'' on query");
  });
});
