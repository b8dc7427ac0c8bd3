import { Option, type Command } from 'commander';
import type { FanoutDisplay } from '../../houyi/fanout.js';
import type { Profile } from '../../core/config.js';
import { UsageError } from '../../core/errors.js';
import { positiveSeconds, wholeNumber } from '../../core/flags.js';

// The SSH flags shared by the go2 verbs. Each overrides the profile's setting for one run.

export interface SshFlags {
  connectTimeoutSec?: number;
  commandTimeoutSec?: number;
  concurrency?: number;
  acceptNew: boolean;
}

/** Timeouts above a week are typos, not intentions. */
const MAX_TIMEOUT_SEC = 7 * 86400;

export function addSshOptions(cmd: Command, o: { fanout?: boolean } = {}): Command {
  cmd.option('--connect-timeout <sec>', 'seconds to connect, handshake and authenticate (default: the profile\'s ssh.connect_timeout)', positiveSeconds('--connect-timeout', MAX_TIMEOUT_SEC));
  cmd.option('--command-timeout <sec>', 'seconds a remote command may run before it is killed on the host (default: the profile\'s ssh.command_timeout)', positiveSeconds('--command-timeout', MAX_TIMEOUT_SEC));
  if (o.fanout) cmd.option('--concurrency <n>', 'hosts in flight at once (default: the profile\'s ssh.concurrency)', wholeNumber('--concurrency', 1, 4096));
  cmd.option('--accept-new', 'accept and record the key of a host not yet in known_hosts (a changed key is always refused)');
  return cmd;
}

/** The values commander parsed (core/flags.ts parsers: a bad one was already exit 2). */
export interface SshFlagValues {
  connectTimeout?: number;
  commandTimeout?: number;
  concurrency?: number;
  acceptNew?: boolean;
}

export function parseSshFlags(o: SshFlagValues): SshFlags {
  return {
    acceptNew: Boolean(o.acceptNew),
    ...(o.connectTimeout !== undefined ? { connectTimeoutSec: o.connectTimeout } : {}),
    ...(o.commandTimeout !== undefined ? { commandTimeoutSec: o.commandTimeout } : {}),
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
  };
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
