import { UsageError } from '../core/errors.js';
import { parseCidr, parseIpv4 } from './cidr.js';

// Checks shared by routes and NAT-gateway ACL rules. Each names the flag or parameter it
// checked, so the one-line error says what and where.

export function cidrArg(value: string, what: string): string {
  const c = parseCidr(value);
  if (typeof c === 'string') throw new UsageError(`${what}: ${c}`);
  return c.text;
}

export function ipv4Arg(value: string, what: string): number {
  const n = parseIpv4(value);
  if (typeof n === 'string') throw new UsageError(`${what}: ${n}`);
  return n;
}

/** Resource ids (vpc-…, ngw-…, rte-…): what the console shows, nothing a shell or LIKE would read. */
export function idArg(value: string, what: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value)) throw new UsageError(`${what}: "${value}" is not a valid id (letters, digits, _ . -; at most 64)`);
  return value;
}

export function descriptionArg(value: string | undefined, what: string): string | null {
  if (value === undefined) return null;
  if (value.length > 255 || /[\0-\x1f\x7f]/.test(value)) throw new UsageError(`${what}: must be one line of at most 255 characters`);
  return value;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${what}: "${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}
