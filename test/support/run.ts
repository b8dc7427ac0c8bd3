import { PassThrough } from 'node:stream';
import { main, type MainDeps } from '../../src/cli.js';
import { createIO } from '../../src/core/io.js';

// Runs the real program in-process with captured streams: what a user would see on a pipe
// (no TTY, no colour) unless a test asks for a TTY.

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions extends Omit<MainDeps, 'io'> {
  stdin?: string;
  tty?: boolean;
}

export async function runCli(args: string[], o: RunOptions = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  if (o.stdin !== undefined) stdin.end(o.stdin);
  else stdin.end();
  const env = o.env ?? process.env;
  const io = createIO({ stdin, stdout, stderr, stdinIsTTY: Boolean(o.tty), stdoutIsTTY: Boolean(o.tty), stderrIsTTY: Boolean(o.tty), env });
  const code = await main(args, { ...o, env, io });
  await new Promise((r) => setImmediate(r));
  return { code, stdout: out, stderr: err };
}

/** Parse stdout as JSON with a useful failure message. */
export function json<T = unknown>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}); stderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 2000)}`);
  }
}
