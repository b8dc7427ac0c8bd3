import type { Db } from '../remote/mysql.js';
import type { InstanceTable } from './instance-tables.js';

// The instance's MaxScale (maxscale_ins) and its links to the servers behind it (maxscale_link).

export const MAXSCALE_INS_TABLE: InstanceTable = { table: 'maxscale_ins', release: "UPDATE maxscale_ins SET status = 'deleted' WHERE custins_id = ?" };
export const MAXSCALE_LINK_TABLE: InstanceTable = { table: 'maxscale_link', release: 'DELETE FROM maxscale_link WHERE custins_id = ?' };

export async function ensureMaxscale(tx: Db, custinsId: number, name: string): Promise<void> {
  await tx.execute("INSERT INTO maxscale_ins (custins_id, maxscale_name, status) VALUES (?, ?, 'running') ON DUPLICATE KEY UPDATE maxscale_name = VALUES(maxscale_name), status = 'running'", [custinsId, name]);
}

export async function maxscaleStatus(db: Db, custinsId: number): Promise<string | undefined> {
  return (await db.query<{ status: string }>('SELECT status FROM maxscale_ins WHERE custins_id = ?', [custinsId]))[0]?.status;
}

export interface MaxscaleLink {
  instanceId: number;
  role: string;
  ip: string;
  port: number;
  readWeight: number;
}

/** A new topology version with exactly these links; undefined when the instance has no MaxScale. */
export async function replaceLinks(tx: Db, custinsId: number, links: MaxscaleLink[]): Promise<number | undefined> {
  const r = await tx.execute('UPDATE maxscale_ins SET topology_version = topology_version + 1 WHERE custins_id = ?', [custinsId]);
  if (r.affectedRows === 0) return undefined;
  const v = (await tx.query<{ topology_version: number }>('SELECT topology_version FROM maxscale_ins WHERE custins_id = ?', [custinsId]))[0]!.topology_version;
  await tx.execute('DELETE FROM maxscale_link WHERE custins_id = ?', [custinsId]);
  await tx.execute(
    'INSERT INTO maxscale_link (custins_id, instance_id, role, ip, port, read_weight, topology_version) VALUES ?',
    [links.map((l) => [custinsId, l.instanceId, l.role, l.ip, l.port, l.readWeight, v])],
  );
  return v;
}
