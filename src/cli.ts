import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { COMMANDS, GROUP_EXAMPLES, GROUPS } from './commands/index.js';
import { examples } from './core/command.js';
import type { CommandSpec, Runner } from './core/command.js';
import type { Context, ContextOptions } from './core/context.js';
import { describeError, EXIT_CODE_TABLE, ExitCode } from './core/errors.js';
import { createIO, withPalette, type IO } from './core/io.js';

// The program: global options, lazy command tree, error → exit code. This file is the ONLY place
// that decides the process's exit code and the only one that calls process.exit.
// Start-up is measured (`npm run bench -- --only startup`): commander is imported when a command
// line needs parsing, each verb's module when it runs, the context when a command works.

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

export interface MainDeps extends Omit<ContextOptions, 'configFlag' | 'profileFlag' | 'debug' | 'io'> {
  io?: IO;
  /** Tests pass a hook to observe the context a command ran with. */
  onContext?: (ctx: Context) => void;
}

/** Global options that take a value, so the command word can be found without loading commander's parse. */
const GLOBAL_WITH_VALUE = new Set(['--profile', '--config']);

/** The first words of argv that name a command (global options skipped). */
export function commandWords(argv: string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (GLOBAL_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) {
      if (words.length) break;
      continue;
    }
    words.push(a);
    if (words.length === 2) break;
  }
  return words;
}

function isVersionQuery(argv: string[]): boolean {
  return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
}

export async function main(argv: string[], deps: MainDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  let io = deps.io ?? createIO({ env });
  let exitCode: number = ExitCode.OK;
  const contexts: Context[] = [];
  // `rdsctl --version` answers before anything else loads (it is what scripts probe with).
  if (isVersionQuery(argv)) {
    io.out(`${pkg.version}\n`);
    return exitCode;
  }

  const { Command } = await import('commander');
  if ((io.color || io.colorErr) && !io.outPalette && !io.errPalette) io = withPalette(io, await (await import('./core/output.js')).loadPalette());
  const words = commandWords(argv);
  const program = new Command('rdsctl')
    .description('Ops toolkit for the RDS / ECS fleet: jump to NCs and VMs, read the metadbs, install and repair RDS MySQL instances')
    .option('--profile <name>', 'profile to use (default: $RDSCTL_PROFILE, then the config\'s current)')
    .option('--config <file>', 'config file (default: $RDSCTL_CONFIG, then $XDG_CONFIG_HOME/rdsctl/config.json)')
    .option('--debug', 'show stack traces and driver detail on errors')
    .helpCommand(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // commander's own errors go through our single error path below instead.
      outputError: () => undefined,
    })
    .addHelpText('after', `\nExit codes: see \`rdsctl help exit-codes\`. Config: ${'$XDG_CONFIG_HOME/rdsctl/config.json'}.\n`);
  // commander takes the program's --version wherever it appears; commands have a --version of
  // their own (`instance create --version 5.7`), so the program's exists only without a command.
  if (words.length === 0) program.version(pkg.version, '-V, --version', 'print the version');

  const run: Runner = async (work) => {
    const g = program.opts<{ profile?: string; config?: string; debug?: boolean }>();
    // Loaded here, not at the top: `--version` and `--help` never build a context.
    const { createContext } = await import('./core/context.js');
    const ctx = createContext({ ...deps, io, env, configFlag: g.config, profileFlag: g.profile, debug: g.debug });
    contexts.push(ctx);
    deps.onContext?.(ctx);
    const code = await work(ctx);
    if (typeof code === 'number') exitCode = code;
  };


  await buildTree(program, words, run);
  program
    .command('help')
    .description('Help for a command, or a topic: exit-codes')
    .argument('[topic...]', 'a command (e.g. "instance step") or "exit-codes"')
    .action(async (topic: string[]) => {
      if (topic.length === 1 && topic[0] === 'exit-codes') {
        io.out(exitCodeHelp());
        return;
      }
      if (topic.length === 0) {
        program.outputHelp();
        return;
      }
      // Re-enter with "<words> --help" so the real (lazily loaded) command prints its own help.
      exitCode = await main([...topic, '--help'], { ...deps, io });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    exitCode = report(io, err, Boolean(program.opts().debug) || argv.includes('--debug'));
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  }
  return exitCode;
}

