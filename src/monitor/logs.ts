import path from 'node:path';
import type { Context } from '../core/context.js';
import { NotFoundError, RemoteError, UsageError } from '../core/errors.js';
import { openInstance } from '../remote/mysql-instance.js';
import { sh } from '../remote/quote.js';
import { SUPERUSER, secretOf } from '../rds/accounts.js';
import { findCustins } from '../rds/custins.js';
import { targetOf, type MonitorTarget } from './targets.js';
import { instanceTrust } from '../rds/instance-tls.js';

// `instance logs`: a server's logs read on its NC over SSH. The error log is where the layout puts
// it (it is needed most when the server is down, so no server is asked). The slow and general
// logs are wherever the server was told to write them: it is asked (@@slow_query_log_file, a name
// relative to its datadir by default).

export type LogKind = 'error' | 'slow' | 'general';

export interface LogSource {
  ins_name: string;
  role: 'master' | 'slave';
  host: string;
  target: MonitorTarget;
  kind: LogKind;
  file: string;
  /** For slow/general: whether the server is writing it now (null: could not ask). */
  enabled: boolean | null;
}

/** A log path the server reported, made absolute against the datadir and checked before it reaches a shell. */
export function resolveLogPath(reported: string, dataDir: string): string {
  if (!reported || /[\0\r\n]/.test(reported)) throw new RemoteError(`the server reported an unusable log file name ${JSON.stringify(reported)}`);
  const p = path.posix.isAbsolute(reported) ? reported : path.posix.join(dataDir, reported);
  return path.posix.normalize(p);
}

export async function logSource(ctx: Context, ref: string, o: { kind: LogKind; standby: boolean }): Promise<LogSource> {
  const db = ctx.db('dbaas');
  const c = await findCustins(db, ref);
  const role = o.standby ? 'slave' : 'master';
  const t = await targetOf(db, c.id, role);
  if (!t) throw new NotFoundError(`instance ${c.ins_name} has no ${o.standby ? 'standby' : 'master'} in dbaas`);
  const base = { ins_name: c.ins_name, role, host: t.host, target: t, kind: o.kind } as const;
  if (o.kind === 'error') return { ...base, file: t.layout.errorLog, enabled: true };
  const s = await openInstance({ name: `${t.insName} ${t.role} on ${t.host}`, host: t.ip, port: t.port, user: SUPERUSER, password: await secretOf(db, c.id, SUPERUSER), tls: await instanceTrust(db, c.id, c.ins_name), connectTimeoutMs: 5000 }).catch((e: Error) => {
    throw new RemoteError(`${e.message} (the ${o.kind} log's file name comes from the server; \`--error\` works with the server down)`);
  });
  try {
    const [v] = await s.query<{ on: number | string; file: string }>(o.kind === 'slow' ? 'SELECT @@GLOBAL.slow_query_log AS `on`, @@GLOBAL.slow_query_log_file AS file' : 'SELECT @@GLOBAL.general_log AS `on`, @@GLOBAL.general_log_file AS file');
    return { ...base, file: resolveLogPath(String(v!.file), t.layout.dataDir), enabled: Number(v!.on) === 1 };
  } finally {
    await s.close();
  }
}

/** Exit code of logCommand when the file is not there. */
export const LOG_MISSING = 66;

/** tail on the NC: the last `lines`, then (follow) new lines as they come, across rotation (-F). */
export function logCommand(file: string, lines: number, follow: boolean): string {
  if (!Number.isSafeInteger(lines) || lines < 0) throw new UsageError(`-n ${lines}: a whole number`);
  return sh`if [ ! -e ${file} ]; then echo "no such file: "${file} >&2; exit ${LOG_MISSING}; fi; exec tail -n ${lines}` + (follow ? ' -F' : '') + sh` -- ${file}`;
}

/** Control characters from a log line (a client can put them in a statement) are shown as escapes. */
export function safeLogText(s: string): string {
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
