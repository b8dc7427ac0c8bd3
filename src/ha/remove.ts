import type { Context } from '../core/context.js';
import { routeDriver } from './driver.js';
import { routeRow, toRoute } from './route-store.js';

/**
 * `instance delete`: the instance's data route goes from its proxy (a reload: the frontend goes).
 * Returns what was done, for the delete's per-host report; a proxy that cannot be reached throws
 * (the instance stays 'deleting' for another try, like an unreachable NC).
 */
export async function removeDataRoute(ctx: Context, custinsId: number, insName: string): Promise<{ host: string; result: string } | null> {
  const row = await routeRow(ctx.db('dbaas'), custinsId);
  if (!row || !row.proxy_host || !row.proxy_ip) return null;
  const r = toRoute(insName, row);
  await routeDriver(await ctx.ssh(), ctx.profile()).remove(r.route, ctx.signal);
  return { host: r.route.proxy.name, result: `route ${r.route.ip}:${r.route.port} removed` };
}
