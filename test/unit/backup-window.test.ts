import type { ArchivedBinlog } from '../../src/backup/binlogs.js';
import { gtidAtOrBefore, mergeGtid, replayInputs } from '../../src/backup/binlogs.js';
import { expiredSets } from '../../src/backup/retention.js';
import type { BackupSetRow } from '../../src/backup/sets.js';
import { coverageOf, planFromSet, planLatest, planToTime, recoverableWindow } from '../../src/backup/window.js';
import { checkList, filesFrom, parseBinlogInfo, parseManifest, renderManifest, type Manifest } from '../../src/backup/manifest.js';
import { parseTime } from '../../src/backup/clone.js';
import { inWindow, isDue } from '../../src/backup/schedule.js';
import { RdsctlError } from '../../src/core/errors.js';

// The recoverable window, the choice of set and binlogs for a recovery point, GTID arithmetic,
// retention and the manifest format: pure rules, checked without a lab.

const T = (s: string): Date => new Date(`2026-12-03T${s}Z`);

function set(id: number, started: string, consistent: string, extra: Partial<BackupSetRow> = {}): BackupSetRow {
  return {
    id, custins_id: 1, ins_name: 'rm-a', instance_id: 2, host_name: 'nc-a02', backup_set: `x-${id}`, backup_type: 'full', backup_dir: '', store_host: 'bak-01', task_id: id,
    source_role: 'slave', status: 'success', size_bytes: 1, gtid: `0-1-${id * 10}`, start_gtid: null, binlog_file: null, binlog_pos: null, gmt_consistent: T(consistent), encrypted: 0,
    manifest_sha256: null, verify_status: 'unverified', verify_error: null, gmt_verified: null, error: null, gmt_created: T(started), gmt_started: T(started), gmt_finished: T(consistent), ...extra,
  };
}

function bl(id: number, file: string, first: string, last: string, startGtid: string | null, lastGtid: string | null, host = 'nc-a01'): ArchivedBinlog {
  return { id, custins_id: 1, host_name: host, file_name: file, store_path: `/backup/rm-a/binlogs/${file}`, size_bytes: 1, sha256: 'a'.repeat(64), start_gtid: startGtid, last_gtid: lastGtid, first_event_time: T(first), last_event_time: T(last), encrypted: 0 };
}

const sets = [set(1, '10:00:00', '10:00:05'), set(2, '11:00:00', '11:00:04')];
const logs = [
  bl(1, 'mysql-bin.000001', '09:50:00', '10:30:00', null, '0-1-12'),
  bl(2, 'mysql-bin.000002', '10:30:00', '11:10:00', '0-1-12', '0-1-25'),
  bl(3, 'mysql-bin.000003', '11:10:00', '11:20:00', '0-1-25', '0-1-30'),
];
const now = T('12:00:00');

test('the window runs from the oldest set to where the unbroken binlog run ends', () => {
  expect(recoverableWindow(sets, logs)).toEqual({ from: T('10:00:05'), to: T('11:20:00') });
  expect(recoverableWindow([], logs)).toBeNull();
  expect(coverageOf(sets[0]!, logs).files.map((f) => f.id)).toEqual([1, 2, 3]);
});

test('a time picks the newest set consistent at or before it, and the binlogs up to it', () => {
  const p = planToTime(sets, logs, T('10:45:00'), now);
  expect(p.set.id).toBe(1);
  expect(p.files.map((f) => f.id)).toEqual([1, 2]);
  expect(p.stopDatetime).toBe('2026-12-03 10:45:01');
  const q = planToTime(sets, logs, new Date('2026-12-03T11:15:00.700Z'), now);
  expect(q.set.id).toBe(2);
  expect(q.time).toEqual(T('11:15:00'));
  expect(q.stopDatetime).toBe('2026-12-03 11:15:01');
});

test('times outside the window are refused with the window in the message', () => {
  for (const t of [T('09:59:00'), T('11:30:00')]) {
    expect(() => planToTime(sets, logs, t, now)).toThrow(/outside the recoverable window 2026-12-03T10:00:05Z \.\. 2026-12-03T11:20:00Z/);
  }
  expect(() => planToTime(sets, logs, T('12:30:00'), now)).toThrow(/in the future; recoverable window/);
});

test('a gap in the binlog sequence ends the window at the gap', () => {
  const gap = [logs[0]!, logs[2]!];
  expect(coverageOf(sets[0]!, gap).to).toEqual(T('10:30:00'));
  expect(() => planToTime([sets[0]!], gap, T('10:40:00'), now)).toThrow(RdsctlError);
});

test('--latest reaches the end of the archive; --backup is the set alone', () => {
  const p = planLatest(sets, logs);
  expect([p.set.id, p.time]).toEqual([2, T('11:20:00')]);
  expect(planFromSet(sets[0]!)).toMatchObject({ time: null, files: [], stopDatetime: null });
  expect(() => planLatest([], logs)).toThrow(/no full backup set/);
});

test('replay inputs leave out files before the position and start inside the one holding it', () => {
  const files = [bl(1, 'mysql-bin.000001', '09:50:00', '10:00:00', null, '0-1-15'), bl(2, 'mysql-bin.000002', '10:00:00', '10:01:00', '0-1-15', null), bl(3, 'mysql-bin.000003', '10:01:00', '10:05:00', '0-1-15', '0-1-24')];
  expect(replayInputs(files, '0-1-15')).toEqual([{ name: 'mysql-bin.000003', startPos: null }]);
  expect(replayInputs(files, '0-1-20')).toEqual([{ name: 'mysql-bin.000003', startPos: '0-1-20' }]);
  expect(replayInputs(files, '')).toEqual([{ name: 'mysql-bin.000001', startPos: null }, { name: 'mysql-bin.000003', startPos: null }]);
  expect(replayInputs(files, '0-1-24')).toEqual([]);
});

