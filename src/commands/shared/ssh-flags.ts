import { Option, type Command } from 'commander';
import type { FanoutDisplay } from '../../houyi/fanout.js';
import type { Profile } from '../../core/config.js';
import { UsageError } from '../../core/errors.js';

// The SSH flags shared by the go2 verbs. Each overrides the profile's setting for one run.

export interface SshFlags {
  connectTimeoutSec?: number;
  commandTimeoutSec?: number;
  concurrency?: number;
  acceptNew: boolean;
}

export function addSshOptions(cmd: Command, o: { fanout?: boolean } = {}): Command {
  cmd.option('--connect-timeout <sec>', 'seconds to connect, handshake and authenticate (default: the profile\'s ssh.connect_timeout)');
  cmd.option('--command-timeout <sec>', 'seconds a remote command may run before it is killed on the host (default: the profile\'s ssh.command_timeout)');
  if (o.fanout) cmd.option('--concurrency <n>', 'hosts in flight at once (default: the profile\'s ssh.concurrency)');
  cmd.option('--accept-new', 'accept and record the key of a host not yet in known_hosts (a changed key is always refused)');
  return cmd;
}

function seconds(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 7 * 86400) throw new UsageError(`${flag} ${String(v)}: must be a number of seconds above 0`);
  return n;
}

export function parseSshFlags(o: { connectTimeout?: string; commandTimeout?: string; concurrency?: string; acceptNew?: boolean }): SshFlags {
  const out: SshFlags = { acceptNew: Boolean(o.acceptNew) };
  const ct = seconds('--connect-timeout', o.connectTimeout);
  if (ct !== undefined) out.connectTimeoutSec = ct;
  const cmt = seconds('--command-timeout', o.commandTimeout);
  if (cmt !== undefined) out.commandTimeoutSec = cmt;
  if (o.concurrency !== undefined) {
    const n = Number(o.concurrency);
    if (!/^\d+$/.test(o.concurrency) || n < 1 || n > 4096) throw new UsageError(`--concurrency ${o.concurrency}: must be a whole number from 1 to 4096`);
    out.concurrency = n;
  }
  return out;
}

export function commandTimeout(flags: SshFlags, profile: Profile): number {
  return flags.commandTimeoutSec ?? profile.ssh.command_timeout;
}

export function concurrency(flags: SshFlags, profile: Profile): number {
  return flags.concurrency ?? profile.ssh.concurrency;
}

export function addDisplayOptions(cmd: Command): Command {
  return cmd
    .option('-b, --gather', 'fold hosts with identical output and exit code under one node set (like clush -b)')
    .addOption(new Option('-o, --output <format>', 'text: lines as "host: line"; json: one record per host').choices(['text', 'json']).default('text'));
}

export function parseDisplay(o: { gather?: boolean; output?: string }): FanoutDisplay {
  if (o.output === 'json') {
    if (o.gather) throw new UsageError('-b/--gather and -o json do not combine: json already has one record per host');
    return 'json';
  }
  return o.gather ? 'gather' : 'stream';
}
