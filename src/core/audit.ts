import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { UnavailableError } from './errors.js';
import type { Db } from '../remote/mysql.js';
import { redactWords } from './redact-words.js';

// The audit trail. Every mutating command writes an *intent* before it acts and a *result*
// after, so a command killed mid-way leaves an intent with no result. The local JSONL file is
// the record of truth: opened for append and fsynced per record. The dbaas `ops_audit` table is
// a copy, written when reachable and backfilled from the file later.

export interface AuditRecord {
  id: string;
  phase: 'intent' | 'result';
  ts: string;
  user: string;
  profile: string;
  command: string;
  targets: string[];
  reason: string | null;
  dry_run: boolean;
  /** Free-form, redacted detail: the remote command, the SQL intent, per-host results. */
  detail: Record<string, unknown>;
  ok?: boolean;
  exit_code?: number;
}

export interface AuditIntent {
  command: string;
  targets: string[];
  reason?: string | null;
  dryRun?: boolean;
  detail?: Record<string, unknown>;
}

// What the audit must never hold: a password an operator typed into a fan-out command
// (`mysql -pS3cret`, `MYSQL_PWD=…`, `IDENTIFIED BY '…'`), or a detail field named like a secret.
// The record keeps the rest of the command, so it still says what ran.
// Programs' options are read from the command's words (redact-words.ts); SQL and JSON inside a
// word are matched as text below.
const SECRET_TEXT: ReadonlyArray<[RegExp, string]> = [
  [/(IDENTIFIED\s+(?:BY|WITH\s+\w+\s+(?:BY|AS)|VIA\s+\w+\s+(?:USING|AS))\s+(?:PASSWORD\s*\(\s*)?)'(?:[^'\\]|\\.|'')*'/gi, "$1'***'"],
  [/(IDENTIFIED\s+(?:BY|WITH\s+\w+\s+(?:BY|AS)|VIA\s+\w+\s+(?:USING|AS))\s+(?:PASSWORD\s*\(\s*)?)"(?:[^"\\]|\\.|"")*"/gi, '$1"***"'],
  [/(\bSET\s+PASSWORD\b[^=;]*=\s*(?:(?:OLD_)?PASSWORD\s*\(\s*)?)(?:'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")/gi, "$1'***'"],
  [/((?:\\?")[\w-]*(?:password|passwd|pwd|secret|token|api_?key)(?:\\?")\s*:\s*)(\\?")(?:[^"\\]|\\[^"]|\\(?="))*?\2/gi, '$1$2***$2'],
  [/(PASSWORD\s*\(\s*)'(?:[^'\\]|\\.|'')*'/gi, "$1'***'"],
  [/((?:MASTER_PASSWORD|PASSWORD)\s*=\s*)'(?:[^'\\]|\\.|'')*'/gi, "$1'***'"],
  [/(--password(?:=|\s+))(?:'[^']*'|"[^"]*"|\S+)/gi, '$1***'],
  [/(\b(?:mysql\w*|mariadb\w*)\b[^|;&\n]*?\s-p)(?:'[^']*'|"[^"]*"|[^\s'"]+)/g, '$1***'],
  [/(\b(?:MYSQL_PWD|PGPASSWORD|SSHPASS|[A-Z_]*(?:PASSWORD|SECRET|TOKEN))=)(?!'\*\*\*')(?:'[^']*'|"[^"]*"|\S+)/g, '$1***'],
  [/((?:\b|\\n)password(?:=|:\s*))(?!(?:YES|NO)\)|'\*\*\*')(?:'[^']*'|"[^"]*"|[^\s,;})]+)/gi, '$1***'],
  [/(sshpass\s+-p\s*)(?:'[^']*'|"[^"]*"|\S+)/g, '$1***'],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, '$1***@'],
];
const SECRET_KEY = /^(?:\w*_)?(?:password|passwd|pwd|secret|credentials?|api_?key|secret_?key)$/i;

export function redactText(text: string): string {
  const byText = (t: string): string => SECRET_TEXT.reduce((x, [re, to]) => x.replace(re, to), t);
  return redactWords(byText(text), byText);
}

/** A deep copy with secret-looking strings masked and secret-named fields replaced by "***". */
export function redact<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactText(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET_KEY.test(k) && x !== null && typeof x !== 'boolean' ? '***' : walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

export class AuditLog {
  constructor(
    private readonly file: string,
    private readonly who: { user: string; profile: string },
    private readonly now: () => Date,
    private readonly metadb: () => Db | undefined,
  ) {}

  get path(): string {
    return this.file;
  }

  /** Refuse to act unaudited: called before any mutation, fails if the log cannot be written. */
  async intent(i: AuditIntent): Promise<string> {
    const rec: AuditRecord = {
      id: randomUUID(),
      phase: 'intent',
      ts: this.now().toISOString(),
      user: this.who.user,
      profile: this.who.profile,
      command: i.command,
      targets: i.targets,
      reason: i.reason == null ? null : redactText(i.reason),
      dry_run: Boolean(i.dryRun),
      detail: redact(i.detail ?? {}),
    };
    this.appendLocal(rec);
    await this.appendDb(rec);
    return rec.id;
  }

  async result(id: string, r: { ok: boolean; exitCode: number; detail?: Record<string, unknown>; intent: AuditIntent }): Promise<void> {
    const rec: AuditRecord = {
      id,
      phase: 'result',
      ts: this.now().toISOString(),
      user: this.who.user,
      profile: this.who.profile,
      command: r.intent.command,
      targets: r.intent.targets,
      reason: r.intent.reason == null ? null : redactText(r.intent.reason),
      dry_run: Boolean(r.intent.dryRun),
      detail: redact(r.detail ?? {}),
      ok: r.ok,
      exit_code: r.exitCode,
    };
    this.appendLocal(rec);
    await this.appendDb(rec);
  }

  private appendLocal(rec: AuditRecord): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const fd = fs.openSync(this.file, 'a', 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(rec) + '\n');
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      throw new UnavailableError(`audit log ${this.file} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); refusing to act unaudited`, { cause: e });
    }
  }

  /** Best effort: the local file already holds the record; backfill() copies what is missing. */
  private async appendDb(rec: AuditRecord): Promise<void> {
    const db = this.metadb();
    if (!db) return;
    try {
      await insertAuditRow(db, rec);
    } catch {
      // metadb down: the local log is authoritative and `audit backfill` copies it later.
    }
  }

  /** Records in the local file, oldest first. A torn last line (crash mid-write) is skipped. */
  readLocal(): AuditRecord[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new UnavailableError(`audit log ${this.file} is not readable: ${(e as NodeJS.ErrnoException).code}`);
    }
    const out: AuditRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as AuditRecord);
      } catch {
        continue;
      }
    }
    return out;
  }

  /** Copy local records missing from ops_audit. Idempotent: (record_id, phase) is unique. */
  async backfill(db: Db): Promise<number> {
    let n = 0;
    for (const rec of await this.missing(db)) n += await insertAuditRow(db, rec);
    return n;
  }

  /** Local records that ops_audit does not have yet (what backfill would copy). */
  async missing(db: Db): Promise<AuditRecord[]> {
    const local = this.readLocal();
    const have = new Set<string>();
    for (let i = 0; i < local.length; i += 500) {
      const ids = [...new Set(local.slice(i, i + 500).map((r) => r.id))];
      const rows = await db.query<{ record_id: string; phase: string }>('SELECT record_id, phase FROM ops_audit WHERE record_id IN (?)', [ids]);
      for (const r of rows) have.add(`${r.record_id}/${r.phase}`);
    }
    return local.filter((r) => !have.has(`${r.id}/${r.phase}`));
  }
}

export const INSERT_AUDIT_ROW = `INSERT IGNORE INTO ops_audit (record_id, phase, ts, os_user, profile, command, targets, reason, dry_run, ok, exit_code, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

async function insertAuditRow(db: Db, rec: AuditRecord): Promise<number> {
  const r = await db.execute(
    INSERT_AUDIT_ROW,
    [rec.id, rec.phase, new Date(rec.ts), rec.user, rec.profile, rec.command, JSON.stringify(rec.targets), rec.reason, rec.dry_run ? 1 : 0, rec.ok === undefined ? null : rec.ok ? 1 : 0, rec.exit_code ?? null, JSON.stringify(rec.detail)],
  );
  return r.affectedRows;
}
