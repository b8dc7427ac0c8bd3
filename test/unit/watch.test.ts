import { ConfigError, ExitCode, UnavailableError, UsageError } from '../../src/core/errors.js';
import type { Context } from '../../src/core/context.js';
import { parseWatch, watch, watchSeconds } from '../../src/commands/shared/watch.js';
import { fakeContext, type FakeContext } from '../support/doubles.js';

// --watch: rounds until Ctrl-C (exit 130), a frame per round drawn in one write on a terminal,
// appended rounds into a pipe, transient errors shown and outlived, fatal ones ending the watch.

/** A context whose clock records each pause and whose Ctrl-C comes after `rounds` pauses. */
function watched(tty: boolean, rounds: number): { f: FakeContext; ctx: Context; pauses: number[] } {
  const f = fakeContext({ tty });
  const ac = new AbortController();
  const pauses: number[] = [];
  let t = Date.parse('2026-12-03T10:00:00Z');
  const ctx: Context = {
    ...f.ctx,
    signal: ac.signal,
    clock: {
      now: () => new Date(t),
      sleep: async (ms) => {
        pauses.push(ms);
        t += ms;
        if (pauses.length >= rounds) {
          ac.abort();
          throw new Error('aborted');
        }
      },
    },
  };
  return { f, ctx, pauses };
}

describe('--watch', () => {
  test('the flag: bare is every 2 s; a value is seconds from 0.1 to 3600; anything else is a usage error', () => {
    expect(watchSeconds(undefined)).toBeUndefined();
    expect(watchSeconds(true)).toBe(2);
    expect(watchSeconds(parseWatch('0.5'))).toBe(0.5);
    for (const bad of ['0', '0.05', '-1', 'abc', '1e3', '3601', '']) expect(() => parseWatch(bad)).toThrow(UsageError);
    expect(() => parseWatch('abc')).toThrow('--watch abc: expected seconds from 0.1 to 3600');
  });

  test('into a pipe: each round appended after a stderr header, pauses of the interval, Ctrl-C exits 130', async () => {
    const { f, ctx, pauses } = watched(false, 3);
    let n = 0;
    const code = await watch(ctx, { intervalSec: 1.5, title: 'rdsctl task list' }, async (c) => {
      c.io.out(`round ${++n}\n`);
      return ExitCode.OK;
    });
    expect(code).toBe(ExitCode.INTERRUPTED);
    expect(n).toBe(3);
    expect(pauses).toEqual([1500, 1500, 1500]);
    expect(f.stdout()).toBe('round 1\nround 2\nround 3\n');
    const headers = f.stderr().split('\n').filter((l) => l.startsWith('Every 1.5s: rdsctl task list'));
    expect(headers).toHaveLength(3);
    expect(headers[1]).toContain('2026-12-03T10:00:01.500Z');
    expect(f.stdout()).not.toContain('\x1b[');
  });

  test('on a terminal: one write per round that clears the screen, with the header, the view and its stderr summary', async () => {
    const { f, ctx } = watched(true, 2);
    let n = 0;
    const writes: string[] = [];
    const io = { ...ctx.io, out: (t: string) => void writes.push(t) };
    await watch({ ...ctx, io }, { intervalSec: 2, title: 'rdsctl proxy status' }, async (c) => {
      c.io.out(`TABLE ${++n}\n`);
      c.io.err(`summary ${n}\n`);
      return ExitCode.UNHEALTHY;
    });
    expect(writes).toHaveLength(2);
    expect(writes[0]).toMatch(/^\x1b\[H\x1b\[2JEvery 2s: rdsctl proxy status {4}\S+: 2026-12-03T10:00:00.000Z\n\nTABLE 1\nsummary 1\n$/);
    expect(writes[1]).toContain('TABLE 2\nsummary 2\n');
    expect(f.stderr()).toBe('');
  });

  test('an unreachable metadb is shown in the frame and the watch goes on; the next round recovers', async () => {
    const { f, ctx } = watched(false, 3);
    let n = 0;
    const code = await watch(ctx, { intervalSec: 1, title: 'rdsctl instance list' }, async (c) => {
      if (++n === 2) throw new UnavailableError('metadb dbaas at 127.0.0.1:3306 is unreachable: ECONNREFUSED');
      c.io.out(`ok ${n}\n`);
    });
    expect(code).toBe(ExitCode.INTERRUPTED);
    expect(f.stdout()).toBe('ok 1\nok 3\n');
    expect(f.stderr()).toContain('rdsctl: metadb dbaas at 127.0.0.1:3306 is unreachable: ECONNREFUSED\n');
  });

  test('a configuration error or a program error ends the watch at once (cli.ts reports it with its own exit code)', async () => {
    const { ctx } = watched(false, 5);
    let n = 0;
    await expect(watch(ctx, { intervalSec: 1, title: 't' }, async () => {
      n++;
      throw new ConfigError('no profile "x"');
    })).rejects.toThrow(ConfigError);
    expect(n).toBe(1);
    await expect(watch(ctx, { intervalSec: 1, title: 't' }, async () => {
      throw new TypeError('boom');
    })).rejects.toThrow(TypeError);
  });
});
