import { chunkserverHealthy, chunkserverStatus, replicaHealth } from '../pangu/status.js';
import type { Check } from './types.js';

// fail: some chunk keeps fewer healthy replicas than its cluster requires (data at risk).
// warn: chunkservers not normal or disks in error, while every chunk still has its replicas.

export const panguCheck: Check = {
  name: 'pangu',
  summary: 'every chunk keeps replica_count healthy replicas; chunkservers normal, no disk in error',
  async run({ ctx }) {
    const db = ctx.db('pangu');
    const [clusters, servers] = await Promise.all([replicaHealth(db), chunkserverStatus(db)]);
    const under = clusters.filter((c) => c.under_replicated > 0);
    const badServers = servers.filter((s) => !chunkserverHealthy(s)).map((s) => `${s.hostname} (${s.status}${s.disks_error ? `, ${s.disks_error} disk${s.disks_error === 1 ? '' : 's'} in error` : ''})`);
    const details = { clusters, unhealthy_chunkservers: badServers };
    if (under.length) {
      return { status: 'fail', reason: under.map((c) => `${c.cluster}: ${c.under_replicated} of ${c.chunks} chunks below ${c.replica_count} healthy replicas`).join('; '), details };
    }
    if (badServers.length) return { status: 'warn', reason: `replicas complete, but unhealthy chunkservers: ${badServers.join(', ')}`, details };
    return { status: 'ok', reason: `${clusters.reduce((n, c) => n + Number(c.chunks), 0)} chunks fully replicated, ${servers.length} chunkservers healthy`, details };
  },
};
