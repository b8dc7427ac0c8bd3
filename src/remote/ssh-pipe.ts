import { spawn } from 'node:child_process';
import type { Profile } from '../core/config.js';
import { RemoteError } from '../core/errors.js';
import { buildSshArgs } from './interactive.js';
import type { HostTarget } from './ssh-types.js';

// One host's command's stdout into another host's command's stdin, through two system ssh
// processes joined by a kernel pipe: the stream crosses this host 64 KiB at a time and is never
// stored here (used where two NCs trust no key of each other, e.g. rebuilding a standby from a
// streamed backup of the master). Host keys are checked as for every other session.

export interface PipeEnd {
  target: HostTarget;
  /** One shell command line (built with remote/quote). */
  command: string;
}

export async function sshPipe(profile: Pick<Profile, 'ssh'>, from: PipeEnd & { stdin?: string }, to: PipeEnd, o: { signal?: AbortSignal; timeoutSec: number }): Promise<{ fromErr: string; toOut: string }> {
  const args = (e: PipeEnd): string[] => [...buildSshArgs(profile, e.target), e.command];
  const a = spawn('ssh', args(from), { stdio: ['pipe', 'pipe', 'pipe'] });
  const b = spawn('ssh', args(to), { stdio: ['pipe', 'pipe', 'pipe'] });
  a.stdout.pipe(b.stdin);
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
  if (ca !== 0) throw new RemoteError(`${from.target.name}: stream source exited ${ca}: ${aErr.trim().split('\n').slice(-3).join(' | ')}`, { host: from.target.name });
  if (cb !== 0) throw new RemoteError(`${to.target.name}: stream sink exited ${cb}: ${bErr.trim().split('\n').slice(-3).join(' | ')}`, { host: to.target.name });
  return { fromErr: aErr, toOut: bOut };
}
