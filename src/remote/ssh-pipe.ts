import { spawn } from 'node:child_process';
import type { Profile } from '../core/config.js';
import { RemoteError } from '../core/errors.js';
import { buildSshArgs } from './interactive.js';
import type { HostTarget } from './ssh-types.js';

// One host's command's stdout into another host's command's stdin, through two system ssh
// processes joined by a kernel pipe: the sink's stdin is the source's stdout descriptor itself, so
// the stream never passes through this process (no copy into node, no buffering here) and is
// never stored on this host; a slow sink stops the source through the pipe and the SSH windows.
// Used where two NCs trust no key of each other (rebuilding a standby from a streamed backup of
// the master). Host keys are checked as for every other session.

export interface PipeEnd {
  target: HostTarget;
  /** One shell command line (built with remote/quote). */
  command: string;
}

export async function sshPipe(profile: Pick<Profile, 'ssh'>, from: PipeEnd & { stdin?: string }, to: PipeEnd, o: { signal?: AbortSignal; timeoutSec: number }): Promise<{ fromErr: string; toOut: string }> {
  const args = (e: PipeEnd): string[] => [...buildSshArgs(profile, e.target), e.command];
  const a = spawn('ssh', args(from), { stdio: ['pipe', 'pipe', 'pipe'] });
  // b gets a duplicate of a's stdout pipe as its stdin; this process closes its own copy at once
  // (spawned in the same tick: nothing can have been read from it yet).
  const b = spawn('ssh', args(to), { stdio: [a.stdout, 'pipe', 'pipe'] });
  a.stdout.destroy();
  a.stdin.end(from.stdin ?? '');
  let aErr = '';
  let bErr = '';
  let bOut = '';
  a.stderr.on('data', (d: Buffer) => (aErr = (aErr + d.toString()).slice(-4000)));
  b.stderr.on('data', (d: Buffer) => (bErr = (bErr + d.toString()).slice(-4000)));
  b.stdout.on('data', (d: Buffer) => (bOut = (bOut + d.toString()).slice(-4000)));
  const kill = (): void => {
    a.kill('SIGTERM');
    b.kill('SIGTERM');
  };
  const timer = setTimeout(kill, o.timeoutSec * 1000);
  o.signal?.addEventListener('abort', kill, { once: true });
  const exit = (p: ReturnType<typeof spawn>): Promise<number | null> => new Promise((r) => p.on('close', (code) => r(code)));
  const [ca, cb] = await Promise.all([exit(a), exit(b)]);
  clearTimeout(timer);
  o.signal?.removeEventListener('abort', kill);
  const tail = (t: string): string => t.trim().split('\n').slice(-3).join(' | ');
  // Both ends failed: a sink that died first broke the source's pipe, so name the sink then too.
  if (ca !== 0 && cb !== 0) throw new RemoteError(`${to.target.name}: stream sink exited ${cb}: ${tail(bErr)}; ${from.target.name}: stream source exited ${ca}: ${tail(aErr)}`, { host: to.target.name });
  if (ca !== 0) throw new RemoteError(`${from.target.name}: stream source exited ${ca}: ${tail(aErr)}`, { host: from.target.name });
  if (cb !== 0) throw new RemoteError(`${to.target.name}: stream sink exited ${cb}: ${tail(bErr)}`, { host: to.target.name });
  return { fromErr: aErr, toOut: bOut };
}