/** Register placeholders for every command, and the real definition for the one being run. */
async function buildTree(program: Command, words: string[], run: Runner): Promise<void> {
  const groups = new Map<string, Command>();
  for (const spec of COMMANDS) {
    const [top, sub] = spec.path;
    let parent = program;
    if (sub !== undefined) {
      let g = groups.get(top!);
      if (!g) {
        g = program.command(top!).description(GROUPS[top!] ?? '').helpCommand(false);
        const ex = GROUP_EXAMPLES[top!];
        if (ex) g.addHelpText('after', examples(...ex));
        groups.set(top!, g);
      }
      parent = g;
    }
    const name = sub ?? top!;
    const selected = words[0] === top && (sub === undefined || words[1] === sub);
    const cmd = parent.command(name).description(spec.summary);
    if (selected) await loadInto(cmd, spec, run);
    else if (sub === undefined || words[0] !== top) cmd.allowUnknownOption().allowExcessArguments();
  }
  for (const g of groups.values()) g.exitOverride();
}

/** Set by runCli (the real program, not tests in-process): see loadInto. */
let compileCacheWanted = false;

async function loadInto(cmd: Command, spec: CommandSpec, run: Runner): Promise<void> {
  // Only a command that runs loads mysql2 or ssh2, where the code cache pays; --version and --help
  // would pay node:crypto and node:vm for nothing.
  if (compileCacheWanted) (await import('./core/compile-cache.js')).enableCompileCache();
  const mod = await spec.load();
  // The role check runs before the command's own work, with the command's context.
  const what = `rdsctl ${spec.path.join(' ')}`;
  mod.register(cmd, (work) =>
    run(async (ctx) => {
      if (spec.role !== 'none') await (await import('./core/authz.js')).requireRole(ctx, spec.role, what);
      return work(ctx);
    }),
  );
  cmd.exitOverride();
}

function exitCodeHelp(): string {
  const w = Math.max(...EXIT_CODE_TABLE.map((r) => r.name.length));
  return (
    'Exit codes (stable; runbooks may rely on them):\n' +
    EXIT_CODE_TABLE.map((r) => `  ${String(r.code).padStart(3)}  ${r.name.padEnd(w)}  ${r.meaning}`).join('\n') +
    '\n'
  );
}

/** Print one line for an error and return its exit code. Stack traces only with --debug. */
function report(io: IO, err: unknown, debug: boolean): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return ExitCode.OK;
  if (code === 'commander.executeSubCommandAsync') return ExitCode.GENERAL;
  const d = describeError(err);
  if (d.message) io.err(`rdsctl: ${d.message}${d.hint ? ` (${d.hint})` : ''}\n`);
  if (debug && err instanceof Error && err.stack) io.err(err.stack + '\n');
  return d.exitCode;
}

/** Entry point of bin/rdsctl: wires signals and exits with the code main() decided. */
export async function runCli(): Promise<void> {
  compileCacheWanted = true;
  const ac = new AbortController();
  let interrupts = 0;
  // Ctx.holdInterrupts(): an interactive child (the mariadb client) handles Ctrl-C itself.
  let held = 0;
  const interruptHold = {
    hold(): () => void {
      held++;
      let released = false;
      return () => {
        if (!released) held--;
        released = true;
      };
    },
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (sig === 'SIGINT' && held > 0) return;
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.INTERRUPTED);
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `rdsctl … | head` closes our stdout; that is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  let code: number;
  try {
    code = await main(process.argv.slice(2), { signal: ac.signal, interrupts: interruptHold });
  } catch (err) {
    code = report(createIO(), err, process.argv.includes('--debug'));
  }
  if (ac.signal.aborted && code === ExitCode.OK) code = ExitCode.INTERRUPTED;
  process.exitCode = code;
  // A pipe takes stdout asynchronously: wait until both streams have handed over everything, or a
  // large `-o json` is cut at 64 KiB. Then exit explicitly so a stray handle cannot hang a runbook.
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((r) => s.write('', () => r()))));
  process.exit(code);
}

