import { UsageError } from '../core/errors.js';

// Every remote command string in rdsctl is built here. The remote side runs it through a POSIX
// shell, so each argument is single-quoted; a single quote inside becomes '\''. This is the whole
// escaping story: nothing between single quotes is special to sh, bash, dash or zsh.

/** Quote one argument for a POSIX shell. NUL cannot be passed through exec at all, so it is refused. */
export function shq(arg: string | number): string {
  const s = String(arg);
  if (s.includes('\0')) throw new UsageError('argument contains a NUL byte, which no remote shell can receive');
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** argv → one command line, every word quoted. */
export function shellJoin(argv: ReadonlyArray<string | number>): string {
  if (argv.length === 0) throw new UsageError('empty remote command');
  return argv.map(shq).join(' ');
}

/**
 * A command script from parts: literal shell (operators the code wrote itself) and quoted
 * values. Use as sh`mkdir -p ${dir} && chown mysql ${dir}`: every interpolated value is quoted,
 * arrays become several quoted words.
 */
export function sh(strings: TemplateStringsArray, ...values: Array<string | number | ReadonlyArray<string | number>>): string {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += Array.isArray(v) ? (v as Array<string | number>).map(shq).join(' ') : shq(v as string | number);
    out += strings[i + 1]!;
  });
  return out;
}
