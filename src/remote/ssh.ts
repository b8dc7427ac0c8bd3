// The ssh2 side of the SSH boundary, split by concern like ClusterShell's Task/Worker/MsgTree:
//   ssh-connect.ts  connections: jump chain, host keys against known_hosts, credentials, cache
//   ssh-exec.ts     one command on one connection, with the remote-kill protocol
//   ssh-fanout.ts   the fan-out window over many hosts
//   ssh-output.ts   output gathering: bounded sinks, the PGID marker filter, the line splitter
// This file puts them together into the SshPool the context hands out.
import type { Profile } from '../core/config.js';
import { InterruptedError, RemoteError, oneLine } from '../core/errors.js';
import { createConnector } from './ssh-connect.js';
import { createExecutor } from './ssh-exec.js';
import { fanout } from './ssh-fanout.js';
import { lastLine } from './ssh-output.js';
import type { FanoutOptions, SshPool, SshPoolOptions } from './ssh-types.js';

export function createSshPool(profile: Profile, opts: SshPoolOptions): SshPool {
  const poolSignals = opts.signal ? [opts.signal] : [];
  const connector = createConnector(profile, opts, poolSignals);
  const execute = createExecutor(connector, profile.ssh.command_timeout, poolSignals);

  return {
    exec(target, command, o = {}) {
      return execute(target, command, o, true);
    },

    async run(target, command, o = {}) {
      const r = await execute(target, command, o, true);
      if (r.category === null) return r.stdout;
      if (r.category === 'interrupted') throw new InterruptedError(`${r.host}: ${r.error}`);
      const last = r.category === 'exit' ? lastLine(r.stderr) : '';
      throw new RemoteError(oneLine(`${r.host}: ${r.category === 'exit' ? `remote command exited ${r.exitCode}` : r.error ?? r.category}${last ? `: ${last}` : ''}`), { host: r.host });
    },

    fanout(targets, command, o: FanoutOptions = {}) {
      const signals = o.signal ? [...poolSignals, o.signal] : poolSignals;
      return fanout(execute, targets, command, o, profile.ssh.concurrency, signals);
    },

    forget: (target) => connector.forget(target),
    closeAll: () => connector.closeAll(),
  };
}
