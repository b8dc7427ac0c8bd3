import os from 'node:os';
import type { Profile } from '../core/config.js';
import type { IO } from '../core/io.js';
import { RemoteError, UnavailableError, UsageError } from '../core/errors.js';
import { shellJoin } from './quote.js';
import { parseJumpHost, type HostTarget } from './ssh-types.js';

// Interactive sessions (go2nc, go2vm) run the system OpenSSH with the terminal attached, so the
// operator's ~/.ssh/config, ControlMaster and agent all apply.
//
// Hops in front of the target (the profile's jump host, a VM's NC) are chained with ProxyCommand
// rather than -J: OpenSSH gives -J hosts none of the command line's -i / -o options (9.2 runs
// `ssh -l USER -p PORT -W [%h]:%p HOST` for them), so the profile's identity and known_hosts
// would not reach the jump host. Each ProxyCommand is the same ssh with the same options.

export interface SshArgsOptions {
  /** Remote argv; quoted into one command line for the remote shell. */
  command?: string[];
  /** StrictHostKeyChecking=accept-new instead of yes. */
  acceptNew?: boolean;
  /** -T: no terminal on the remote side (stdin is not a terminal and no command was given). */
  noTty?: boolean;
}

/** The argv for the system `ssh` (without "ssh" itself). Pure. */
export function buildSshArgs(profile: Pick<Profile, 'ssh'>, target: HostTarget, opts: SshArgsOptions = {}): string[] {
  const chain: HostTarget[] = [];
  for (let t: HostTarget | undefined = target; t; t = t.via) chain.unshift(t);
  const s = profile.ssh;
  const hops = chain.map((t) => ({ user: s.user, host: t.address, port: t.port ?? s.port }));
  if (s.jump_host) hops.unshift(parseJumpHost(s.jump_host, s.user));
  for (const h of hops) {
    // An address like "-oProxyCommand=..." must never be read as an option.
    if (!/^[A-Za-z0-9_.:-]+$/.test(h.host) || h.host.startsWith('-')) throw new UsageError(`bad host address "${h.host}"`);
    if (!/^[A-Za-z0-9_.-]+$/.test(h.user) || h.user.startsWith('-')) throw new UsageError(`bad ssh user "${h.user}"`);
  }
  const common = [
    // -o, not -i: ssh takes -i literally when it checks the file but expands %-tokens when it loads it.
    ...(s.identity_file ? ['-o', `IdentityFile=${quoteConfigValue(escapeTokens(s.identity_file))}`] : []),
    ...(s.known_hosts ? ['-o', `UserKnownHostsFile=${quoteConfigValue(escapeTokens(s.known_hosts))}`] : []),
    '-o',
    `StrictHostKeyChecking=${opts.acceptNew ? 'accept-new' : 'yes'}`,
    // The profile's connect timeout holds for interactive sessions too (ssh's default waits on TCP).
    '-o',
    `ConnectTimeout=${Math.max(1, Math.ceil(s.connect_timeout))}`,
  ];
  const hopArgs = (h: (typeof hops)[number]): string[] => ['-l', h.user, '-p', String(h.port), ...common];
  let proxy: string | undefined;
  for (const h of hops.slice(0, -1)) {
    const args = ['ssh', ...hopArgs(h), ...(proxy ? ['-o', `ProxyCommand=${proxy}`] : []), '-W', FORWARD_TOKEN, '--', h.host];
    // ssh expands %-tokens in ProxyCommand once per level: only this level's [%h]:%p stays live.
    proxy = shellJoin(args.map((a) => (a === FORWARD_TOKEN ? a : a.replace(/%/g, '%%'))));
  }
  const last = hops[hops.length - 1]!;
  return [
    ...hopArgs(last),
    ...(proxy ? ['-o', `ProxyCommand=${proxy}`] : []),
    ...(opts.noTty ? ['-T'] : []),
    '--',
    last.host,
    ...(opts.command && opts.command.length ? [shellJoin(opts.command)] : []),
  ];
}

const FORWARD_TOKEN = '[%h]:%p';

