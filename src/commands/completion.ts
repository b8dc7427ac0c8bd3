import { Command, Option } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { cacheFile, clearRefreshLock, FRESH_MS, readCache, refreshInBackground, writeCache, type NameCache } from '../complete/cache.js';
import { candidates, type NameKind } from '../complete/candidates.js';
import { completionScript, SHELLS, type Shell } from '../complete/scripts.js';

export interface Options {
  mode: { script: Shell } | { line: string[] } | { refresh: true };
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('[shell]', `the shell to print a completion script for: ${SHELLS.join(', ')}`)
    .argument('[words...]', 'with --line: the words typed so far (internal)')
    .addOption(new Option('--line', 'print the candidates for the last of WORDS (used by the scripts)').hideHelp())
    .addOption(new Option('--refresh', 'refresh the cached NC/VM/instance names (run in the background by TAB)').hideHelp())
    .addHelpText(
      'after',
      '\nCommands, flags, flag choices, profiles, and NC/VM/instance names from the metadb complete. Names\n' +
        `come from a per-profile cache (~/.cache/rdsctl/complete-PROFILE.json) refreshed in the background\nwhen older than ${FRESH_MS / 1000}s, so TAB never waits on the metadb.\n` +
        examples('source <(rdsctl completion bash)          # in ~/.bashrc', 'rdsctl completion zsh > "${fpath[1]}/_rdsctl"', 'rdsctl completion fish > ~/.config/fish/completions/rdsctl.fish'),
    )
    .action(async (shell: string | undefined, words: string[], o: { line?: boolean; refresh?: boolean }) => {
      let mode: Options['mode'];
      if (o.refresh) mode = { refresh: true };
      else if (o.line) mode = { line: [...(shell === undefined ? [] : [shell]), ...words] };
      else {
        if (shell === undefined || !(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`completion: give a shell: ${SHELLS.join(', ')}${shell === undefined ? '' : ` (not "${shell}")`}`);
        if (words.length) throw new UsageError('completion: one shell only');
        mode = { script: shell as Shell };
      }
      const opts: Options = { mode };
      return run((ctx) => completion(opts, ctx));
    });
}

export async function completion(opts: Options, ctx: Context): Promise<void> {
  const m = opts.mode;
  if ('script' in m) {
    ctx.io.out(completionScript(m.script));
    return;
  }
  if ('refresh' in m) return refresh(ctx);
  const program = await fullProgram();
  const profileName = safeProfileName(ctx);
  const file = profileName ? cacheFile(ctx.env, profileName) : null;
  let cache: NameCache | null = null;
  const names = (kind: NameKind): string[] => {
    if (kind === 'profile') {
      try {
        return ctx.config().profiles.map((p) => p.name);
      } catch {
        return [];
      }
    }
    if (!file) return [];
    cache ??= readCache(file) ?? { at: 0, names: {} };
    if (Date.now() - cache.at > FRESH_MS) {
      const argv = [process.argv[1] ?? '', ...globalArgs(ctx), 'completion', '--refresh'];
      if (process.argv[1]) refreshInBackground(file, argv, ctx.env);
      cache.at = Date.now(); // one refresh per TAB
    }
    return cache.names[kind] ?? [];
  };
  for (const c of candidates(program, m.line, names)) ctx.io.out(`${c}\n`);
}

function globalArgs(ctx: Context): string[] {
  return ['--config', ctx.configPath, ...(safeProfileName(ctx) ? ['--profile', safeProfileName(ctx)!] : [])];
}

function safeProfileName(ctx: Context): string | null {
  try {
    return ctx.profile().name;
  } catch {
    return null;
  }
}

/** Names for the cache: NC hostnames, VM names, RDS instance names (each capped, deleted ones left out). */
async function refresh(ctx: Context): Promise<void> {
  const profile = ctx.profile();
  const file = cacheFile(ctx.env, profile.name);
  const names: NameCache['names'] = {};
  const q = async (db: 'houyi' | 'dbaas', sql: string): Promise<string[] | undefined> => {
    if (!profile.databases[db]) return undefined;
    try {
      return (await ctx.db(db).query<{ n: string }>(sql)).map((r) => r.n);
    } catch {
      return undefined;
    }
  };
  const nc = await q('houyi', 'SELECT hostname AS n FROM nc ORDER BY hostname LIMIT 20000');
  const vm = await q('houyi', "SELECT name AS n FROM vm WHERE status <> 'deleted' ORDER BY name LIMIT 20000");
  const ins = await q('dbaas', 'SELECT ins_name AS n FROM custins ORDER BY ins_name LIMIT 20000');
  if (nc) names.nc = nc;
  if (vm) names.vm = vm;
  if (ins) names.instance = ins;
  try {
    writeCache(file, { at: Date.now(), names });
  } finally {
    clearRefreshLock(file);
  }
}

/** The whole command tree with every verb's flags and arguments, for completion only. */
async function fullProgram(): Promise<Command> {
  const { COMMANDS, GROUPS } = await import('./index.js');
  const program = new Command('rdsctl').option('--profile <name>').option('--config <file>').option('--debug');
  const groups = new Map<string, Command>();
  const noRun: Runner = async () => undefined;
  await Promise.all(
    COMMANDS.map(async (spec) => {
      const [top, sub] = spec.path;
      let parent = program;
      if (sub !== undefined) {
        let g = groups.get(top!);
        if (!g) groups.set(top!, (g = program.command(top!).description(GROUPS[top!] ?? '')));
        parent = g;
      }
      const cmd = parent.command(sub ?? top!);
      (await spec.load()).register(cmd, noRun);
    }),
  );
  program.command('help');
  return program;
}
