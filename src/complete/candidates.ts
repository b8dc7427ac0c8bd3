import type { Command, Option } from 'commander';

// Shell completion, computed by rdsctl itself from the same commander tree that parses the
// command line (as cobra's __complete does), so commands, flags and their choices never drift
// from the scripts. Names from the metadb come from a short-lived cache (complete/cache.ts).

export type NameKind = 'nc' | 'vm' | 'instance' | 'profile';

/** Positional arguments that take names of a kind, by command path and argument index. */
const POSITIONAL: Record<string, NameKind[][]> = {
  go2nc: [['nc']],
  go2ncinfo: [['nc']],
  go2vmlist: [['nc']],
  go2vm: [['vm']],
  go2which: [['nc', 'vm', 'instance']],
  'instance show': [['instance']],
  'instance delete': [['instance']],
  'instance step': [['instance']],
  'config use': [['profile']],
  'config show': [['profile']],
  'config delete': [['profile']],
};
const FIXED_POSITIONAL: Record<string, string[][]> = { completion: [['bash', 'zsh', 'fish']] };
/** Flags whose values are names of a kind. */
const FLAG_VALUES: Record<string, NameKind> = { '--nc': 'nc', '--vm': 'vm', '--profile': 'profile', '--instance': 'instance' };

export type NameSource = (kind: NameKind) => string[];

/**
 * Candidates for the last word of `words` (the words after "rdsctl"; the last one is being typed
 * and may be empty).
 */
export function candidates(program: Command, words: string[], names: NameSource): string[] {
  const cur = words.length ? words[words.length - 1]! : '';
  const done = words.slice(0, -1);
  let cmd = program;
  const path: string[] = [];
  const positionals: string[] = [];
  let afterDashes = false;
  for (let i = 0; i < done.length; i++) {
    const w = done[i]!;
    if (afterDashes) {
      positionals.push(w);
      continue;
    }
    if (w === '--') {
      afterDashes = true;
      continue;
    }
    if (w.startsWith('-')) {
      const opt = findOption(cmd, program, w.split('=')[0]!);
      if (opt && (opt.required || opt.optional) && !w.includes('=')) i++;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub && positionals.length === 0) {
      cmd = sub;
      path.push(w);
      continue;
    }
    positionals.push(w);
  }
  // After "--" comes the remote command: nothing of rdsctl's to complete.
  if (afterDashes) return [];
  const prev = done[done.length - 1];
  if (prev && prev.startsWith('-') && !prev.includes('=')) {
    const opt = findOption(cmd, program, prev);
    if (opt && (opt.required || opt.optional)) return filter(optionValues(opt, names), cur);
  }
  if (cur.startsWith('-')) {
    const eq = cur.indexOf('=');
    if (eq > 0) {
      const opt = findOption(cmd, program, cur.slice(0, eq));
      return opt ? filter(optionValues(opt, names).map((v) => `${cur.slice(0, eq)}=${v}`), cur) : [];
    }
    const flags = [...cmd.options, ...(cmd === program ? [] : program.options)].filter((o) => !o.hidden).flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));
    return filter([...new Set(flags)], cur);
  }
  const subs = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden).map((c) => c.name());
  if (subs.length) return filter(subs, cur);
  const key = path.join(' ');
  const idx = positionals.length;
  const fixed = FIXED_POSITIONAL[key]?.[idx];
  if (fixed) return filter(fixed, cur);
  const kinds = POSITIONAL[key]?.[idx];
  if (!kinds) return [];
  return filter([...new Set(kinds.flatMap((k) => names(k)))], cur);
}

function findOption(cmd: Command, program: Command, flag: string): Option | undefined {
  return [...cmd.options, ...program.options].find((o) => o.long === flag || o.short === flag);
}

function optionValues(opt: Option, names: NameSource): string[] {
  if (opt.argChoices) return opt.argChoices;
  const kind = FLAG_VALUES[opt.long ?? ''];
  return kind ? names(kind) : [];
}

function filter(list: string[], cur: string): string[] {
  return list.filter((x) => x.startsWith(cur));
}
