import net from 'node:net';
import { ConflictError } from '../core/errors.js';

// The one layer of domain types between a metadb and the rest of rdsctl. In production the
// metadbs are written by many other systems, so every name, address, port, path and parameter is
// checked where its row is loaded: a bad row is an error that names the table, the row's key and
// the column, and no part of the row is used. Shell scripts, config files and SQL text built later
// still escape what they embed (defence in depth), but they never see an unchecked value.

/** A metadb row that does not hold what its column means: exit 9 (the target is in a wrong state). */
export class BadRowError extends ConflictError {
  readonly table: string;
  readonly key: string;
  readonly column: string;
  constructor(table: string, key: string, column: string, value: unknown, rule: string) {
    super(`metadb row ${table} ${key}: column ${column} holds ${shown(value)}, which is not ${rule}; nothing of this row was used`, {
      hint: `fix the row in ${table.split('.')[0]} (it was written by another system or by hand)`,
    });
    this.table = table;
    this.key = key;
    this.column = column;
  }
}

/** A value for an error line: JSON-quoted (control characters escaped), clipped. */
function shown(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v) ?? 'null';
  const t = s.replace(/[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return t.length > 80 ? `${t.slice(0, 77)}…` : t;
}

/** Where a row came from, for BadRowError: table "dbaas.custins", key "id=12". */
export interface RowRef {
  table: string;
  key: string;
}

export const INS_NAME_RE = /^[a-z][a-z0-9-]{2,62}[a-z0-9]$/;
/** RFC 1123 host names (and the lab's): letters, digits, "-", "." and "_", 1-128 characters. */
export const HOST_NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9])?$/;
/** Catalogue words: zone, class code, engine, version, storage type, charset. */
export const WORD_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** A MySQL account name as the control plane and the console create them. */
export const ACCOUNT_NAME_RE = /^[A-Za-z][A-Za-z0-9_.]{0,31}$/;
/** The host part of a MySQL account: %, an address, an address pattern or a host name; nothing that can end a literal. */
export const ACCOUNT_HOST_RE = /^(?:%|[0-9A-Za-z%_][0-9A-Za-z%_.:/-]{0,59})$/;
export const DB_NAME_RE = /^[a-z][a-z0-9_-]{0,62}[a-z0-9]$/;
export const VPC_ID_RE = /^vpc-[a-z0-9]{1,40}$/;

export function bad(ref: RowRef, column: string, value: unknown, rule: string): never {
  throw new BadRowError(ref.table, ref.key, column, value, rule);
}

export function matches(ref: RowRef, column: string, value: unknown, re: RegExp, rule: string): string {
  if (typeof value !== 'string' || !re.test(value)) bad(ref, column, value, rule);
  return value;
}

export function optional<T>(ref: RowRef, column: string, value: unknown, check: (r: RowRef, c: string, v: unknown) => T): T | null {
  return value === null || value === undefined ? null : check(ref, column, value);
}

export function insName(ref: RowRef, column: string, v: unknown): string {
  return matches(ref, column, v, INS_NAME_RE, 'an instance name (4-64 of a-z, 0-9, "-")');
}

export function hostName(ref: RowRef, column: string, v: unknown): string {
  return matches(ref, column, v, HOST_NAME_RE, 'a host name');
}

export function word(ref: RowRef, column: string, v: unknown): string {
  return matches(ref, column, v, WORD_RE, 'a catalogue word (letters, digits, "_", ".", ":", "-")');
}

/** An IPv4 or IPv6 address, as node parses it. */
export function ipAddress(ref: RowRef, column: string, v: unknown): string {
  if (typeof v !== 'string' || net.isIP(v) === 0) bad(ref, column, v, 'an IP address');
  return v;
}

export function tcpPort(ref: RowRef, column: string, v: unknown): number {
  const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) bad(ref, column, v, 'a TCP port (1-65535)');
  return n;
}

export function positiveInt(ref: RowRef, column: string, v: unknown): number {
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) bad(ref, column, v, 'a non-negative integer');
  return n;
}

export function oneOf<T extends string>(ref: RowRef, column: string, v: unknown, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) bad(ref, column, v, `one of ${values.join(', ')}`);
  return v as T;
}

export function accountName(ref: RowRef, column: string, v: unknown): string {
  return matches(ref, column, v, ACCOUNT_NAME_RE, 'a MySQL account name');
}

export function accountHost(ref: RowRef, column: string, v: unknown): string {
  return matches(ref, column, v, ACCOUNT_HOST_RE, "an account host (%, an address or pattern, no quotes or spaces)");
}

/** One account host, or a comma list of up to 16 (the system accounts are bound to several addresses). */
export function accountHostList(ref: RowRef, column: string, v: unknown): string {
  if (typeof v !== 'string' || v.split(',').length > 16 || !v.split(',').every((h) => ACCOUNT_HOST_RE.test(h))) bad(ref, column, v, 'an account host or a comma list of them (%, addresses or patterns, no quotes or spaces)');
  return v;
}

export function dbName(ref: RowRef, column: string, v: unknown): string {
  return matches(ref, column, v, DB_NAME_RE, 'a database name');
}

/** A comma list of database names (custins_account.dbs). */
export function dbList(ref: RowRef, column: string, v: unknown): string {
  if (typeof v !== 'string' || !v.split(',').every((d) => DB_NAME_RE.test(d))) bad(ref, column, v, 'a comma list of database names');
  return v;
}

/** A line of printable text (descriptions, error texts): no control characters, no line breaks. */
export function textLine(ref: RowRef, column: string, v: unknown, max = 255): string {
  if (typeof v !== 'string' || v.length > max || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(v)) bad(ref, column, v, `one line of printable text (at most ${max} characters)`);
  return v;
}

/** Server option names as mysqld spells them. */
export const PARAM_NAME_RE = /^[a-z][a-z0-9_.-]{0,127}$/;

/**
 * A server parameter value from mycnf_template / mycnf_custinstance: one line of printable text,
 * at most 255 characters. What my.cnf needs beyond that (quoting) is the renderer's job.
 */
export function paramValue(ref: RowRef, column: string, v: unknown): string {
  if (typeof v !== 'string' || v.length > 255 || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(v)) bad(ref, column, v, 'one line of printable text of at most 255 characters');
  return v;
}

export function paramName(ref: RowRef, column: string, v: unknown): string {
  return matches(ref, column, v, PARAM_NAME_RE, 'a server option name');
}
