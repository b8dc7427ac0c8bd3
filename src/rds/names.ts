import { UsageError } from '../core/errors.js';

// What the console (POP + Yaochi) accepts for names and passwords. Every rule answers with the
// parameter, the value and what would be valid, so a runbook author can fix the call at once.

/** Accounts the control plane owns; a customer account may not take these names. */
export const RESERVED_ACCOUNTS = ['root', 'aliyun_root', 'aurora', 'replicator', 'mysql', 'mariadb.sys', 'admin', 'rdsadmin', 'PUBLIC'];
/** Schemas the server or the control plane owns. */
export const RESERVED_DBS = ['mysql', 'information_schema', 'performance_schema', 'sys', 'test', '__rds_sys__'];

const INS_NAME = /^[a-z][a-z0-9-]{2,62}[a-z0-9]$/;
const ACCOUNT = /^[a-z][a-z0-9_]{0,30}[a-z0-9]$/;
const DB = /^[a-z][a-z0-9_-]{0,62}[a-z0-9]$/;
const PASSWORD_CHARS = /^[A-Za-z0-9!@#$%^&*()_+\-=]+$/;

/** "rm-…" style custins name given with --name (generated otherwise). */
export function checkInstanceName(name: string): string {
  if (!INS_NAME.test(name)) throw new UsageError(`--name "${name}": 4-64 characters, lowercase letters, digits and "-", starting with a letter and not ending with "-"`);
  return name;
}

export function checkAccountName(name: string, where = '--account'): string {
  if (!ACCOUNT.test(name)) throw new UsageError(`${where} "${name}": account names are 2-32 characters: lowercase letters, digits and "_", starting with a letter, ending with a letter or digit`);
  if (RESERVED_ACCOUNTS.some((r) => r.toLowerCase() === name)) throw new UsageError(`${where} "${name}" is reserved (reserved: ${RESERVED_ACCOUNTS.join(', ')})`);
  return name;
}

/** The console's password rule: 8-32 characters from three of four classes. */
export function checkPassword(pw: string, account: string): string {
  if (pw.length < 8 || pw.length > 32 || !PASSWORD_CHARS.test(pw)) {
    throw new UsageError(`password for account "${account}": 8-32 characters of letters, digits and !@#$%^&*()_+-=`);
  }
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[!@#$%^&*()_+\-=]/].filter((r) => r.test(pw)).length;
  if (classes < 3) throw new UsageError(`password for account "${account}": use at least three of lowercase, uppercase, digits and !@#$%^&*()_+-=`);
  return pw;
}

export function checkDbName(name: string): string {
  if (!DB.test(name)) throw new UsageError(`--db "${name}": database names are 2-64 characters: lowercase letters, digits, "_" and "-", starting with a letter, ending with a letter or digit`);
  if (RESERVED_DBS.includes(name)) throw new UsageError(`--db "${name}" is reserved (reserved: ${RESERVED_DBS.join(', ')})`);
  return name;
}

/** One whitelist entry: an IPv4 address or CIDR. */
export function checkWhitelistEntry(entry: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(entry);
  const ok = m && m.slice(1, 5).every((o) => Number(o) <= 255) && (m[5] === undefined || Number(m[5]) <= 32);
  if (!ok) throw new UsageError(`--whitelist "${entry}": each entry is an IPv4 address or CIDR, e.g. 10.0.0.0/8`);
  return entry;
}

export function checkSecurityGroup(id: string): string {
  if (!/^sg-[a-z0-9]{4,32}$/.test(id)) throw new UsageError(`--ecs-sg "${id}": a security group id looks like sg-2ze1abcd`);
  return id;
}

/** SYSTEM, an offset (+08:00) or a named zone (Asia/Shanghai) from the zoneinfo database. */
export function checkTimeZone(tz: string): string {
  if (tz === 'SYSTEM' || /^[+-](0\d|1[0-4]):[0-5]\d$/.test(tz) || tz === 'UTC') return tz;
  if (/^[A-Za-z]+(?:\/[A-Za-z0-9_+-]+){1,2}$/.test(tz)) {
    // A well-formed name is not enough: do_reset_named_timezone_config (step 45) fails on a zone
    // the tz database does not have, after half the pair is built. ICU carries the IANA names.
    if (knownZone(tz)) return tz;
    throw new UsageError(`--time-zone "${tz}": not a zone of the tz database (e.g. Asia/Shanghai, Europe/Berlin, UTC)`);
  }
  throw new UsageError(`--time-zone "${tz}": SYSTEM, an offset like +08:00, or a named zone like Asia/Shanghai`);
}

function knownZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A named zone needs the time zone tables; SYSTEM and offsets work from the first start. */
export function isNamedTimeZone(tz: string): boolean {
  return tz.includes('/') || tz === 'UTC';
}
