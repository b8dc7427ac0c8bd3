import { execFileSync, spawnSync } from 'node:child_process';
import { fanout } from '../../src/remote/ssh-fanout.js';
import { wrapCommand, type Execute } from '../../src/remote/ssh-exec.js';
import { LineSplitter, MAX_LINE_BYTES, PgidFilter, Sink, lastLine } from '../../src/remote/ssh-output.js';
import type { ExecResult, HostTarget } from '../../src/remote/ssh-types.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('Sink', () => {
  it('keeps everything under the limit and passes every chunk on', () => {
    const seen: string[] = [];
    const s = new Sink(100, (c) => seen.push(c.toString()));
    s.push(b('ab'));
    s.push(b('cd'));
    expect(s.text()).toBe('abcd');
    expect(s.dropped).toBe(0);
    expect(seen).toEqual(['ab', 'cd']);
  });

  it('keeps the first max bytes and counts the rest as dropped', () => {
    const seen: string[] = [];
    const s = new Sink(5, (c) => seen.push(c.toString()));
    s.push(b('abc'));
    s.push(b('defg'));
    s.push(b('hij'));
    expect(s.text()).toBe('abcde');
    expect(s.dropped).toBe(5);
    // The callback still sees every byte: streaming is not bounded by the sink.
    expect(seen.join('')).toBe('abcdefghij');
  });

  it('is empty when nothing came', () => {
    expect(new Sink(10).text()).toBe('');
  });
});

describe('PgidFilter', () => {
  const marker = '\x1eRDSCTL-PGID ';

  function filter(): { f: PgidFilter; out: () => string } {
    const parts: Buffer[] = [];
    const f = new PgidFilter((c) => parts.push(Buffer.from(c)));
    return { f, out: () => Buffer.concat(parts).toString() };
  }

  it('takes the marker line off and reads the PGID', async () => {
    const { f, out } = filter();
    f.push(b(`${marker}4242\nreal stderr\n`));
    f.end();
    expect(f.pgid).toBe(4242);
    expect(await f.known(10)).toBe(4242);
    expect(out()).toBe('real stderr\n');
  });

  it('finds a marker split across chunks, after lines a chatty .bashrc printed', () => {
    const { f, out } = filter();
    f.push(b('welcome\nmotd li'));
    f.push(b('ne\n\x1eRDSCTL-'));
    f.push(b('PGID 77'));
    f.push(b('\nafter'));
    f.push(b(' more'));
    f.end();
    expect(f.pgid).toBe(77);
    expect(out()).toBe('welcome\nmotd line\nafter more');
  });

  it('gives up on a marker when more than 4 KiB without one are held, and passes them on', () => {
    const { f, out } = filter();
    const flood = 'x'.repeat(5000);
    f.push(b(flood));
    f.push(b(`${marker}12\n`));
    f.end();
    expect(f.pgid).toBeUndefined();
    // Once given up, a later marker-looking line is ordinary stderr.
    expect(out()).toBe(`${flood}${marker}12\n`);
  });

  it('refuses a PGID that is not a process group worth signalling', () => {
    for (const bad of ['1', '0', '-5', 'abc', '']) {
      const { f, out } = filter();
      f.push(b(`${marker}${bad}\nrest\n`));
      expect(f.pgid).toBeUndefined();
      expect(out()).toBe('rest\n');
    }
  });

  it('known() waits for the marker, or resolves undefined after the wait', async () => {
    const { f } = filter();
    const waiting = f.known(5000);
    f.push(b(`${marker}99\n`));
    expect(await waiting).toBe(99);
    const { f: g } = filter();
    expect(await g.known(5)).toBeUndefined();
  });

  it('end() without a marker passes what it held and settles undefined', async () => {
    const { f, out } = filter();
    f.push(b('partial'));
    f.end();
    expect(out()).toBe('partial');
    expect(await f.known(1000)).toBeUndefined();
  });
});

describe('LineSplitter', () => {
  function split(chunks: Array<string | Buffer>): string[] {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    for (const c of chunks) s.push(typeof c === 'string' ? b(c) : c);
    s.end();
    return lines;
  }

  it('splits on newlines across chunks and hands on a final partial line at end', () => {
    expect(split(['a\nb', 'c\n', 'd'])).toEqual(['a', 'bc', 'd']);
  });

  it('drops a CR before the LF but keeps a bare CR', () => {
    expect(split(['one\r\ntwo\rthree\n'])).toEqual(['one', 'two\rthree']);
  });

  it('keeps empty lines', () => {
    expect(split(['\n\nx\n'])).toEqual(['', '', 'x']);
  });

  it('decodes a multi-byte character split across chunks only once whole', () => {
    const euro = b('€\n');
    expect(split([euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)])).toEqual(['€']);
  });

  it('hands on a partial line longer than the bound as a line, so memory stays bounded', () => {
    const big = 'y'.repeat(MAX_LINE_BYTES + 10);
    const lines = split([big, 'tail\n']);
    expect(lines).toEqual([big, 'tail']);
  });
});

