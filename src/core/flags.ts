import { UsageError } from './errors.js';

// Typed flag values. Each function here makes a commander argument parser (the third argument of
// .option(), or Option.argParser): commander calls it while it parses argv, so a bad value is a
// UsageError (exit 2) before any context, config file or metadb is touched, and the action gets a
// number instead of a string to check again. The message keeps the one-line "FLAG VALUE: what is
// expected" shape every verb used when it checked by hand.

export type ArgParser<T> = (value: string, previous?: unknown) => T;

/** A whole number from min to max; `expected` finishes the error line ("a positive whole number"). */
export function wholeNumber(flag: string, min: number, max: number, expected = `must be a whole number from ${min} to ${max}`): ArgParser<number> {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} ${v}: ${expected}`);
    return n;
  };
}

/** A decimal number of seconds from min to max (no exponent, no sign). */
export function seconds(flag: string, min: number, max: number, expected = `expected seconds from ${min} to ${max}`): ArgParser<number> {
  return (v) => {
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v) || n < min || n > max) throw new UsageError(`${flag} ${v}: ${expected}`);
    return n;
  };
}

/** Seconds above 0 (a fraction allowed) up to max: a timeout, where 0 would mean "never". */
export function positiveSeconds(flag: string, max: number, expected = 'must be a number of seconds above 0'): ArgParser<number> {
  return (v) => {
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v) || n <= 0 || n > max) throw new UsageError(`${flag} ${v}: ${expected}`);
    return n;
  };
}

/** A string matching re; `expected` says what it should look like. */
export function matching(flag: string, re: RegExp, expected: string): ArgParser<string> {
  return (v) => {
    if (!re.test(v)) throw new UsageError(`${flag} ${v}: ${expected}`);
    return v;
  };
}

/** One of a fixed list; commander's .choices() does this too, but says it in its own words. */
export function oneOf<T extends string>(flag: string, valid: readonly T[]): ArgParser<T> {
  return (v) => {
    if (!(valid as readonly string[]).includes(v)) throw new UsageError(`${flag} ${v}: valid: ${valid.join(', ')}`);
    return v as T;
  };
}

/** A comma list whose every item is one of `valid`. */
export function listOf<T extends string>(flag: string, valid: readonly T[]): ArgParser<T[]> {
  return (v) =>
    v.split(',').map((x) => {
      const s = x.trim();
      if (!(valid as readonly string[]).includes(s)) throw new UsageError(`${flag} ${v}: "${s}" is not one of ${valid.join(', ')}`);
      return s as T;
    });
}

/** A repeatable flag: every occurrence is kept, in order. */
export function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? (previous as string[]) : []), value];
}
