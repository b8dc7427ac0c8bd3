// The contract between the SSH boundary (remote/ssh.ts) and everything that runs remote commands.
// Kept apart from the implementation so that the context can name it without loading ssh2.

import { ConfigError } from '../core/errors.js';

/** A host to reach. `via` is a jump host: go2vm reaches a VM through its NC. */
export interface HostTarget {
  /** Display name: NC hostname, VM name or the address itself. */
  name: string;
  address: string;
  port?: number;
  via?: HostTarget;
}

/** Why a host did not succeed. null in ExecResult.category means it did. */
export type FailureCategory =
  | 'dns'
  | 'refused'
  | 'connect-timeout'
  | 'auth'
  | 'host-key'
  | 'command-timeout'
  | 'exit'
  | 'signal'
  | 'interrupted'
  | 'error';

export interface ExecResult {
  host: string;
  address: string;
  /** The remote command's exit code; null when it never ran or died by a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  category: FailureCategory | null;
  /** One line saying what went wrong, for failures of ssh itself. */
  error?: string;
  /** Output beyond maxOutputBytes was dropped (the remote kept running). */
  truncated?: boolean;
}

/** Input streamed to each host's command as it arrives (one local stdin, many channels). */
export interface StdinSource {
  /** Start feeding `w` (all input so far, then the rest, then end); returns a detach function. */
  attach(w: NodeJS.WritableStream): () => void;
}

export interface ExecOptions {
  /** Seconds; the command is killed on the remote side when it runs longer. */
  timeoutSec?: number;
  stdin?: string | Buffer | StdinSource;
  /** Per stream; what comes beyond is counted and dropped so memory stays bounded. */
  maxOutputBytes?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  signal?: AbortSignal;
  /**
   * Flow control for output that is passed on as it arrives: while blocked() the channel is
   * paused (the SSH window stops opening, so the remote side waits) until wait() resolves.
   * Without it a fast remote writer and a slow reader of rdsctl's stdout fill memory.
   */
  backpressure?: { blocked(): boolean; wait(): Promise<void> };
}

export interface FanoutOptions extends ExecOptions {
  /** Hosts in flight at once; default profile.ssh.concurrency. */
  concurrency?: number;
  /**
   * Keep each host's connection for later calls. Off by default: a fan-out over a thousand
   * hosts should not hold a thousand idle sessions open. A connection already cached is reused.
   */
  keepConnections?: boolean;
  onResult?: (r: ExecResult) => void;
  onLine?: (host: string, stream: 'stdout' | 'stderr', line: string) => void;
}

export interface SshPoolOptions {
  env: NodeJS.ProcessEnv;
  /** Aborts everything the pool is doing (the context's SIGINT/SIGTERM signal). */
  signal?: AbortSignal;
  /** Record the key of a host not yet in known_hosts instead of refusing it (--accept-new). A changed key is still refused. */
  acceptNew?: boolean;
}

export interface SshPool {
  /** Run one command on one host over a cached connection. Never throws for remote failures. */
  exec(target: HostTarget, command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** exec, then throw RemoteError naming the host unless the command exited 0; returns stdout. */
  run(target: HostTarget, command: string, opts?: ExecOptions): Promise<string>;
  /** Same command on many hosts with a bounded window. Results in target order. */
  fanout(targets: HostTarget[], command: string, opts?: FanoutOptions): Promise<ExecResult[]>;
  /** Drop the cached connection to one host (e.g. after its sshd restarted). */
  forget(target: HostTarget): void;
  closeAll(): Promise<void>;
}

/** One hop named by profile.ssh.jump_host. */
export interface JumpHost {
  user: string;
  host: string;
  port: number;
}

/**
 * profile.ssh.jump_host: "user@host:port", "host:port", "host" or "[v6]:port"; the user defaults to
 * the profile's, the port to 22. Shared by the ssh2 pool and the system ssh so both read it alike.
 */
export function parseJumpHost(spec: string, defaultUser: string): JumpHost {
  const m = /^(?:([^@\s]+)@)?(\[[^\]\s]+\]|[^:@\s[\]]+)(?::(\d{1,5}))?$/.exec(spec.trim());
  const port = m?.[3] === undefined ? 22 : Number(m[3]);
  if (!m || port < 1 || port > 65535) throw new ConfigError(`ssh.jump_host "${spec}" is not user@host:port`);
  return { user: m[1] ?? defaultUser, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}
