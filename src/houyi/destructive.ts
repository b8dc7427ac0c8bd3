// Remote commands that can destroy data or take a host down. A fan-out whose command matches one
// asks first (or needs --yes without a TTY), whatever the operator's role: one typo multiplied by a
// node set is how a jump host breaks production. This is a seat belt against slips, not a sandbox:
// a determined `eval "$(printf …)"` gets through, and the audit log still records it.
//
// The command is read as the shell reads it, not matched as a string: it is split into words
// (quotes and backslashes removed), redirections and simple commands (at ; & && || | ( ) { },
// newlines, if/then/else/fi, while/do/done), then each simple command is seen through what runs
// another one: VAR=… prefixes, sudo [-u U], env, nohup, exec, nice, timeout N, xargs, runuser,
// su -c, bash/sh -c '…', eval, find -exec/-execdir/-ok, $(…) and `…`. So `grep reboot log` is not a
// reboot, and `sudo -u mysql bash -lc 'kill -n 9 1'` is a kill -9.

export interface DestructivePattern {
  /** Short name shown in the prompt and the audit, e.g. "rm -r/-f". */
  name: string;
}

interface SimpleCommand {
  /** Basename of the command word: `/sbin/reboot` → `reboot`. */
  name: string;
  args: string[];
  /** Redirection targets: `> /dev/sda` → `/dev/sda`. */
  writes: string[];
}

interface Rule extends DestructivePattern {
  test(c: SimpleCommand): boolean;
}

const SYSTEM_DIRS = new Set([
  '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/opt', '/proc', '/root', '/run', '/sbin',
  '/srv', '/sys', '/usr', '/var', '/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib64', '/usr/local', '/usr/share',
  '/var/lib', '/var/log', '/var/lib/mysql', '/mysqldata', '/home/mysql', '/etc/ssh', '/etc/systemd', '/root/.ssh',
]);

/** `/etc/`, `//etc`, `/etc/.`, `/*` and `/etc/*` all name a system directory (or everything in it). */
function isSystemDir(arg: string): boolean {
  if (!arg.startsWith('/')) return false;
  let p = arg.replace(/\/+/g, '/').replace(/(\/\.)+$/, '').replace(/\/\*$/, '');
  if (p.length > 1) p = p.replace(/\/$/, '');
  return SYSTEM_DIRS.has(p || '/');
}

/** Short options of a command, each letter: `-rf` → r, f; long ones as written. */
const shortFlags = (args: string[]): string => args.filter((a) => /^-[A-Za-z]/.test(a)).map((a) => a.slice(1)).join('');
const has = (args: string[], ...words: string[]): boolean => args.some((a) => words.includes(a));
const base = (w: string): string => w.slice(w.lastIndexOf('/') + 1);
const SIGKILL = new Set(['9', 'KILL', 'SIGKILL', 'kill', 'sigkill']);
const BLOCK_DEVICE = /^\/dev\/(?:sd|nvme|vd|xvd|hd|md|dm-|mapper\/|disk\/|loop|sr)/;

