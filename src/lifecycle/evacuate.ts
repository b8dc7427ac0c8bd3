import type { Db } from '../remote/mysql.js';

// `nc evacuate`: which RDS nodes live on an NC, and how to move each. A master moves through a
// switchover (it becomes the standby, then migrates); a standby migrates directly.

export interface NodeOnNc {
  ins_name: string;
  custins_id: number;
  instance_id: number;
  role: 'master' | 'slave';
  port: number;
  custins_status: string;
  instance_status: string;
}

export async function nodesOnNc(db: Db, hostinfoId: number): Promise<NodeOnNc[]> {
  return db.query<NodeOnNc>(
    `SELECT c.ins_name, c.id AS custins_id, i.id AS instance_id, i.role, i.port, c.status AS custins_status, i.status AS instance_status
       FROM instance i JOIN custins c ON c.id = i.custins_id
      WHERE i.hostinfo_id = ? AND i.status <> 'deleted' ORDER BY c.ins_name`,
    [hostinfoId],
  );
}

/** A node that can be moved now: its instance runs with both nodes running (checked again by migrate). */
export function movable(n: NodeOnNc): boolean {
  return n.custins_status === 'running' && n.instance_status === 'running';
}

/** Run `fn` over `items`, at most `limit` at a time, in order of start; results in item order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
