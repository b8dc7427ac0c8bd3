import { PassThrough } from 'node:stream';
import { main, type MainDeps } from '../../src/cli.js';
import { createIO } from '../../src/core/io.js';
import { COMMANDS } from '../../src/commands/index.js';

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

/**
 * Jest's ESM loader (--experimental-vm-modules) can fail to link a module that two in-process runs
 * import at the same moment ("request for 'node:os' is not in cache"); the CLI loads its verb
 * lazily, so tests that run several commands at once (hostile-metadb) hit it at random. Loading
 * every verb once, one after another, before the first run puts them all in the registry.
 */
let warmed: Promise<void> | undefined;
function warmVerbs(): Promise<void> {
  return (warmed ??= (async () => {
    for (const spec of COMMANDS) await spec.load();
    // The modules the CLI itself imports on first use.
    await import('../../src/core/context.js');
    await import('../../src/core/authz.js');
    await import('../../src/remote/ssh.js');
    await import('mysql2/promise');
  })());
}

export async function runCli(args: string[], o: RunOptions = {}): Promise<CliResult> {
  await warmVerbs();
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