describe('lastLine', () => {
  it('is the last non-blank line, cut to 200 characters', () => {
    expect(lastLine('first\nsecond\n\n  \n')).toBe('second');
    expect(lastLine('')).toBe('');
    const long = 'z'.repeat(300);
    expect(lastLine(long)).toBe(`${'z'.repeat(197)}...`);
  });
});

describe('wrapCommand', () => {
  it('prints the marker with the shell PID on stderr first, then runs the command in that same shell', () => {
    const out = execFileSync('sh', ['-c', `{ ${wrapCommand('echo "$$" from; echo err >&2')}; } 2>&1`], { encoding: 'utf8' });
    const [marker, pidLine, err] = out.split('\n');
    const m = /^\x1eRDSCTL-PGID (\d+)$/.exec(marker!);
    expect(m).not.toBeNull();
    // eval, not exec $SHELL -c: the command sees the marker's PID as its own $$.
    expect(pidLine).toBe(`${m![1]} from`);
    expect(err).toBe('err');
  });

  it('passes hostile text through as one command, with its exit status', () => {
    const r = spawnSync('sh', ['-c', wrapCommand(`printf '%s\\n' "a'b" '$(id)' ; exit 3`) + '; echo never'], { encoding: 'utf8' });
    expect(r.stdout).toBe("a'b\n$(id)\n");
    expect(r.status).toBe(3);
  });
});

describe('fanout window', () => {
  const targets: HostTarget[] = Array.from({ length: 7 }, (_, i) => ({ name: `nc${i}`, address: `10.0.0.${i}` }));
  const ok = (t: HostTarget, stdout = ''): ExecResult => ({ host: t.name, address: t.address, exitCode: 0, signal: null, stdout, stderr: '', durationMs: 1, category: null });

  it('keeps at most `concurrency` hosts in flight and returns results in target order', async () => {
    let inFlight = 0;
    let peak = 0;
    const calls: string[] = [];
    const execute: Execute = async (t, command, _o, cacheLast) => {
      calls.push(`${t.name}:${command}:${cacheLast}`);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, (7 - Number(t.name.slice(2))) * 3));
      inFlight--;
      return ok(t, t.name);
    };
    const order: string[] = [];
    const results = await fanout(execute, targets, 'uptime', { concurrency: 3, onResult: (r) => order.push(r.host) }, 64, []);
    expect(peak).toBe(3);
    expect(results.map((r) => r.stdout)).toEqual(targets.map((t) => t.name));
    expect(calls).toHaveLength(7);
    expect(calls.every((c) => c.endsWith(':uptime:false'))).toBe(true);
    expect(order.sort()).toEqual(targets.map((t) => t.name));
  });

  it('uses the profile default when no concurrency is given, and passes keepConnections on', async () => {
    let peak = 0;
    let inFlight = 0;
    const execute: Execute = async (t, _c, _o, cacheLast) => {
      expect(cacheLast).toBe(true);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return ok(t);
    };
    await fanout(execute, targets, 'x', { keepConnections: true }, 2, []);
    expect(peak).toBe(2);
  });

  it('does not start hosts after an abort: they are reported interrupted', async () => {
    const ac = new AbortController();
    const started: string[] = [];
    const execute: Execute = async (t) => {
      started.push(t.name);
      if (t.name === 'nc1') ac.abort();
      return ok(t);
    };
    const results = await fanout(execute, targets, 'x', { concurrency: 1 }, 64, [ac.signal]);
    expect(started).toEqual(['nc0', 'nc1']);
    expect(results.slice(2).every((r) => r.category === 'interrupted' && r.error === 'interrupted before it started')).toBe(true);
  });

  it('feeds onLine per host and stream, and still feeds onStdout/onStderr', async () => {
    const execute: Execute = async (t, _c, o) => {
      o.onStdout?.(b(`${t.name} a\n${t.name} `));
      o.onStdout?.(b('b'));
      o.onStderr?.(b('warn\n'));
      return ok(t);
    };
    const lines: string[] = [];
    const raw: string[] = [];
    await fanout(execute, targets.slice(0, 2), 'x', { onLine: (h, s, l) => lines.push(`${h}|${s}|${l}`), onStdout: (c) => raw.push(c.toString()) }, 64, []);
    expect(lines.sort()).toEqual(['nc0|stderr|warn', 'nc0|stdout|nc0 a', 'nc0|stdout|nc0 b', 'nc1|stderr|warn', 'nc1|stdout|nc1 a', 'nc1|stdout|nc1 b']);
    expect(raw.join('')).toBe('nc0 a\nnc0 bnc1 a\nnc1 b');
  });

  it('an empty target list is an empty result', async () => {
    const execute: Execute = async () => {
      throw new Error('unexpected call');
    };
    expect(await fanout(execute, [], 'x', {}, 8, [])).toEqual([]);
  });
});
