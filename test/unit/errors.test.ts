import { CommanderError } from 'commander';
import {
  ConfigError, ConflictError, DataError, describeError, EXIT_CODE_TABLE, ExitCode, ExitWith, InternalError, InterruptedError, NotFoundError,
  PermissionError, RemoteError, UnavailableError, UnhealthyError, UsageError,
} from '../../src/core/errors.js';
import { mapDbError } from '../../src/remote/mysql.js';

describe('error → exit code mapping', () => {
  it.each([
    [new UsageError('x'), ExitCode.USAGE],
    [new NotFoundError('x'), ExitCode.NOT_FOUND],
    [new UnhealthyError('x'), ExitCode.UNHEALTHY],
    [new RemoteError('x'), ExitCode.REMOTE],
    [new PermissionError('x'), ExitCode.PERMISSION],
    [new ConfigError('x'), ExitCode.CONFIG],
    [new UnavailableError('x'), ExitCode.UNAVAILABLE],
    [new ConflictError('x'), ExitCode.CONFLICT],
    [new InterruptedError(), ExitCode.INTERRUPTED],
    [new DataError('x'), ExitCode.GENERAL],
    [new InternalError('x'), ExitCode.GENERAL],
    [new Error('boom'), ExitCode.GENERAL],
    ['a string', ExitCode.GENERAL],
    [new ExitWith(4), 4],
  ])('%p → %p', (err, code) => {
    expect(describeError(err).exitCode).toBe(code);
  });

  it('gives the required cases distinct codes', () => {
    const codes = [ExitCode.OK, ExitCode.GENERAL, ExitCode.USAGE, ExitCode.NOT_FOUND, ExitCode.UNHEALTHY, ExitCode.REMOTE, ExitCode.INTERRUPTED];
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('documents every code exactly once', () => {
    const documented = EXIT_CODE_TABLE.map((r) => r.code).sort((a, b) => a - b);
    expect(documented).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  it('maps commander parse errors to usage', () => {
    const e = new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'");
    expect(describeError(e)).toEqual({ exitCode: ExitCode.USAGE, message: "unknown option '--x'" });
  });

  it('keeps messages on one line even when input had newlines or NULs', () => {
    const d = describeError(new NotFoundError('VM "a\nb\0c" not found'));
    expect(d.message).toBe('VM "a\\nb\\0c" not found');
    expect(d.message).not.toMatch(/\n/);
  });

  it('escapes terminal control characters and cuts overlong messages', () => {
    const d = describeError(new NotFoundError('VM "\u001b[2J\u001b]0;pwned\u0007x" not found'));
    expect(d.message).toBe('VM "\\x1b[2J\\x1b]0;pwned\\x07x" not found');
    const long = describeError(new NotFoundError(`VM "${'a'.repeat(70000)}" not found`)).message;
    expect(long.length).toBeLessThanOrEqual(1000);
    expect(long).toMatch(/… \(70015 chars\)$/);
  });

  it('offers at most three near matches', () => {
    const e = new NotFoundError('nope', ['a', 'b', 'c', 'd']);
    expect(e.suggestions).toEqual(['a', 'b', 'c']);
    expect(describeError(e).hint).toBe('did you mean: a, b, c');
  });

  it('ExitWith carries a code without a message', () => {
    expect(describeError(new ExitWith(ExitCode.UNHEALTHY))).toEqual({ exitCode: 4, message: '' });
  });
});

describe('metadb driver errors', () => {
  const driver = (code: string, message = `${code} from the driver`): Error => Object.assign(new Error(message), { code });

  it.each([
    ['ER_ACCESS_DENIED_ERROR', ExitCode.CONFIG, /^metadb houyi at 127\.0\.0\.1:3306 refused the login: ER_ACCESS_DENIED_ERROR \(check the user or password in the profile's databases\.houyi\)$/],
    ['ER_DBACCESS_DENIED_ERROR', ExitCode.CONFIG, /refused the login: ER_DBACCESS_DENIED_ERROR \(check the user or password/],
    ['ER_BAD_DB_ERROR', ExitCode.CONFIG, /refused the login: ER_BAD_DB_ERROR \(check the database name/],
    ['ECONNREFUSED', ExitCode.UNAVAILABLE, /^metadb houyi at 127\.0\.0\.1:3306 is unreachable: ECONNREFUSED$/],
    ['PROTOCOL_CONNECTION_LOST', ExitCode.UNAVAILABLE, /is unreachable/],
    ['ER_LOCK_DEADLOCK', ExitCode.CONFLICT, /another operation holds the rows/],
    ['ER_NO_SUCH_TABLE', ExitCode.GENERAL, /^metadb houyi at 127\.0\.0\.1:3306: ER_NO_SUCH_TABLE: ER_NO_SUCH_TABLE from the driver$/],
  ])('%s → exit %p', (code, exit, message) => {
    const d = describeError(mapDbError(driver(code), 'houyi', '127.0.0.1:3306'));
    expect(d.exitCode).toBe(exit);
    expect(d.message).toMatch(message);
  });

  it('passes typed errors through unchanged', () => {
    const e = new ConflictError('busy');
    expect(mapDbError(e, 'dbaas', 'x')).toBe(e);
  });
});

test("commander's typo suggestion stays on the one error line", () => {
  const e = Object.assign(new Error("error: unknown command 'go2cn'\n(Did you mean go2nc?)"), { code: 'commander.unknownCommand' });
  expect(describeError(e).message).toBe("unknown command 'go2cn' (did you mean go2nc?)");
  const o = Object.assign(new Error("error: unknown option '--stauts'\n(Did you mean --status?)"), { code: 'commander.unknownOption' });
  expect(describeError(o).message).toBe("unknown option '--stauts' (did you mean --status?)");
});
