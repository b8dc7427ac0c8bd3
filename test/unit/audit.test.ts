import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog } from '../../src/core/audit.js';
import { joinRecords, parseSince } from '../../src/core/audit-query.js';
import { UnavailableError, UsageError } from '../../src/core/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-audit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const now = new Date('2026-11-21T10:00:00Z');

describe('local audit log', () => {
  it('writes an intent before and a result after, 0600, one JSON line each', async () => {
    const file = path.join(tmp, 'a', 'audit.jsonl');
    const log = new AuditLog(file, { user: 'alice', profile: 'lab' }, () => now, () => undefined);
    const intent = { command: 'pangu disk offline', targets: ['cs-a01:sdc'], reason: 'disk errors' };
    const id = await log.intent(intent);
    expect(log.readLocal()).toHaveLength(1);
    await log.result(id, { ok: true, exitCode: 0, intent });
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).phase)).toEqual(['intent', 'result']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses to act when the log cannot be written', async () => {
    const ro = path.join(tmp, 'ro');
    fs.mkdirSync(ro);
    fs.writeFileSync(path.join(ro, 'audit.jsonl'), '');
    fs.chmodSync(path.join(ro, 'audit.jsonl'), 0o400);
    const asRoot = process.getuid?.() === 0;
    // root ignores file modes; a file standing where the directory should be fails for everyone.
    const file = asRoot ? path.join(tmp, 'ro', 'audit.jsonl', 'x.jsonl') : path.join(ro, 'audit.jsonl');
    const log = new AuditLog(file, { user: 'u', profile: 'p' }, () => now, () => undefined);
    await expect(log.intent({ command: 'x', targets: [] })).rejects.toThrow(UnavailableError);
    await expect(log.intent({ command: 'x', targets: [] })).rejects.toThrow(/refusing to act unaudited/);
  });

  it('skips a torn last line left by a crash', () => {
    const file = path.join(tmp, 'torn.jsonl');
    fs.writeFileSync(file, JSON.stringify({ id: '1', phase: 'intent', ts: now.toISOString(), user: 'u', profile: 'p', command: 'c', targets: [], reason: null, dry_run: false, detail: {} }) + '\n{"id":"2","pha');
    const log = new AuditLog(file, { user: 'u', profile: 'p' }, () => now, () => undefined);
    expect(log.readLocal()).toHaveLength(1);
  });
});

describe('audit list', () => {
  const rec = (id: string, phase: 'intent' | 'result', extra: Record<string, unknown> = {}) => ({
    id, phase, ts: '2026-11-21T09:00:00.000Z', user: 'alice', profile: 'lab', command: 'go2nc', targets: ['nc-a01'], reason: null, dry_run: false, detail: {}, ...extra,
  });
  it('joins intent and result; an intent without result is no-result', () => {
    const rows = joinRecords([rec('1', 'intent'), rec('2', 'intent', { user: 'bob' }), rec('1', 'result', { ok: false, exit_code: 5 })] as never, {});
    expect(rows.map((r) => [r.id, r.outcome, r.exit_code])).toEqual([['1', 'failed', 5], ['2', 'no-result', null]]);
  });
  it('filters by user, target, command and time', () => {
    const recs = [rec('1', 'intent'), rec('2', 'intent', { user: 'bob', command: 'instance step', targets: ['rm-1'] }), rec('3', 'intent', { ts: '2026-11-01T00:00:00.000Z' })] as never;
    expect(joinRecords(recs, { user: 'bob' }).map((r) => r.id)).toEqual(['2']);
    expect(joinRecords(recs, { target: 'rm-1' }).map((r) => r.id)).toEqual(['2']);
    expect(joinRecords(recs, { command: 'instance' }).map((r) => r.id)).toEqual(['2']);
    expect(joinRecords(recs, { since: parseSince('2h', now) }).map((r) => r.id)).toEqual(['1', '2']);
  });
  it('parses --since', () => {
    expect(parseSince('30m', now).toISOString()).toBe('2026-11-21T09:30:00.000Z');
    expect(parseSince('2026-11-20T00:00:00Z', now).toISOString()).toBe('2026-11-20T00:00:00.000Z');
    for (const bad of ['yesterday', '-1h', '1w', "1h'; drop table x"]) expect(() => parseSince(bad, now)).toThrow(UsageError);
  });
});
