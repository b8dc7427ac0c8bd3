import type { Db } from '../remote/mysql.js';
import type { SshPool } from '../remote/ssh-types.js';
import { openInstance, type InstanceSession } from '../remote/mysql-instance.js';
import { socketSqlCommand } from './host-ops.js';
import type { Node } from './layout.js';
import { SUPERUSER, secretOf } from './accounts.js';
import { instanceTrust } from './instance-tls.js';

// Two ways to run SQL on an instance. Until root is dropped, steps use root over the unix socket
// through the `mariadb` client on the NC (unix_socket auth: there is no root password to leak).
// Afterwards, and for `instance show --live`, rdsctl logs in over TCP as the control plane's
// superuser, whose password is in dbaas.custins_secret.

export type SqlRow = Record<string, string | null>;

export interface SqlRunOptions {
  timeoutSec?: number;
  signal?: AbortSignal;
  database?: string;
}

/** Statements on stdin, output of the last result set parsed from --batch (tab-separated). */
export async function socketSql(ssh: SshPool, node: Node, sql: string, o: SqlRunOptions = {}): Promise<SqlRow[]> {
  const out = await ssh.run(node.target, socketSqlCommand(node.layout, { database: o.database }), { stdin: sql.endsWith('\n') ? sql : sql + '\n', timeoutSec: o.timeoutSec ?? 60, signal: o.signal });
  return parseBatch(out);
}

/**
 * The `mariadb --batch` format: a header line, then rows; tab-separated; backslash escapes for
 * tab, newline, NUL and backslash; NULL as the bare word. Several result sets come one after the
 * other, so callers send at most one statement that returns rows, last.
 */
export function parseBatch(text: string): SqlRow[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return [];
  const header = lines[0]!.split('\t').map(unescapeField);
  return lines.slice(1).map((line) => {
    const cells = line.split('\t');
    const row: SqlRow = {};
    header.forEach((h, i) => {
      const c = cells[i];
      row[h] = c === undefined || c === 'NULL' ? null : unescapeField(c);
    });
    return row;
  });
}

function unescapeField(s: string): string {
  return s.replace(/\\([\\tn0])/g, (_m, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === '0' ? '\0' : '\\'));
}

/** A TCP session as the control plane's superuser. */
export async function superuserSession(db: Db, custinsId: number, node: Node, timeoutMs = 5000): Promise<InstanceSession> {
  const password = await secretOf(db, custinsId, SUPERUSER);
  return openInstance({ name: node.host, host: node.ip, port: node.port, user: SUPERUSER, password, tls: await instanceTrust(db, custinsId), connectTimeoutMs: timeoutMs });
}
