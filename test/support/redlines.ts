import type { Context } from '../../src/core/context.js';
import type { TestLab } from './lab.js';

// Names the red-line tests act on, read from the shared lab's seed (never hard-coded, so a seed
// change does not silently make a test act on nothing), and the operators the seed creates:
// alice is readonly, bob an operator, root an admin; mallory is in no row at all.

export const USERS = { none: 'mallory', read: 'alice', operator: 'bob', admin: 'root' } as const;

export interface LabNames {
  nc: string;
  /** Three NCs for fan-out, as a node set and as names. */
  ncSet: string;
  ncs: string[];
  runningVm: string;
  stoppedVm: string;
  /** Their libvirt domain UUIDs (virsh is addressed by UUID). */
  runningVmUuid: string;
  stoppedVmUuid: string;
  tianjiCluster: string;
  tianjiMachine: string;
  panguCluster: string;
  /** A disk that may go offline (its chunkserver holds no chunk), and one that may not. */
  freeDisk: string;
  vpc: string;
  /** A free destination block and a next hop inside the VPC. */
  routeCidr: string;
  nextHop: string;
  natgw: string;
  aclId: number;
}

export async function labNames(ctx: Context): Promise<LabNames> {
  const houyi = ctx.db('houyi');
  const one = async <T>(db: ReturnType<Context['db']>, sql: string, params: unknown[] = []): Promise<T> => {
    const [r] = await db.query<T>(sql, params);
    if (!r) throw new Error(`lab seed has no row for: ${sql}`);
    return r;
  };
  const ncs = (await houyi.query<{ hostname: string }>("SELECT hostname FROM nc WHERE status = 'online' ORDER BY hostname LIMIT 3")).map((r) => r.hostname);
  const running = await one<{ name: string; uuid: string }>(houyi, "SELECT v.name, v.uuid FROM vm v JOIN nc n ON n.id = v.nc_id WHERE v.status = 'running' AND n.status = 'online' ORDER BY v.id LIMIT 1");
  const stopped = await one<{ name: string; uuid: string }>(houyi, "SELECT v.name, v.uuid FROM vm v JOIN nc n ON n.id = v.nc_id WHERE v.status = 'stopped' AND n.status = 'online' ORDER BY v.id LIMIT 1");
  const tj = await one<{ cluster: string; machine: string }>(ctx.db('tianji'), 'SELECT c.name AS cluster, m.hostname AS machine FROM tj_cluster c JOIN machine m ON m.cluster_id = c.id ORDER BY c.id, m.id LIMIT 1');
  const pc = await one<{ name: string }>(ctx.db('pangu'), 'SELECT name FROM pangu_cluster ORDER BY id LIMIT 1');
  const disk = await one<{ d: string }>(
    ctx.db('pangu'),
    "SELECT CONCAT(cs.hostname, ':', d.device) AS d FROM disk d JOIN chunkserver cs ON cs.id = d.chunkserver_id WHERE d.status = 'ok' AND NOT EXISTS (SELECT 1 FROM chunk_replica r WHERE r.disk_id = d.id) ORDER BY d.id LIMIT 1",
  );
  const vpc = await one<{ vpc_id: string; natgw_id: string }>(houyi, 'SELECT vpc_id, natgw_id FROM natgw ORDER BY id LIMIT 1');
  const acl = await one<{ id: number }>(houyi, 'SELECT a.id FROM natgw_acl a ORDER BY a.id LIMIT 1');
  const vsw = await one<{ cidr: string }>(ctx.db('vpc'), 'SELECT cidr FROM vswitch WHERE vpc_id = ? ORDER BY id LIMIT 1', [vpc.vpc_id]);
  return {
    nc: ncs[0]!,
    ncSet: ncs.join(','),
    ncs,
    runningVm: running.name,
    stoppedVm: stopped.name,
    runningVmUuid: running.uuid,
    stoppedVmUuid: stopped.uuid,
    tianjiCluster: tj.cluster,
    tianjiMachine: tj.machine,
    panguCluster: pc.name,
    freeDisk: disk.d,
    vpc: vpc.vpc_id,
    routeCidr: '10.231.0.0/16',
    nextHop: vsw.cidr.replace(/\.0\/\d+$/, '.20'),
    natgw: vpc.natgw_id,
    aclId: acl.id,
  };
}

/** The lab's own operator run: the CLI in-process as `user`, on the shared lab. */
export function runAs(lab: TestLab, user: string) {
  return (args: string[], o: { stdin?: string; tty?: boolean; env?: NodeJS.ProcessEnv } = {}) => lab.run(args, { ...o, osUser: user });
}

/** The one stderr line of a failed command, or a description of what is wrong with it. */
export function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n');
  if (lines.length !== 2 || lines[1] !== '' || !lines[0]!.startsWith('rdsctl: ')) return `NOT ONE LINE: ${JSON.stringify(stderr.slice(0, 500))}`;
  return lines[0]!;
}
