// The one exit-code table. Every typed error maps to exactly one code here, and cli.ts is the
// only place that turns a code into a process exit. Runbooks depend on these numbers: never
// renumber, only add.

export const ExitCode = {
  OK: 0,
  GENERAL: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  UNHEALTHY: 4,
  REMOTE: 5,
  PERMISSION: 6,
  CONFIG: 7,
  UNAVAILABLE: 8,
  CONFLICT: 9,
  INTERRUPTED: 130,
} as const;

/** The documented meaning of each code, shown by `rdsctl help exit-codes` and in the README. */
export const EXIT_CODE_TABLE: ReadonlyArray<{ code: number; name: string; meaning: string }> = [
  { code: 0, name: 'ok', meaning: 'success; for checks, everything healthy' },
  { code: 1, name: 'error', meaning: 'unexpected internal error (rerun with --debug for the stack)' },
  { code: 2, name: 'usage', meaning: 'bad flag, argument, parameter value or missing --yes' },
  { code: 3, name: 'not-found', meaning: 'the named NC, VM, instance, step or record does not exist (an unknown profile is 7)' },
  { code: 4, name: 'unhealthy', meaning: 'the command ran and found something not healthy (offline node, rule violation, failed check)' },
  { code: 5, name: 'remote', meaning: 'a remote command or SSH failed on one or more hosts (go2nc on one host passes the remote code through)' },
  { code: 6, name: 'permission', meaning: 'the operator lacks the role the command needs' },
  { code: 7, name: 'config', meaning: "config file unreadable or invalid, unknown profile, bad DSN, a metadb refusing the profile's login (wrong user, password or database name)" },
  { code: 8, name: 'unavailable', meaning: 'a dependency is unreachable or missing: metadb down, port in use, package not installed, a metadb whose TLS certificate tls.ca did not issue' },
  { code: 9, name: 'conflict', meaning: 'the target is busy or in the wrong state (task leased by another runner, instance not running)' },
  { code: 130, name: 'interrupted', meaning: 'stopped by Ctrl-C / SIGINT / SIGTERM; what was gathered so far is printed' },
];

/** Base of every error the CLI knows how to report: one line, a code, an optional hint. */
export class RdsctlError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  constructor(message: string, exitCode: number, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = opts.hint;
  }
}

/** Something that must always work did not: a bug in rdsctl or in what it runs on. */
export class InternalError extends RdsctlError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.GENERAL, opts);
  }
}

/** A record read from a metadb or a host is malformed or inconsistent, so rdsctl cannot go on with it. */
export class DataError extends RdsctlError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.GENERAL, opts);
  }
}

export class UsageError extends RdsctlError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.USAGE, opts);
  }
}

export class NotFoundError extends RdsctlError {
  /** Up to three near matches, shown as "did you mean". */
  readonly suggestions: string[];
  constructor(message: string, suggestions: string[] = [], opts: { cause?: unknown } = {}) {
    const hint = suggestions.length ? `did you mean: ${suggestions.slice(0, 3).join(', ')}` : undefined;
    super(message, ExitCode.NOT_FOUND, { ...opts, hint });
    this.suggestions = suggestions.slice(0, 3);
  }
}

export class UnhealthyError extends RdsctlError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.UNHEALTHY, opts);
  }
}

export class RemoteError extends RdsctlError {
  readonly host?: string;
  constructor(message: string, opts: { host?: string; cause?: unknown; hint?: string } = {}) {
    super(message, ExitCode.REMOTE, opts);
    this.host = opts.host;
  }
}

export class PermissionError extends RdsctlError {
  constructor(message: string, opts: { hint?: string } = {}) {
    super(message, ExitCode.PERMISSION, opts);
  }
}

export class ConfigError extends RdsctlError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.CONFIG, opts);
  }
}

export class UnavailableError extends RdsctlError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.UNAVAILABLE, opts);
  }
}

export class ConflictError extends RdsctlError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.CONFLICT, opts);
  }
}

export class InterruptedError extends RdsctlError {
  constructor(message = 'interrupted') {
    super(message, ExitCode.INTERRUPTED);
  }
}

/**
 * A command that finished its work but wants a non-zero exit without an error line
 * (e.g. `lb_node status` printed its table and some node is offline). Carries the code only.
 */
export class ExitWith extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}

/** The single mapping from anything thrown to an exit code and a one-line message. */
export function describeError(err: unknown): { exitCode: number; message: string; hint?: string } {
  if (err instanceof ExitWith) return { exitCode: err.exitCode, message: '' };
  if (err instanceof RdsctlError) return { exitCode: err.exitCode, message: oneLine(err.message), hint: err.hint };
  const e = err as { code?: string; message?: string } | undefined;
  // Commander reports its own parse problems with codes like 'commander.unknownOption'.
  if (e && typeof e.code === 'string' && e.code.startsWith('commander.')) {
    // commander puts its suggestion on a second line; keep it on the one error line.
    const msg = String(e.message ?? '').replace(/^error: /, '').replace(/\s*\n\(Did you mean ([^\n]*)\)\s*$/, ' (did you mean $1)');
    return { exitCode: ExitCode.USAGE, message: oneLine(msg) };
  }
  const msg = err instanceof Error ? err.message : String(err);
  return { exitCode: ExitCode.GENERAL, message: oneLine(msg || 'unexpected error') };
}

/** Longest error line printed; a 64 KiB name echoed back helps nobody. */
export const MAX_ERROR_LENGTH = 1000;

/**
 * Errors must stay one line of plain text: a newline in a user-supplied name must not forge
 * extra output, and a terminal escape (ESC[2J, OSC title) must not act on the operator's
 * terminal. Control characters are shown escaped; overlong messages are cut.
 */
export function oneLine(s: string): string {
  const flat = s
    .replace(/\r?\n|\r/g, '\\n')
    .replace(/\0/g, '\\0')
    .replace(/[\x01-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    // Line/paragraph separators and bidi controls (U+202E shows text reversed).
    .replace(/[\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  return flat.length > MAX_ERROR_LENGTH ? `${flat.slice(0, MAX_ERROR_LENGTH - 15)}… (${flat.length} chars)` : flat;
}
