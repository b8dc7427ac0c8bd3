import type { Command } from 'commander';
import type { Context } from './context.js';

// What a verb file exports. The registry (commands/index.ts) knows each verb's name, summary and
// role without loading it; the module is imported only when its command is the one being run
// (or its own --help is asked for). This keeps `rdsctl --version` and `--help` fast.

/**
 * The least role an operator needs to run a command (enforced in cli.ts before the command's
 * work, roles from the profile). 'none' is for local commands that must work without a metadb
 * (config, lab, help). A verb whose sub-action needs more (e.g. `instance step goto`) calls
 * requireRole() from core/authz.ts itself.
 */
export type Role = 'none' | 'read' | 'operator' | 'admin';

/** Runs a verb's work with the context and turns the outcome into an exit code (cli.ts owns it). */
export type Runner = (work: (ctx: Context) => Promise<number | void>) => Promise<void>;

export interface VerbModule {
  /** Declare arguments, options, help text with examples, and the action on `cmd`. */
  register(cmd: Command, run: Runner): void;
}

export interface CommandSpec {
  /** Words after `rdsctl`: ['go2nc'], ['config', 'list'], ['instance', 'step']. */
  path: string[];
  summary: string;
  role: Role;
  load: () => Promise<VerbModule>;
}

/** Help text block of examples, the same shape on every command. */
export function examples(...lines: string[]): string {
  return '\nExamples:\n' + lines.map((l) => `  $ ${l}`).join('\n') + '\n';
}
