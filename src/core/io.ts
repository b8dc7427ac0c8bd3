import type { Readable, Writable } from 'node:stream';

export type Styler = (text: string) => string;

/** The styles of coloured output (chalk's); loaded by cli.ts at start-up only when a stream is a colour TTY. */
export interface Palette {
  ok: Styler;
  warn: Styler;
  bad: Styler;
  dim: Styler;
  bold: Styler;
}

/**
 * The process's streams as commands see them. Commands never touch process.stdout directly,
 * so tests run the real program in-process with captured streams.
 */
export interface IO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Colour on stdout: only on a TTY, never under NO_COLOR. */
  color: boolean;
  /** Colour on stderr, decided separately: `rdsctl x | jq` still gets coloured progress. */
  colorErr: boolean;
  /** The styles for stdout when it is coloured and they were loaded; printers colour with these. */
  outPalette?: Palette;
  /** The same for stderr. */
  errPalette?: Palette;
  /** A human can answer a confirmation prompt. */
  canPrompt: boolean;
  out(text: string): void;
  err(text: string): void;
}

export interface IOOptions {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  stdinIsTTY?: boolean;
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
  env?: NodeJS.ProcessEnv;
  palette?: Palette;
}

export function createIO(o: IOOptions = {}): IO {
  const env = o.env ?? process.env;
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const stdin = o.stdin ?? process.stdin;
  const stdoutIsTTY = o.stdoutIsTTY ?? Boolean((stdout as { isTTY?: boolean }).isTTY);
  const stderrIsTTY = o.stderrIsTTY ?? Boolean((stderr as { isTTY?: boolean }).isTTY);
  const stdinIsTTY = o.stdinIsTTY ?? Boolean((stdin as { isTTY?: boolean }).isTTY);
  // https://no-color.org: any non-empty NO_COLOR disables colour. FORCE_COLOR is for tests of colour.
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const force = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
  const io: IO = {
    stdin,
    stdout,
    stderr,
    stdinIsTTY,
    stdoutIsTTY,
    stderrIsTTY,
    color: !noColor && (stdoutIsTTY || force),
    colorErr: !noColor && (stderrIsTTY || force),
    canPrompt: stdinIsTTY && stderrIsTTY,
    out: (t) => void stdout.write(t),
    err: (t) => void stderr.write(t),
  };
  return o.palette ? withPalette(io, o.palette) : io;
}

/** The IO with the palette on each stream that is coloured (a new object; io is left as it was). */
export function withPalette(io: IO, palette: Palette): IO {
  return { ...io, outPalette: io.color ? palette : undefined, errPalette: io.colorErr ? palette : undefined };
}