test('GTID positions merge per domain and compare', () => {
  expect(mergeGtid('0-1-5,1-2-7', '0-3-9')).toBe('0-3-9,1-2-7');
  expect(mergeGtid(null, '')).toBe('');
  expect(gtidAtOrBefore('0-1-5', '0-2-6')).toBe(true);
  expect(gtidAtOrBefore('0-1-7', '0-2-6')).toBe(false);
  expect(gtidAtOrBefore('1-1-1', '0-2-6')).toBe(false);
});

test('retention removes old sets but never the newest good full one', () => {
  const old = [set(1, '00:00:00', '00:00:05'), set(2, '01:00:00', '01:00:05'), set(3, '02:00:00', '02:00:05', { status: 'running' })];
  const later = new Date(T('02:00:00').getTime() + 30 * 86400_000);
  expect(expiredSets(old, old[1]!, 7, later).map((s) => s.id)).toEqual([1]);
  expect(expiredSets(old, old[1]!, 7, T('03:00:00'))).toEqual([]);
});

test('manifest: round trip, checksum list, and what makes it unusable', () => {
  const files = filesFrom('12 a\n3 db/t.ibd\n', `${'1'.repeat(64)}  ./a\n${'2'.repeat(64)}  ./db/t.ibd\n`);
  expect(files).toEqual([{ path: 'a', size: 12, sha256: '1'.repeat(64) }, { path: 'db/t.ibd', size: 3, sha256: '2'.repeat(64) }]);
  const m: Manifest = { format: 1, set: 's', backup_id: 3, instance: 'rm-a', custins_id: 1, kind: 'full', tool: 't', source_host: 'nc-a02', source_role: 'slave', start_gtid: null, end_gtid: '0-1-3', binlog_file: 'mysql-bin.000001', binlog_pos: 4, start_time: 'x', end_time: 'y', size_bytes: 15, encrypted: false, key_id: null, files };
  expect(parseManifest(renderManifest(m), 'here')).toEqual(m);
  expect(checkList(m)).toBe(`${'1'.repeat(64)}  ./a\n${'2'.repeat(64)}  ./db/t.ibd\n`);
  expect(() => parseManifest('{', 'here')).toThrow(/not JSON/);
  expect(() => parseManifest(renderManifest({ ...m, files: [{ path: '../etc/passwd', size: 1, sha256: '1'.repeat(64) }] }), 'here')).toThrow(/bad file entry/);
  expect(parseBinlogInfo('mysql-bin.000003\t3736\t0-1-15\n')).toEqual({ file: 'mysql-bin.000003', pos: 3736, gtid: '0-1-15' });
});

test('--to-time accepts UTC, offsets and epoch seconds', () => {
  expect(parseTime('2026-12-03T10:46:40Z')).toEqual(T('10:46:40'));
  expect(parseTime('2026-12-03 10:46:40')).toEqual(T('10:46:40'));
  expect(parseTime('2026-12-03T18:46:40+08:00')).toEqual(T('10:46:40'));
  expect(parseTime(String(T('10:46:40').getTime() / 1000))).toEqual(T('10:46:40'));
  expect(() => parseTime('yesterday')).toThrow(/YYYY-MM-DD/);
});

test('the backup plan: due inside the daily window when the newest good set is older than the interval', () => {
  expect(inWindow(T('03:00:00'), '02:00:00', '06:00:00')).toBe(true);
  expect(inWindow(T('06:00:00'), '02:00:00', '06:00:00')).toBe(false);
  expect(inWindow(T('23:30:00'), '23:00:00', '01:00:00')).toBe(true);
  expect(inWindow(T('00:30:00'), '23:00:00', '01:00:00')).toBe(true);
  expect(inWindow(T('12:00:00'), '23:00:00', '01:00:00')).toBe(false);
  const d = { custins_id: 1, ins_name: 'rm-a', window_start: '02:00:00', window_end: '06:00:00', full_interval_hours: 24, newest: null as Date | null };
  expect(isDue(d, T('03:00:00'))).toBe(true);
  expect(isDue(d, T('07:00:00'))).toBe(false);
  expect(isDue({ ...d, newest: T('02:30:00') }, T('03:00:00'))).toBe(false);
  expect(isDue({ ...d, newest: new Date(T('03:00:00').getTime() - 25 * 3600_000) }, T('03:00:00'))).toBe(true);
});

test('backup verbs reject bad ids, times and flags before any context (parse first)', async () => {
  const { runCli } = await import('../support/run.js');
  const env = { ...process.env, RDSCTL_CONFIG: '/nonexistent/rdsctl-config.json' };
  for (const [args, msg] of [
    [['backup', 'show', 'abc'], /backup id "abc": a positive whole number/],
    [['backup', 'verify', '0'], /backup id "0"/],
    [['backup', 'delete', '-1', '--yes'], /./],
    [['backup', 'list', '--limit', '0'], /--limit 0: a positive whole number/],
    [['instance', 'clone', 'rm-x', '--to-time', 'yesterday'], /--to-time yesterday: give a time/],
    [['instance', 'clone', 'rm-x'], /exactly one of --to-time TIME, --backup ID, --latest/],
    [['instance', 'clone', 'rm-x', '--latest', '--backup', '3'], /exactly one of/],
    [['instance', 'backup', 'rm-x', '--lease-ttl', '0'], /--lease-ttl 0: a positive number of seconds/],
  ] as Array<[string[], RegExp]>) {
    const r = await runCli(args, { env });
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr).toMatch(msg);
  }
});