export const DESTRUCTIVE_PATTERNS: readonly Rule[] = [
  { name: 'rm -r/-f', test: (c) => c.name === 'rm' && (/[rRf]/.test(shortFlags(c.args)) || has(c.args, '--recursive', '--force')) },
  { name: 'mv/rm of a system directory', test: (c) => (c.name === 'mv' || c.name === 'rm' || c.name === 'rmdir') && c.args.some(isSystemDir) },
  // find -exec rm {} + removes every match, with or without -f: the find is the multiplier.
  { name: 'find -delete', test: (c) => c.name === 'find' && (has(c.args, '-delete') || c.args.some((a, i) => ['-exec', '-execdir', '-ok', '-okdir'].includes(c.args[i - 1] ?? '') && ['rm', 'unlink', 'shred', 'truncate'].includes(base(a)))) },
  { name: 'shred', test: (c) => c.name === 'shred' },
  { name: 'truncate', test: (c) => c.name === 'truncate' && c.args.some((a) => a === '-s' || a.startsWith('-s') || a.startsWith('--size')) },
  { name: 'reboot/shutdown', test: (c) => ['reboot', 'shutdown', 'halt', 'poweroff', 'kexec'].includes(c.name) },
  { name: 'init 0/6', test: (c) => (c.name === 'init' || c.name === 'telinit') && has(c.args, '0', '6') },
  { name: 'systemctl reboot/poweroff', test: (c) => c.name === 'systemctl' && has(c.args, 'reboot', 'poweroff', 'halt', 'kexec', 'emergency', 'rescue') },
  {
    name: 'stop a service',
    test: (c) =>
      (c.name === 'systemctl' && has(c.args, 'stop', 'restart', 'kill', 'try-restart', 'reload-or-restart', 'disable', 'mask', 'isolate')) ||
      (c.name === 'service' && has(c.args.slice(1), 'stop', 'restart')),
  },
  { name: 'sysrq', test: (c) => c.writes.some((w) => w.includes('/proc/sysrq-trigger')) },
  { name: 'mkfs', test: (c) => /^(?:mkfs(?:\.\w+)?|mke2fs|mkswap|wipefs)$/.test(c.name) },
  { name: 'partition table', test: (c) => ['fdisk', 'sfdisk', 'sgdisk', 'parted', 'pvremove', 'vgremove', 'lvremove'].includes(c.name) && !has(c.args, '-l', '--list') },
  { name: 'dd of=/dev/…', test: (c) => c.name === 'dd' && c.args.some((a) => a.startsWith('of=/dev/') && a !== 'of=/dev/null') },
  { name: 'write to a block device', test: (c) => c.writes.some((w) => BLOCK_DEVICE.test(w)) },
  { name: 'iptables -F', test: (c) => /^(?:ip6?tables(?:-legacy|-nft)?|ebtables)$/.test(c.name) && (/[FX]/.test(shortFlags(c.args.filter((a) => !a.startsWith('--')))) || has(c.args, '--flush', '--delete-chain')) },
  { name: 'nft flush', test: (c) => c.name === 'nft' && has(c.args, 'flush', 'delete') },
  { name: 'ip link down / ip route del', test: ipDestructive },
  { name: 'kill -9', test: killNine },
  { name: 'killall/pkill', test: (c) => c.name === 'killall' || c.name === 'pkill' },
  { name: 'chmod/chown -R', test: (c) => ['chmod', 'chown', 'chgrp'].includes(c.name) && (/R/.test(shortFlags(c.args)) || has(c.args, '--recursive')) },
  { name: 'virsh destroy/undefine', test: (c) => c.name === 'virsh' && has(c.args, 'destroy', 'undefine') },
  { name: 'virsh shutdown/reboot', test: (c) => c.name === 'virsh' && has(c.args, 'shutdown', 'reboot', 'reset') },
  { name: 'mysqladmin shutdown', test: (c) => c.name === 'mysqladmin' && has(c.args, 'shutdown') },
  { name: 'DROP/TRUNCATE/DELETE (SQL)', test: (c) => c.args.some((a) => /\b(?:drop\s+(?:database|schema|table|user)|truncate\s+table|delete\s+from)\b/i.test(a)) },
];

/** Matched on the raw text: a fork bomb is a function definition, not a command word. */
const FORK_BOMB: DestructivePattern = { name: 'fork bomb' };
const UNPARSABLE: DestructivePattern = { name: 'unbalanced quotes or $( (cannot check)' };

function killNine(c: SimpleCommand): boolean {
  if (c.name !== 'kill') return false;
  const a = c.args;
  for (let i = 0; i < a.length; i++) {
    const w = a[i]!;
    if (w === '--') break;
    if ((w === '-s' || w === '-n' || w === '--signal') && SIGKILL.has(a[i + 1] ?? '')) return true;
    if (/^-(?:s|n)?(?:9|KILL|SIGKILL)$/i.test(w) || /^--signal=(?:9|KILL|SIGKILL)$/i.test(w)) return true;
  }
  return false;
}

function ipDestructive(c: SimpleCommand): boolean {
  if (c.name !== 'ip') return false;
  const words = c.args.filter((a) => !a.startsWith('-'));
  const object = words[0] ?? '';
  const verb = words[1] ?? '';
  const prefixOf = (full: string, min: number): boolean => object.length >= min && full.startsWith(object);
  if (prefixOf('link', 1)) return has(words, 'down') || ['delete', 'del'].includes(verb);
  if (prefixOf('route', 1) || prefixOf('addr', 1) || prefixOf('address', 1) || prefixOf('neighbour', 1) || prefixOf('rule', 3)) {
    return ['del', 'delete', 'flush', 'd', 'f', 'fl'].includes(verb) || verb.startsWith('flu') || verb.startsWith('dele');
  }
  return false;
}

/**
 * The first destructive pattern the command matches, or null. The command is read as the remote
 * shell reads it; a command the checker cannot read (unbalanced quotes) asks too.
 */
export function destructiveMatch(command: string): DestructivePattern | null {
  if (/:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}/.test(command)) return FORK_BOMB;
  let commands: SimpleCommand[];
  try {
    commands = simpleCommands(command, 0);
  } catch {
    return UNPARSABLE;
  }
  for (const c of commands) {
    const hit = DESTRUCTIVE_PATTERNS.find((r) => r.test(c));
    if (hit) return { name: hit.name };
  }
  return null;
}

