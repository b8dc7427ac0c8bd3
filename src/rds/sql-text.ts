import { UsageError } from '../core/errors.js';

// SQL text for an RDS instance. Metadb statements use placeholders; statements an install step
// sends to an instance go through the `mariadb` client on the NC (root over the unix socket, no
// password anywhere) where placeholders do not exist, or are DDL (CREATE USER, GRANT, CHANGE
// MASTER) where the protocol has none. Names are validated before they get here; these
// functions still escape every character that matters, so a bad name can never end a literal.

export { PINNED_SQL_MODE, PIN_SQL_MODE } from '../remote/sql-mode.js';

/** A string literal, escaped for the pinned sql_mode (backslash escapes on). */
export function sqlString(s: string): string {
  if (s.includes('\0')) throw new UsageError('SQL value contains a NUL byte');
  return (
    "'" +
    s.replace(/[\\'"\n\r\x1a\t\b]/g, (c) => {
      switch (c) {
        case '\n':
          return '\\n';
        case '\r':
          return '\\r';
        case '\x1a':
          return '\\Z';
        case '\t':
          return '\\t';
        case '\b':
          return '\\b';
        default:
          return '\\' + c;
      }
    }) +
    "'"
  );
}

/** A quoted identifier (database, table, column): backticks, inner backticks doubled. */
export function sqlIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new UsageError(`bad SQL identifier "${name}"`);
  return '`' + name.replace(/`/g, '``') + '`';
}

/** 'user'@'host' */
export function sqlAccount(name: string, host: string): string {
  return `${sqlString(name)}@${sqlString(host)}`;
}
