import type { Db } from '../remote/mysql.js';
import { haSummary, liveWatchers, watchHolder } from './records.js';
import { routeRow } from './route-store.js';

// The HA state `instance show` and `check rds` print: semi-sync on/off, where the route leads,
// the last failover, whether a watcher holds the instance now.

export interface HaView {
  semisync: boolean;
  route: { proxy: string | null; address: string | null; target: string | null; status: string | null; repointed: string | null };
  last_failover_at: string | null;
  quiet_until: string | null;
  rebuild_instance_id: number | null;
  watcher: string | null;
  watchers_alive: number;
  last_event: { kind: string; at: string; detail: string | null } | null;
}

export async function haView(db: Db, custinsId: number): Promise<HaView> {
  const [s, r, holder, alive, ev, cnf] = await Promise.all([
    haSummary(db, custinsId),
    routeRow(db, custinsId),
    watchHolder(db, custinsId),
    liveWatchers(db, 15),
    db.query<{ kind: string; at: string; detail: string | null }>("SELECT kind, DATE_FORMAT(gmt_created, '%Y-%m-%dT%H:%i:%s.%fZ') AS at, detail FROM ha_event WHERE custins_id = ? ORDER BY id DESC LIMIT 1", [custinsId]),
    // configured for the pair: the HA parameters in mycnf_custinstance (live state: show --live)
    db.query<{ value: string }>("SELECT value FROM mycnf_custinstance WHERE custins_id = ? AND name = 'rpl_semi_sync_master_enabled'", [custinsId]),
  ]);
  return {
    semisync: (s?.semisync ?? false) || cnf[0]?.value === 'ON',
    route: {
      proxy: r?.proxy_host ?? null,
      address: r?.proxy_ip ? `${r.proxy_ip}:${r.proxy_port}` : null,
      target: r ? `${r.target_ip}:${r.target_port}` : null,
      status: r?.status ?? null,
      repointed: r?.gmt_repointed ?? null,
    },
    last_failover_at: s?.last_failover_at ?? null,
    quiet_until: s?.quiet_until ?? null,
    rebuild_instance_id: s?.rebuild_instance_id ?? null,
    watcher: holder,
    watchers_alive: alive.length,
    last_event: ev[0] ?? null,
  };
}
