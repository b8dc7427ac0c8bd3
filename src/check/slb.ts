import { addressOf, probeNodes, readNodes, summarize, type SlbKind } from '../slb/nodes.js';
import type { Check } from './types.js';

// lb_node and proxy: every node the Xuanyuan database knows should be online. With --live each
// node's service port is also probed over TCP, as `lb_node status --live` does: an online node
// that does not answer fails the check (the metadb is not the whole truth).

function slbCheck(kind: SlbKind, summary: string): Check {
  return {
    name: kind,
    summary,
    async run({ ctx, live, signal, timeoutSec }) {
      let rows = await readNodes(ctx.db('xuanyuan'), kind, {});
      // The probes get half the check's time, at most the 2 s `lb_node status --live` waits per node.
      if (live) rows = await probeNodes(rows, { timeoutMs: Math.min(2000, (timeoutSec * 1000) / 2), concurrency: 32, signal });
      const s = summarize(rows, live);
      const list = (xs: string[]): string => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? ', …' : ''}`;
      const notOnline = rows.filter((r) => r.status !== 'online').map((r) => `${addressOf(r)} (${r.status})`);
      const silent = rows.filter((r) => r.status === 'online' && r.live === 'down').map((r) => `${addressOf(r)}:${r.service_port} (${r.live_error ?? 'down'})`);
      const details = { ...s, ...(notOnline.length ? { not_online: notOnline } : {}), ...(live ? { online_not_answering: silent } : {}) };
      if (s.total === 0) return { status: 'warn', reason: `no ${kind} rows in xuanyuan`, details: { ...s } };
      const problems = [
        ...(notOnline.length ? [`${notOnline.length} of ${s.total} not online: ${list(notOnline)}`] : []),
        ...(silent.length ? [`${silent.length} online but not answering: ${list(silent)}`] : []),
      ];
      if (problems.length) return { status: 'fail', reason: problems.join('; '), details };
      return { status: 'ok', reason: `all ${s.total} online${live ? ' and answering' : ''}`, details };
    },
  };
}

export const lbNodeCheck = slbCheck('lb_node', 'every LVS node in xuanyuan.lb_node is online');
export const proxyCheck = slbCheck('proxy', 'every proxy in xuanyuan.proxy is online');
