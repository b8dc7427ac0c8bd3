import { leasePool } from '../houyi/pool.js';
import type { HostTarget } from '../remote/ssh-types.js';
import type { Check } from './types.js';

// nc: every NC houyi says is online answers over SSH. The probe runs `true` on each, through the
// bounded fan-out, with a short connect timeout so one dead host cannot eat the check's budget.

export const ncCheck: Check = {
  name: 'nc',
  summary: 'every online NC in houyi is reachable over SSH (runs `true`)',
  async run({ ctx, signal, timeoutSec }) {
    const rows = await ctx.db('houyi').query<{ hostname: string; ip: string; ssh_port: number }>("SELECT hostname, ip, ssh_port FROM nc WHERE status = 'online' ORDER BY hostname");
    if (rows.length === 0) return { status: 'warn', reason: 'no online NC in houyi', details: { online: 0 } };
    const targets: HostTarget[] = rows.map((r) => ({ name: r.hostname, address: r.ip, port: r.ssh_port }));
    // A dead host shows at connect; a busy one may still be slow to run the command.
    const connectSec = Math.max(1, Math.min(5, timeoutSec / 3));
    const lease = await leasePool(ctx, { connectTimeoutSec: connectSec });
    try {
      const results = await lease.pool.fanout(targets, 'true', { timeoutSec: Math.max(connectSec, timeoutSec / 2), signal });
      const failed = results.filter((r) => r.category !== null || r.exitCode !== 0).map((r) => ({ host: r.host, category: r.category ?? 'exit', error: r.error ?? `exit ${r.exitCode}` }));
      const details = { online: rows.length, reachable: rows.length - failed.length, unreachable: failed };
      if (failed.length === 0) return { status: 'ok', reason: `all ${rows.length} online NCs answer over SSH`, details };
      return {
        status: 'fail',
        reason: `${failed.length} of ${rows.length} online NCs unreachable: ${failed.slice(0, 5).map((f) => `${f.host} (${f.category})`).join(', ')}${failed.length > 5 ? ', …' : ''}`,
        details,
      };
    } finally {
      await lease.release();
    }
  },
};