/** A script read by a shell from stdin (`cat fix.sh | rdsctl go2nc … -- bash`) is checked the same way. */
export function isShellReadingStdin(command: string): boolean {
  let cs: SimpleCommand[];
  try {
    cs = simpleCommands(command, 0);
  } catch {
    return false;
  }
  return cs.some((c) => SHELLS.has(c.name) && !c.args.some((a) => /^-[a-z]*c[a-z]*$/.test(a)) && c.args.every((a) => a.startsWith('-') || a === '-s'));
}

// ---- reading the shell ----

const MAX_DEPTH = 8;
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'busybox']);
const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'while', 'until', 'do', 'done', '!', '{', '}', 'time', 'coproc']);

interface Token {
  kind: 'word' | 'op' | 'redir';
  text: string;
  /** Command substitutions found inside the word, to be read as commands too. */
  subs?: string[];
}

/** Split into tokens: words with quotes removed, control operators, redirection operators. */
function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\n' || c === ';' || c === '(' || c === ')') {
      out.push({ kind: 'op', text: c === '\n' ? ';' : c });
      i++;
      continue;
    }
    if (c === '&' || c === '|') {
      const two = src.slice(i, i + 2);
      if (two === '&&' || two === '||' || two === '|&') {
        out.push({ kind: 'op', text: two });
        i += 2;
      } else if (two === '&>') {
        out.push({ kind: 'redir', text: '>' });
        i += src[i + 2] === '>' ? 3 : 2;
      } else {
        out.push({ kind: 'op', text: c });
        i++;
      }
      continue;
    }
    if (c === '<' || c === '>') {
      const m = /^(?:<<<|<<-?|<>|>>|>\||>&|<&|<|>)/.exec(src.slice(i))!;
      out.push({ kind: 'redir', text: m[0] });
      i += m[0].length;
      continue;
    }
    // A word: runs until an unquoted blank or operator.
    let text = '';
    const subs: string[] = [];
    // `2>` is a redirection with a file descriptor.
    const fd = /^\d+(?=[<>])/.exec(src.slice(i));
    if (fd) {
      i += fd[0].length;
      continue;
    }
    while (i < n) {
      const d = src[i]!;
      if (' \t\n;&|()<>'.includes(d)) break;
      if (d === '\\') {
        if (src[i + 1] !== '\n') text += src[i + 1] ?? '';
        i += 2;
      } else if (d === "'") {
        const end = src.indexOf("'", i + 1);
        if (end < 0) throw new Error('unbalanced quote');
        text += src.slice(i + 1, end);
        i = end + 1;
      } else if (d === '$' && src[i + 1] === "'") {
        const end = src.indexOf("'", i + 2);
        if (end < 0) throw new Error('unbalanced quote');
        text += src.slice(i + 2, end).replace(/\\(.)/g, '$1');
        i = end + 1;
      } else if (d === '"') {
        i++;
        while (i < n && src[i] !== '"') {
          if (src[i] === '\\' && i + 1 < n) {
            text += src[i + 1];
            i += 2;
          } else if (src[i] === '$' && src[i + 1] === '(') {
            const end = matchParen(src, i + 1);
            subs.push(src.slice(i + 2, end));
            text += src.slice(i, end + 1);
            i = end + 1;
          } else if (src[i] === '`') {
            const end = src.indexOf('`', i + 1);
            if (end < 0) throw new Error('unbalanced backquote');
            subs.push(src.slice(i + 1, end));
            i = end + 1;
          } else {
            text += src[i];
            i++;
          }
        }
        if (i >= n) throw new Error('unbalanced quote');
        i++;
      } else if (d === '$' && src[i + 1] === '(') {
        const end = matchParen(src, i + 1);
        subs.push(src.slice(src[i + 2] === '(' ? i + 3 : i + 2, src[i + 2] === '(' ? end - 1 : end));
        text += src.slice(i, end + 1);
        i = end + 1;
      } else if (d === '`') {
        const end = src.indexOf('`', i + 1);
        if (end < 0) throw new Error('unbalanced backquote');
        subs.push(src.slice(i + 1, end));
        i = end + 1;
      } else {
        text += d;
        i++;
      }
    }
    out.push({ kind: 'word', text, ...(subs.length ? { subs } : {}) });
  }
  return out;
}