/** IdentityFile and UserKnownHostsFile expand %-tokens; a literal % in a path must survive. */
function escapeTokens(p: string): string {
  return p.replace(/%/g, '%%');
}

/** ssh splits option values on whitespace; double quotes keep a path with spaces whole. */
function quoteConfigValue(v: string): string {
  if (/["\n\r]/.test(v)) throw new UsageError(`path ${JSON.stringify(v)} cannot be passed to ssh`);
  return /\s/.test(v) ? `"${v}"` : v;
}

/** Lines ssh prints about its own failure (never a remote program's), before a session exists. */
const SSH_OWN_FAILURE = /^(?:ssh: |kex_exchange_identification: |Connection (?:closed|reset|timed out) by |Host key verification failed|[^\s]+@[^\s]+: Permission denied \(|Permission denied \(|No route to host|Could not resolve hostname|Bad owner or permissions|@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|@ +WARNING: REMOTE HOST IDENTIFICATION|IT IS POSSIBLE THAT SOMEONE|Someone could be|It is also possible|The fingerprint for|Please contact your|Add correct host key|Offending |(?:ED25519|ECDSA|RSA) host key for|Host key for .* has changed|No (?:ED25519|ECDSA|RSA) host key is known|Received disconnect from|Disconnected from|banner exchange: |Unable to negotiate|Load key |Warning: Identity file)/;

/**
 * Run the system ssh with the terminal attached. Returns its exit code: the remote command's, or
 * 128+N when ssh died of signal N. When ssh itself fails (exit 255 after printing its own error),
 * throws a RemoteError (exit 5) with one line naming the host and ssh's reason instead of ssh's
 * text; anything else ssh or the remote side writes to stderr passes through as it comes.
 */
export async function interactiveSsh(profile: Profile, target: HostTarget, opts: { command?: string[]; io: IO; acceptNew?: boolean; signal?: AbortSignal }): Promise<number> {
  const args = buildSshArgs(profile, target, {
    ...(opts.command ? { command: opts.command } : {}),
    ...(opts.acceptNew ? { acceptNew: true } : {}),
    noTty: !opts.command?.length && !opts.io.stdinIsTTY,
  });
  const { execa } = await import('execa');
  const child = execa('ssh', args, { stdio: ['inherit', 'inherit', 'pipe'], reject: false, ...(opts.signal ? { cancelSignal: opts.signal } : {}) });
  // ssh's own complaints are held back; every other stderr line is passed on at once.
  const held: string[] = [];
  let partial = '';
  const pass = (line: string): void => {
    if (SSH_OWN_FAILURE.test(line)) held.push(line);
    else opts.io.err(`${line}\n`);
  };
  child.stderr?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) pass(l.replace(/\r$/, ''));
  });
  const r = await child;
  if (partial) pass(partial);
  if (r.code === 'ENOENT') throw new UnavailableError('OpenSSH client (ssh) is not installed', { hint: 'apt-get install -y openssh-client' });
  if (r.exitCode === 255 && held.length > 0) {
    const reason = sshReason(held);
    throw new RemoteError(`ssh to ${target.name} (${target.address}${target.port ? `:${target.port}` : ''}) failed: ${reason}`);
  }
  for (const l of held) opts.io.err(`${l}\n`);
  if (r.exitCode !== undefined) return r.exitCode;
  if (r.signal) return 128 + (os.constants.signals[r.signal] ?? 0);
  return 255;
}

/** The one line that says why: the most specific of ssh's lines, without its "ssh: " prefix. */
function sshReason(lines: string[]): string {
  const pick =
    lines.find((l) => /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/.test(l)) ? 'the host key has changed (see known_hosts)' :
    lines.find((l) => /Host key verification failed|No .* host key is known/.test(l)) ? 'host key verification failed (unknown or changed key; --accept-new records an unknown one)' :
    lines.find((l) => /Permission denied/.test(l))?.replace(/^.*?Permission denied/, 'permission denied') ??
    lines.find((l) => /^ssh: /.test(l))?.replace(/^ssh: /, '') ??
    lines[lines.length - 1]!;
  return pick.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 300);
}
