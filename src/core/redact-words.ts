// Redaction by parsing a command line into shell words, then reading each program's own options:
// a regex over the whole text misses forms like `mysqladmin -u root password X` (the password is a
// bare word after a sub-command), `curl -u admin:X`, `redis-cli -a X` or `--pass X`, and cannot
// tell a password option from a path that happens to contain "-p". Each program's rule names the
// options (or positional words) that carry a secret; the secret's word is replaced by *** in the
// original text, quotes included, so the record still says what ran.

interface Word {
  text: string;
  start: number;
  end: number;
}

const SEPARATORS = new Set([';', '|', '||', '&', '&&', '\n', '(', ')']);

/** POSIX-ish shell words with their spans; operators are words of their own. Unclosed quotes run to the end. */
export function shellWords(line: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '\n' || c === ';' || c === '(' || c === ')') {
      words.push({ text: c, start: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '|' || c === '&') {
      const two = line[i + 1] === c;
      words.push({ text: two ? c + c : c, start: i, end: i + (two ? 2 : 1) });
      i += two ? 2 : 1;
      continue;
    }
    const start = i;
    let text = '';
    while (i < line.length && !' \t\n;|&()'.includes(line[i]!)) {
      const ch = line[i]!;
      if (ch === "'") {
        const close = line.indexOf("'", i + 1);
        const stop = close < 0 ? line.length : close;
        text += line.slice(i + 1, stop);
        i = stop + 1;
      } else if (ch === '"') {
        let j = i + 1;
        while (j < line.length && line[j] !== '"') {
          if (line[j] === '\\' && j + 1 < line.length) {
            text += line[j + 1];
            j += 2;
          } else text += line[j++];
        }
        i = j + 1;
      } else if (ch === '\\' && i + 1 < line.length) {
        text += line[i + 1];
        i += 2;
      } else {
        text += ch;
        i++;
      }
    }
    words.push({ text, start, end: Math.min(i, line.length) });
  }
  return words;
}

/** What a program's words say is secret: the index of each secret word, or a span inside one. */
type Rule = (args: Word[]) => Array<{ word: number; from?: number }>;

/** Options that take a value: `--opt=X`, `--opt X`, and for short ones `-oX` and `-o X`. */
function optionValues(args: Word[], long: string[], short: string[], shortJoinedOnly = false): Array<{ word: number; from?: number }> {
  const out: Array<{ word: number; from?: number }> = [];
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!.text;
    if (t === '--') break;
    for (const l of long) {
      if (t === l && i + 1 < args.length) out.push({ word: i + 1 });
      else if (t.startsWith(l + '=')) out.push({ word: i, from: l.length + 1 });
    }
    for (const s of short) {
      if (t === s && !shortJoinedOnly && i + 1 < args.length) out.push({ word: i + 1 });
      else if (t.startsWith(s) && t.length > s.length && !t.startsWith('--')) out.push({ word: i, from: s.length });
    }
  }
  return out;
}

const mysqlClient: Rule = (args) => optionValues(args, ['--password', '--pass', '--passwd'], ['-p'], true);

const RULES: Record<string, Rule> = {
  mysql: mysqlClient,
  mariadb: mysqlClient,
  mysqldump: mysqlClient,
  'mariadb-dump': mysqlClient,
  mysqlbinlog: mysqlClient,
  'mariadb-binlog': mysqlClient,
  mysqlcheck: mysqlClient,
  'mariadb-backup': mysqlClient,
  xtrabackup: mysqlClient,
  'pt-table-checksum': (args) => [...mysqlClient(args), ...optionValues(args, [], ['--password'])],
  mysqladmin: (args) => {
    const out = mysqlClient(args);
    // `mysqladmin … password NEW`: the sub-command's argument is the new password.
    args.forEach((w, i) => {
      if ((w.text === 'password' || w.text === 'old-password') && i + 1 < args.length) out.push({ word: i + 1 });
    });
    return out;
  },
  'mariadb-admin': (args) => RULES.mysqladmin!(args),
  'redis-cli': (args) => optionValues(args, ['--pass', '--askpass-value'], ['-a']),
  curl: (args) => {
    // -u/--user user:password, --proxy-user likewise: the part after the first colon.
    const out: Array<{ word: number; from?: number }> = [];
    for (const v of optionValues(args, ['--user', '--proxy-user'], ['-u', '-U'])) {
      const t = args[v.word]!.text.slice(v.from ?? 0);
      const colon = t.indexOf(':');
      if (colon >= 0) out.push({ word: v.word, from: (v.from ?? 0) + colon + 1 });
    }
    return out;
  },
  sshpass: (args) => optionValues(args, [], ['-p']),
  wget: (args) => optionValues(args, ['--password', '--http-password', '--ftp-password', '--proxy-password'], []),
  htpasswd: (args) => (args.some((w) => /^-\w*b/.test(w.text)) && args.length >= 3 ? [{ word: args.length - 1 }] : []),
  chpasswd: () => [],
};

function programName(word: string): string {
  return word.slice(word.lastIndexOf('/') + 1);
}

/** Spans [start, end) of the text that hold secrets, from the words of every command in it. */
export function secretSpans(line: string): Array<[number, number]> {
  const words = shellWords(line);
  const spans: Array<[number, number]> = [];
  let i = 0;
  while (i < words.length) {
    let j = i;
    while (j < words.length && !SEPARATORS.has(words[j]!.text)) j++;
    const cmd = words.slice(i, j);
    // Every program word of the command gets its rule applied to the words after it: the program
    // may sit behind env assignments and wrappers with their own options (`sudo -u mysql
    // mysqladmin …`, `timeout 5 mysql …`); a rule applied from a wrapper's option value as well
    // only masks more.
    cmd.forEach((w, k) => {
      const rule = RULES[programName(w.text)];
      if (!rule) return;
      const args = cmd.slice(k + 1);
      for (const s of rule(args)) {
        const a = args[s.word]!;
        if (s.from === undefined) spans.push([a.start, a.end]);
        else {
          // The option's name is kept when it is written plainly; a quoted word is masked whole.
          const raw = line.slice(a.start, a.end);
          const prefix = a.text.slice(0, s.from);
          spans.push([raw.startsWith(prefix) ? a.start + prefix.length : a.start, a.end]);
        }
      }
    });
    i = j + 1;
  }
  return spans;
}

/**
 * The line with every secret word (or the secret part of an option word) replaced by ***. `inner`
 * redacts text found inside one word (SQL in `mysql -e "…"`, JSON in `curl -d '…'`): it sees the
 * word as the program receives it, quotes and backslashes removed, so `IDENTIFIED BY \"x\"` inside
 * double quotes is the same to it as `IDENTIFIED BY "x"`. A word it changes is written back
 * single-quoted.
 */
export function redactWords(line: string, inner: (text: string) => string = (t) => t): string {
  const spans: Array<[number, number, string]> = secretSpans(line)
    .filter(([a, b]) => b > a)
    .map(([a, b]) => [a, b, '***']);
  for (const w of shellWords(line)) {
    if (SEPARATORS.has(w.text) || spans.some(([a, b]) => a < w.end && b > w.start)) continue;
    const r = inner(w.text);
    if (r !== w.text) spans.push([w.start, w.end, `'${r.replace(/'/g, `'\\''`)}'`]);
  }
  spans.sort((x, y) => y[0] - x[0]);
  let out = line;
  let lastStart = Infinity;
  for (const [a, b, to] of spans) {
    if (b > lastStart) continue;
    out = out.slice(0, a) + to + out.slice(b);
    lastStart = a;
  }
  return out;
}