/** Index of the `)` that closes the `(` at `open`, skipping quotes and nested parentheses. */
function matchParen(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') i++;
    else if (c === "'") {
      i = src.indexOf("'", i + 1);
      if (i < 0) break;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new Error('unbalanced $(');
}

function simpleCommands(src: string, depth: number): SimpleCommand[] {
  if (depth > MAX_DEPTH) throw new Error('too deeply nested');
  const tokens = tokenize(src);
  const out: SimpleCommand[] = [];
  let words: string[] = [];
  let writes: string[] = [];
  const flush = (): void => {
    if (words.length) out.push(...unwrap(words, writes, depth));
    else if (writes.length) out.push({ name: '', args: [], writes });
    words = [];
    writes = [];
  };
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t]!;
    if (tok.subs) for (const s of tok.subs) out.push(...simpleCommands(s, depth + 1));
    if (tok.kind === 'op') {
      flush();
      continue;
    }
    if (tok.kind === 'redir') {
      const target = tokens[t + 1];
      if (target?.kind === 'word') {
        if (target.subs) for (const s of target.subs) out.push(...simpleCommands(s, depth + 1));
        if (tok.text.startsWith('>') || tok.text === '<>') writes.push(target.text);
        t++;
      }
      continue;
    }
    if (words.length === 0 && KEYWORDS.has(tok.text)) continue;
    words.push(tok.text);
  }
  flush();
  return out;
}


/** See through what runs another command; returns every command that would run. */
function unwrap(words: string[], writes: string[], depth: number): SimpleCommand[] {
  let w = words;
  // VAR=value prefixes.
  while (w.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0]!)) w = w.slice(1);
  if (w.length === 0) return [];
  const name = base(w[0]!);
  const args = w.slice(1);
  const self: SimpleCommand = { name, args, writes };
  const again = (rest: string[]): SimpleCommand[] => (rest.length ? [self, ...unwrap(rest, writes, depth)] : [self]);
  const skipOptions = (a: string[], withValue: string[]): string[] => {
    let i = 0;
    while (i < a.length && a[i]!.startsWith('-') && a[i] !== '-') {
      if (a[i] === '--') return a.slice(i + 1);
      const opt = a[i]!;
      i += withValue.includes(opt) ? 2 : 1;
    }
    return a.slice(i);
  };
  switch (name) {
    case 'sudo':
      return again(skipOptions(args, ['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T', '--user', '--group']));
    case 'env': {
      let rest = skipOptions(args, ['-u', '--unset', '-C', '--chdir', '-S', '--split-string']);
      while (rest.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0]!)) rest = rest.slice(1);
      return again(rest);
    }
    case 'nohup':
    case 'exec':
    case 'command':
    case 'builtin':
    case 'setsid':
    case 'time':
    case 'stdbuf':
    case 'unbuffer':
      return again(skipOptions(args, ['-a', '-i', '-o', '-e']));
    case 'nice':
    case 'ionice':
    case 'chrt':
      return again(skipOptions(args, ['-n', '-c', '-p', '--adjustment']).filter((a, i) => !(i === 0 && /^\d+$/.test(a) && name !== 'nice')));
    case 'timeout':
      return again(skipOptions(args, ['-s', '-k', '--signal', '--kill-after']).slice(1));
    case 'chroot':
    case 'flock':
    case 'taskset':
      return again(skipOptions(args, ['-w', '-E', '-c', '--cpu-list']).slice(1));
    case 'watch':
      return again(skipOptions(args, ['-n', '--interval', '-d']));
    case 'xargs':
      return again(skipOptions(args, ['-I', '-i', '-n', '-P', '-L', '-s', '-d', '-E', '-a', '--max-args', '--max-procs', '--delimiter']));
    case 'runuser':
    case 'su': {
      const c = optionValue(args, ['-c', '--command']);
      if (c !== undefined) return [self, ...simpleCommands(c, depth + 1)];
      if (name === 'runuser') return again(skipOptions(args, ['-u', '-g', '-G', '--user', '--group']));
      return [self];
    }
    case 'eval':
      return [self, ...simpleCommands(args.join(' '), depth + 1)];
    case 'find':
      return [self, ...findExec(args, writes, depth)];
    case 'ssh':
      return [self];
    default:
      if (SHELLS.has(name)) {
        const i = args.findIndex((a) => /^-[A-Za-z]*c[A-Za-z]*$/.test(a));
        if (i >= 0 && args[i + 1] !== undefined) return [self, ...simpleCommands(args[i + 1]!, depth + 1)];
      }
      return [self];
  }
}

/** The value after `-c` (or glued: -cCMD, --command=CMD). */
function optionValue(args: string[], names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (names.includes(a)) return args[i + 1];
    for (const n of names) if (n.startsWith('--') && a.startsWith(`${n}=`)) return a.slice(n.length + 1);
    if (/^-[a-z]*c$/.test(a) && names.includes('-c')) return args[i + 1];
  }
  return undefined;
}

/** find … -exec CMD … {} ; (or +), -execdir, -ok, -okdir: each CMD runs. */
function findExec(args: string[], writes: string[], depth: number): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  for (let i = 0; i < args.length; i++) {
    if (!['-exec', '-execdir', '-ok', '-okdir'].includes(args[i]!)) continue;
    let j = i + 1;
    while (j < args.length && args[j] !== ';' && args[j] !== '+') j++;
    out.push(...unwrap(args.slice(i + 1, j), writes, depth + 1));
    i = j;
  }
  return out;
}
