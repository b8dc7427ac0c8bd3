import { readNodes, summarize, type SlbKind } from '../slb/nodes.js';
import type { Check } from './types.js';

// lb_node and proxy: every node the Xuanyuan database knows should be online.

function slbCheck(kind: SlbKind, summary: string): Check {
  return {
    name: kind,
    summary,
    async run({ ctx }) {
      const rows = await readNodes(ctx.db('xuanyuan'), kind, {});
      const s = summarize(rows, false);
      const notOnline = rows.filter((r) => r.status !== 'online').map((r) => `${'ip_addr' in r ? r.ip_addr : r.ip_adr} (${r.status})`);
      if (s.total === 0) return { status: 'warn', reason: `no ${kind} rows in xuanyuan`, details: { ...s } };
      if (notOnline.length) return { status: 'fail', reason: `${notOnline.length} of ${s.total} not online: ${notOnline.slice(0, 5).join(', ')}${notOnline.length > 5 ? ', …' : ''}`, details: { ...s, not_online: notOnline } };
      return { status: 'ok', reason: `all ${s.total} online`, details: { ...s } };
    },
  };
}

export const lbNodeCheck = slbCheck('lb_node', 'every LVS node in xuanyuan.lb_node is online');
export const proxyCheck = slbCheck('proxy', 'every proxy in xuanyuan.proxy is online');
