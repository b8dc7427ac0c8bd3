import { judgeLive, type LiveView } from '../../src/rds/show.js';

// `instance show --live`'s verdict per server (exit 4 on any 'fail'): a master's own channel
// toward its standby stopped, the state HA repointing leaves after a switchover, is info; a
// standby's stopped or erroring thread stays a failure.

type Facts = Parameters<typeof judgeLive>[0];
const base: Facts = { role: 'master', reachable: true, error: null, replicating_from: '127.0.0.2:3306', slave_io_running: 'Yes', slave_sql_running: 'Yes', last_error: null };
const j = (o: Partial<LiveView>) => judgeLive({ ...base, ...o });

test('a master whose channel runs, or that has none, is ok', () => {
  expect(j({})).toEqual({ check: 'ok', note: null });
  expect(j({ replicating_from: null, slave_io_running: null, slave_sql_running: null })).toEqual({ check: 'ok', note: null });
});

test("a master's stopped channel toward its standby (after a switchover) is info, not a failure", () => {
  const v = j({ slave_io_running: 'No', slave_sql_running: 'No' });
  expect(v.check).toBe('info');
  expect(v.note).toBe('own channel toward 127.0.0.2:3306 not running (IO No, SQL No): expected after a switchover, a master does not apply from its standby');
  expect(j({ slave_io_running: 'Connecting', slave_sql_running: 'Yes', last_error: 'error connecting to master' })).toEqual({
    check: 'info',
    note: 'own channel toward 127.0.0.2:3306 not running (IO Connecting, SQL Yes): expected after a switchover, a master does not apply from its standby; last error: error connecting to master',
  });
});

test("a standby's stopped or erroring thread, or a standby with no channel, is a failure", () => {
  const s = (o: Partial<LiveView>) => j({ role: 'slave', ...o });
  expect(s({})).toEqual({ check: 'ok', note: null });
  expect(s({ slave_sql_running: 'No', last_error: 'Duplicate entry' })).toEqual({ check: 'fail', note: "replication from 127.0.0.2:3306 broken (IO Yes, SQL No); last error: Duplicate entry" });
  expect(s({ slave_io_running: 'Connecting' }).check).toBe('fail');
  expect(s({ replicating_from: null, slave_io_running: null, slave_sql_running: null })).toEqual({ check: 'fail', note: 'a standby with no replication channel' });
});

test('a server that does not answer is a failure whatever its role', () => {
  expect(j({ reachable: false, error: 'connect ECONNREFUSED 127.0.0.2:3306' })).toEqual({ check: 'fail', note: 'connect ECONNREFUSED 127.0.0.2:3306' });
  expect(j({ role: 'slave', reachable: false })).toEqual({ check: 'fail', note: 'does not answer' });
  expect(j({ reachable: true, error: 'Access denied' }).check).toBe('fail');
});
