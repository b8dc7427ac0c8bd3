import type { Context } from '../core/context.js';
import type { SshPool } from '../remote/ssh-types.js';

// The SSH pool a go2 command uses. Flags that change how connections are made (--accept-new,
// --connect-timeout) need a pool built for them; otherwise the context's shared pool serves.
// Command timeout and concurrency are per call and need no pool of their own.

export interface ConnectOverrides {
  connectTimeoutSec?: number;
  acceptNew?: boolean;
}

export interface PoolLease {
  pool: SshPool;
  release(): Promise<void>;
}

export async function leasePool(ctx: Context, o: ConnectOverrides): Promise<PoolLease> {
  if (!o.acceptNew && o.connectTimeoutSec === undefined) return { pool: await ctx.ssh(), release: async () => undefined };
  const profile = ctx.profile();
  const { createSshPool } = await import('../remote/ssh.js');
  const pool = createSshPool(
    { ...profile, ssh: { ...profile.ssh, connect_timeout: o.connectTimeoutSec ?? profile.ssh.connect_timeout } },
    { env: ctx.env, signal: ctx.signal, acceptNew: Boolean(o.acceptNew) },
  );
  return { pool, release: () => pool.closeAll() };
}
