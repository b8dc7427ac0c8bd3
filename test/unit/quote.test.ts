import { execFileSync } from 'node:child_process';
import { sh, shellJoin, shq } from '../../src/remote/quote.js';
import { UsageError } from '../../src/core/errors.js';

// The proof is a real shell: every quoted string goes through `sh -c` and must come back byte
// for byte. dash is /bin/sh on Debian; bash is the usual login shell on the hosts.
const SHELLS = ['dash', 'bash'];

/** Run a script in a shell and return what it printed, as bytes. */
function run(shell: string, script: string): Buffer {
  return execFileSync(shell, ['-c', script], { env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
}

/** argv as the shell parsed it: each word printed with a NUL after it. */
function words(shell: string, commandLine: string): string[] {
  const out = run(shell, `printf '%s\\0' ${commandLine}`).toString('utf8');
  return out.split('\0').slice(0, -1);
}

const HOSTILE: string[] = [
  '',
  ' ',
  "'",
  "''",
  "it's",
  '"',
  '\\',
  "\\'",
  "'\\''",
  '$(touch /tmp/rdsctl-quote-pwned)',
  '`touch /tmp/rdsctl-quote-pwned`',
  '${HOME}',
  '$HOME',
  '$$',
  '$?',
  '$0',
  'a;touch /tmp/rdsctl-quote-pwned',
  'a && b || c',
  'a | b',
  'a > /tmp/rdsctl-quote-pwned',
  '< /etc/passwd',
  'a\nb',
  '\n',
  'a\rb',
  'tab\there',
  '*',
  '/*',
  '?',
  '[a-z]*',
  '{a,b}',
  '~',
  '~root',
  '#comment',
  'a #b',
  '!',
  '!!',
  '-n',
  '-e',
  '--',
  '%s%n%d',
  '\u00e9\u4e2d\u6587 \u{1F600}',
  '\u202e\u200b',
  '\x01\x02\x1b[31mred\x1b[0m\x7f',
  "mixed 'single' \"double\" `back` $(sub) \\ ; | & > < * ? [ ] { } ~ ! #",
  'x'.repeat(1000) + "'" + 'y'.repeat(1000),
];

describe('shq round-trips through a real shell', () => {
  test.each(SHELLS)('%s: every hostile string comes back byte for byte', (shell) => {
    for (const s of HOSTILE) {
      expect(run(shell, `printf %s ${shq(s)}`)).toEqual(Buffer.from(s, 'utf8'));
    }
  });

  test.each(SHELLS)('%s: a very long string with many quotes', (shell) => {
    const s = Array.from({ length: 20_000 }, (_, i) => (i % 7 === 0 ? "'" : String.fromCharCode(32 + (i % 95)))).join('');
    expect(run(shell, `printf %s ${shq(s)}`).toString('utf8')).toBe(s);
  });

  test('every code point from 1 to 255 survives (commands travel as UTF-8, as over ssh2)', () => {
    const s = Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join('');
    for (const shell of SHELLS) expect(run(shell, `printf %s ${shq(s)}`).toString('utf8')).toBe(s);
  });

  test('nothing hostile was executed', () => {
    expect(() => execFileSync('test', ['-e', '/tmp/rdsctl-quote-pwned'])).toThrow();
  });

  test('plain words stay unquoted, everything else is single-quoted', () => {
    expect(shq('nc-a01')).toBe('nc-a01');
    expect(shq('/mysqldata/dbs3006')).toBe('/mysqldata/dbs3006');
    expect(shq('user@host:22,x=1+2%')).toBe('user@host:22,x=1+2%');
    expect(shq(42)).toBe('42');
    expect(shq('')).toBe("''");
    expect(shq("it's")).toBe("'it'\\''s'");
    expect(shq('a b')).toBe("'a b'");
  });

  test('NUL is refused with a UsageError', () => {
    expect(() => shq('a\0b')).toThrow(UsageError);
    expect(() => shellJoin(['ok', '\0'])).toThrow(UsageError);
    expect(() => sh`echo ${'x\0'}`).toThrow(UsageError);
  });
});

describe('shellJoin keeps word boundaries', () => {
  test.each(SHELLS)('%s', (shell) => {
    expect(words(shell, shellJoin(HOSTILE))).toEqual(HOSTILE);
    expect(words(shell, shellJoin(['a b', '', 'c']))).toEqual(['a b', '', 'c']);
  });

  test('an empty argv is refused', () => {
    expect(() => shellJoin([])).toThrow(UsageError);
  });
});

describe('sh template quotes every value, arrays become several words', () => {
  test.each(SHELLS)('%s', (shell) => {
    for (const s of HOSTILE) {
      expect(words(shell, sh`${s} ${[s, 'two words']} ${7}`)).toEqual([s, s, 'two words', '7']);
    }
  });

  test('literal parts stay shell syntax', () => {
    const dir = "/tmp/x'; touch /tmp/rdsctl-quote-pwned; '";
    expect(sh`mkdir -p ${dir} && chown mysql ${dir}`).toBe(`mkdir -p ${shq(dir)} && chown mysql ${shq(dir)}`);
    expect(run('dash', sh`printf '%s|' ${['a', 'b c']}; printf %s ${'$(id)'}`).toString()).toBe('a|b c|$(id)');
  });
});
