import { UsageError } from '../core/errors.js';

/** "500ms", "10s", "5m", "1h" or a bare number of seconds → milliseconds; anything else is a usage error naming the flag. */
export function parseDuration(v: string, flag: string): number {
  const m = /^(\d{1,7})(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag} ${JSON.stringify(v)}: expected a duration like 500ms, 10s, 5m, 1h`);
  const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}
