import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');

export interface OnPty {
  p: ChildProcess;
  /** Everything the terminal showed so far. */
  out: () => string;
  /** rdsctl's exit code, as `script -e` reports it. */
  exit: Promise<number | null>;
}

/**
 * `rdsctl ARGS` on a pseudo-terminal (util-linux `script`), for tests of what a terminal user sees.
 * The command is exec'd: `script` runs it through $SHELL -c, and dash (the /bin/sh a CI machine
 * falls back to) stays as the parent, dies of the terminal's Ctrl-C and makes `script -e` report
 * the shell's 130 instead of rdsctl's own exit code.
 */
export function rdsctlOnPty(args: string[], env: NodeJS.ProcessEnv): OnPty {
  const cmd = 'exec ' + [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const p = spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  return { p, out: () => out, exit };
}
