import { CommanderError } from 'commander';
import {
  ConfigError, ConflictError, describeError, EXIT_CODE_TABLE, ExitCode, ExitWith, InterruptedError, NotFoundError,
  PermissionError, RemoteError, UnavailableError, UnhealthyError, UsageError,
} from '../../src/core/errors.js';

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
