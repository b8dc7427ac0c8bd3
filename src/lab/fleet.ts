import type { LogicalDb } from '../core/config.js';
import { createDb, type Db } from '../remote/mysql.js';
import type { Secrets } from './mariadb.js';
import { ENGINE_VERSIONS, INSTANCE_CLASSES } from './seed.js';
import { HOSTS_PER_OCTET, IMAGES, NET_RE, REGION, VM_SHAPES, type Topology } from './topology.js';

// The fleet-scale region of `lab up --scale fleet`: the lab's own topology (whose NCs are served
// over SSH) grown in the metadb to the size of a real region, for the benchmarks (bench/run.mjs).
//
//   houyi     4 zones, 40 clusters (per zone 5 RDS + 5 ECS), 5,000 NCs, 100,000 VMs on the ECS NCs
//   dbaas     hostinfo for every RDS NC; 20,000 running primary–standby instances, each with its
//             finished install task: one task_queue row and the 80 task_step rows of the install
//             flow (names, roles and skip rules imported from src/flow)
//   xuanyuan  2,000 lb_nodes and 2,000 proxies
//   tianji    one Tianji cluster per Houyi cluster and one machine per NC, running its agent role
//   pangu     four clusters of 250 more chunkservers, 12 disks each, 100,000 chunks × 3 replicas
//
// Only the lab's own NCs (the first --ncs) have an sshd; everything added here is metadb rows.
// Rows are made by the server itself: INSERT … SELECT over MariaDB's sequence engine, with every
// value a function of the row's number (names, addresses, placement; ids look random through SHA1
// of a label, like topology.ts's stableHex). So the same lab parameters always give the same
// region, and nothing but a few hundred parameters crosses the wire.
//
// Addresses stay on loopback: NCs continue the lab's NC octets in 127.X; metadata-only VMs fill
// 127.(X+1) and 127.(X+2) (nothing listens there); SLB nodes and chunkservers use free reserved
// octets of 127.X (topology.ts lists the reserved ones).

export const FLEET = {
  zones: ['a', 'b', 'c', 'd'],
  /** Clusters per zone and usage: 4 zones × (5 RDS + 5 ECS) = 40. */
  clustersPerUsage: 5,
  ncs: 5000,
  vms: 100_000,
  custins: 20_000,
  lbNodes: 2000,
  proxies: 2000,
  chunkserversPerZone: 250,
  disksPerChunkserver: 12,
  chunksPerZone: 25_000,
} as const;

/** Digits in NC names of a fleet lab: nc-a0001 … nc-a5000. */
export const FLEET_NAME_WIDTH = String(FLEET.ncs).length;

/** Reserved octets of 127.X for fleet rows (topology.ts uses 200–204 and 210). */
const OCTET = { lbNode: 212, proxy: 220, vip: 228, chunkserver: 236 } as const;
/** VMs per /16 of the metadata-only nets: octets 1–254 of 250 hosts. */
const VMS_PER_NET = 254 * HOSTS_PER_OCTET;
const DEVICES = ['sdb', 'sdc', 'sdd', 'sde', 'sdf', 'sdg', 'sdh', 'sdi', 'sdj', 'sdk', 'sdl', 'sdm'];
/** Versions weighted like a real region: mostly 8.0, then 5.7, a tail of 5.6. */
const VERSION_MIX = ['8.0', '8.0', '8.0', '5.7', '5.6'];
const SEQ = 'seq_0_to_999999';

/** One step of the install flow as the fixture records it. */
export interface FleetStep {
  name: string;
  role: string;
  /** Steps with a skip rule are recorded skipped (the fixture's instances are plain classic ones). */
  skipRule?: string;
}

export interface FleetInput {
  topology: Topology;
  now: Date;
  steps: readonly FleetStep[];
  flow: string;
}

export type FleetCounts = Record<string, number>;

// A statement with its placeholders: values become ?, Sql fragments are inlined with theirs.
class Sql {
  constructor(
    readonly text: string,
    readonly params: unknown[] = [],
  ) {}
}

function q(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  let text = strings[0]!;
  const params: unknown[] = [];
  values.forEach((v, i) => {
    if (v instanceof Sql) {
      text += v.text;
      params.push(...v.params);
    } else {
      text += '?';
      params.push(v);
    }
    text += strings[i + 1]!;
  });
  return new Sql(text, params);
}

const raw = (text: string): Sql => new Sql(text);

/** ELT over a list, indexed by an SQL expression modulo its length. */
function pick(expr: string, list: readonly unknown[]): Sql {
  return new Sql(`ELT(1 + (${expr}) MOD ${list.length}, ${list.map(() => '?').join(', ')})`, [...list]);
}

/** `CONCAT(prefix, '.', base + n DIV 250, '.', 1 + n MOD 250)`: the lab's address scheme in SQL. */
function address(prefix: Sql | string, baseOctet: number, n: string): Sql {
  return q`CONCAT(${prefix}, '.', ${baseOctet} + (${raw(n)}) DIV ${HOSTS_PER_OCTET}, '.', 1 + (${raw(n)}) MOD ${HOSTS_PER_OCTET})`;
}

async function run(db: Db, s: Sql): Promise<number> {
  return (await db.execute(s.text, s.params)).affectedRows;
}

async function count(db: Db, table: string): Promise<number> {
  return Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${table}\``))[0]!.n);
}

/** Everything in one transaction on one connection: session settings and temporary tables hold. */
async function load(port: number, s: Secrets, name: LogicalDb, fn: (db: Db) => Promise<void>): Promise<void> {
  const db = createDb(name, { dsn: `mysql://${s.mariadb_user}@127.0.0.1:${port}/${name}`, password: s.mariadb_password }, { connectionLimit: 1 });
  try {
    await db.transaction(async (tx) => {
      // The rows are made consistent by construction; per-row checks would only slow the load.
      await tx.execute('SET SESSION unique_checks = 0, foreign_key_checks = 0');
      // Values computed from parameters take the connection's collation; match the schemas' own.
      await tx.execute('SET NAMES utf8mb4 COLLATE utf8mb4_general_ci');
      await fn(tx);
      await tx.execute('SET SESSION unique_checks = 1, foreign_key_checks = 1');
    });
  } finally {
    await db.close();
  }
}

function zoneName(letter: string): string {
  return `${REGION}-${letter}`;
}

function clusterName(letter: string, usage: 'rds' | 'ecs', k: number): string {
  return `hz${letter}-${usage}-${String(k).padStart(2, '0')}`;
}

/** Grow a freshly seeded lab metadb to fleet size. Returns the row count of each table it grew. */
export async function loadFleet(port: number, secrets: Secrets, input: FleetInput, log: (line: string) => void): Promise<FleetCounts> {
  const t = input.topology;
  const m = NET_RE.exec(t.net);
  if (!m) throw new Error(`fleet: net ${t.net} is not 127.X`);
  const netOctet = Number(m[1]);
  if (t.ncs.length > FLEET.ncs) throw new Error(`fleet: the lab serves ${t.ncs.length} NCs, more than the fleet's ${FLEET.ncs}`);
  if (t.vms.length) throw new Error('fleet: a fleet lab has no served VMs (its VMs are metadb rows only)');
  if (input.steps.length === 0) throw new Error('fleet: no install steps given');
  const counts: FleetCounts = {};
  const timed = async (what: string, fn: () => Promise<void>): Promise<void> => {
    const t0 = Date.now();
    await fn();
    log(`fleet: ${what} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  };

  await timed('houyi', () => load(port, secrets, 'houyi', (db) => loadHouyi(db, t, netOctet, counts)));
  await timed('dbaas', () => load(port, secrets, 'dbaas', (db) => loadDbaas(db, t, input, counts)));
  await timed('xuanyuan', () => load(port, secrets, 'xuanyuan', (db) => loadXuanyuan(db, t, counts)));
  await timed('tianji', () => load(port, secrets, 'tianji', (db) => loadTianji(db, counts)));
  await timed('pangu', () => load(port, secrets, 'pangu', (db) => loadPangu(db, t, input.now, counts)));
  return counts;
}

async function loadHouyi(db: Db, t: Topology, netOctet: number, counts: FleetCounts): Promise<void> {
  const zones = FLEET.zones.map((l, i) => ({ id: i + 1, name: zoneName(l) }));
  zones.slice(0, t.zones.length).forEach((z, i) => {
    if (t.zones[i]!.name !== z.name) throw new Error(`fleet: lab zone ${i + 1} is ${t.zones[i]!.name}, expected ${z.name}`);
  });
  const newZones = zones.slice(t.zones.length);
  if (newZones.length) await run(db, new Sql(`INSERT INTO zone (id, name, region) VALUES ${newZones.map(() => '(?, ?, ?)').join(', ')}`, newZones.flatMap((z) => [z.id, z.name, t.region])));

  const have = new Set(t.clusters.map((c) => c.name));
  const clusters: Array<[number, string, number, string]> = [];
  let nextId = t.clusters.length + 1;
  FLEET.zones.forEach((l, zi) => {
    for (let k = 1; k <= FLEET.clustersPerUsage; k++) {
      for (const usage of ['rds', 'ecs'] as const) {
        const name = clusterName(l, usage, k);
        if (!have.has(name)) clusters.push([nextId++, name, zi + 1, usage]);
      }
    }
  });
  await run(db, new Sql(`INSERT INTO cluster (id, name, zone_id, usage_type) VALUES ${clusters.map(() => '(?, ?, ?, ?)').join(', ')}`, clusters.flat()));

  // NC i (0-based) after the lab's own: zones round-robin, then RDS/ECS, then the zone's 5 clusters.
  const zl = pick('seq', FLEET.zones);
  await run(
    db,
    q`INSERT INTO nc (id, hostname, ip, sn, cluster_id, zone_id, status, locked, lock_reason, cpu_total, mem_total_mb, disk_total_gb, ssh_port)
      SELECT s.i + 1, CONCAT('nc-a', LPAD(s.i + 1, ${FLEET_NAME_WIDTH}, '0')), ${address(t.net, 1, 's.i')},
             CONCAT('2102', UPPER(s.zl), UPPER(LEFT(SHA1(CONCAT('sn:', s.i, '#0')), 8))), c.id, c.zone_id,
             CASE WHEN s.i MOD 401 = 0 THEN 'locked' WHEN s.i MOD 307 = 0 THEN 'offline' WHEN s.i MOD 211 = 0 THEN 'maintain' ELSE 'online' END,
             s.i MOD 401 = 0, IF(s.i MOD 401 = 0, 'disk SMART warning, waiting for replacement', NULL),
             IF(c.usage_type = 'rds', 64, 96), IF(c.usage_type = 'rds', 262144, 393216), IF(c.usage_type = 'rds', 7200, 3600), ${t.sshPort}
        FROM (SELECT seq AS i, ${zl} AS zl, IF((seq DIV 4) MOD 2 = 0, 'rds', 'ecs') AS usage_type, 1 + (seq DIV 8) MOD ${FLEET.clustersPerUsage} AS k
                FROM ${raw(SEQ)} WHERE seq >= ${t.ncs.length} AND seq < ${FLEET.ncs}) s
        JOIN cluster c ON c.name = CONCAT('hz', s.zl, '-', s.usage_type, '-', LPAD(s.k, 2, '0'))`,
  );

  // VM j on the (j mod E)-th ECS NC, every fifth stopped (and all on an offline NC), as topology.ts does.
  await db.execute(
    `CREATE TEMPORARY TABLE fleet_ecs_nc (rn INT UNSIGNED NOT NULL PRIMARY KEY, nc_id INT UNSIGNED NOT NULL, offline TINYINT NOT NULL)
     SELECT ROW_NUMBER() OVER (ORDER BY n.id) - 1 AS rn, n.id AS nc_id, n.status = 'offline' AS offline
       FROM nc n JOIN cluster c ON c.id = n.cluster_id WHERE c.usage_type = 'ecs'`,
  );
  const ecs = await count(db, 'fleet_ecs_nc');
  const vmBase = await count(db, 'vm');
  await run(
    db,
    q`INSERT INTO vm (id, instance_id, name, uuid, nc_id, status, vcpu, mem_mb, ip, ssh_port, image, vpc_id)
      SELECT STRAIGHT_JOIN ${vmBase} + v.j + 1, CONCAT('i-bp1', LEFT(SHA1(CONCAT('vm:', v.name, '#0')), 17)), v.name,
             CONCAT_WS('-', SUBSTR(v.h, 1, 8), SUBSTR(v.h, 9, 4), CONCAT('4', SUBSTR(v.h, 14, 3)), CONCAT('a', SUBSTR(v.h, 18, 3)), SUBSTR(v.h, 21, 12)), e.nc_id,
             IF(e.offline OR (v.j + 1) MOD 5 = 0, 'stopped', 'running'),
             ${pick('v.j', VM_SHAPES.map((s) => s.vcpu))}, ${pick('v.j', VM_SHAPES.map((s) => s.memMb))},
             CONCAT('127.', ${netOctet + 1} + v.j DIV ${VMS_PER_NET}, '.', 1 + (v.j MOD ${VMS_PER_NET}) DIV ${HOSTS_PER_OCTET}, '.', 1 + v.j MOD ${HOSTS_PER_OCTET}),
             ${t.sshPort}, ${pick('v.j', IMAGES)}, ${pick('v.j', t.vpcs.map((p) => p.vpcId))}
        FROM (SELECT j, name, SHA1(CONCAT('vm:', name, '#0')) AS h
                FROM (SELECT seq AS j, CONCAT('vm-', LPAD(seq + 1, ${String(FLEET.vms).length}, '0')) AS name FROM ${raw(SEQ)} WHERE seq < ${FLEET.vms}) n) v
        JOIN fleet_ecs_nc e ON e.rn = v.j MOD ${ecs}`,
  );
  // Capacity follows placement, as in topology.ts: totals rounded up to whole 32 vCPU / 128 GiB.
  await db.execute(
    `UPDATE nc n JOIN (SELECT nc_id, SUM(vcpu) AS cpu, SUM(mem_mb) AS mem FROM vm GROUP BY nc_id) a ON a.nc_id = n.id
        SET n.cpu_allocated = a.cpu, n.mem_allocated_mb = a.mem,
            n.cpu_total = GREATEST(n.cpu_total, CEIL(a.cpu / 32) * 32), n.mem_total_mb = GREATEST(n.mem_total_mb, CEIL(a.mem / 131072) * 131072)`,
  );
  for (const table of ['zone', 'cluster', 'nc', 'vm']) counts[`houyi.${table}`] = await count(db, table);
}

async function loadDbaas(db: Db, t: Topology, input: FleetInput, counts: FleetCounts): Promise<void> {
  // The lab's own RDS NCs are in hostinfo already (seed.ts); add the fleet's.
  await db.execute(
    `INSERT INTO hostinfo (hostname, ip, zone, cluster, ssh_port, status, cpu_total, mem_total_mb, disk_total_gb, port_min, port_max)
     SELECT n.hostname, n.ip, z.name, c.name, n.ssh_port, IF(n.status IN ('online', 'offline'), n.status, 'maintain'),
            n.cpu_total, n.mem_total_mb, n.disk_total_gb, 3001, 3999
       FROM houyi.nc n JOIN houyi.cluster c ON c.id = n.cluster_id JOIN houyi.zone z ON z.id = n.zone_id
      WHERE c.usage_type = 'rds' AND n.id > ? ORDER BY n.id`,
    [t.ncs.length],
  );
  // Placement: a zone's RDS hosts in pairs (2p, 2p+1). Instance m of a zone goes to pair m mod P in
  // round m div P, master and standby swapping sides every round, on port 3001 + round: so every
  // host has one instance per round and (host, port) stays unique.
  const zoneNames = FLEET.zones.map(zoneName);
  await db.execute(
    `CREATE TEMPORARY TABLE fleet_host (zone VARCHAR(64) NOT NULL, rn INT UNSIGNED NOT NULL, id INT UNSIGNED NOT NULL, hostname VARCHAR(128) NOT NULL, ip VARCHAR(45) NOT NULL, PRIMARY KEY (zone, rn))
     SELECT zone, ROW_NUMBER() OVER (PARTITION BY zone ORDER BY id) - 1 AS rn, id, hostname, ip FROM hostinfo`,
  );
  await db.execute(
    `CREATE TEMPORARY TABLE fleet_zone (zi TINYINT UNSIGNED NOT NULL PRIMARY KEY, zone VARCHAR(64) NOT NULL, pairs INT UNSIGNED NOT NULL)
     SELECT FIELD(zone, ${zoneNames.map(() => '?').join(', ')}) - 1 AS zi, zone, COUNT(*) DIV 2 AS pairs FROM fleet_host GROUP BY zone`,
    zoneNames,
  );
  const minPairs = Number((await db.query<{ p: number }>('SELECT MIN(pairs) AS p FROM fleet_zone'))[0]?.p ?? 0);
  if ((await count(db, 'fleet_zone')) !== FLEET.zones.length || minPairs < 1) throw new Error('fleet: every zone needs at least two RDS hosts');
  const versions = ENGINE_VERSIONS.filter((v) => VERSION_MIX.includes(v.version));
  await run(
    db,
    q`CREATE TEMPORARY TABLE fleet_custins (k INT UNSIGNED NOT NULL PRIMARY KEY)
      SELECT p.k, p.zone, p.port, p.version, p.class_code, 20 + 10 * (p.k MOD 50) AS storage_gb,
             ${input.now} - INTERVAL (${FLEET.custins} - p.k) MINUTE AS created,
             m.id AS master_id, m.hostname AS master_host, m.ip AS master_ip, s.id AS slave_id, s.hostname AS slave_host, s.ip AS slave_ip
        FROM (SELECT seq AS k, z.zone, (seq DIV ${FLEET.zones.length}) MOD z.pairs AS pair, (seq DIV ${FLEET.zones.length}) DIV z.pairs AS round,
                     3001 + (seq DIV ${FLEET.zones.length}) DIV z.pairs AS port,
                     ${pick('seq', VERSION_MIX)} AS version, ${pick('seq', INSTANCE_CLASSES.map((c) => c.class_code))} AS class_code
                FROM ${raw(SEQ)} JOIN fleet_zone z ON z.zi = seq MOD ${FLEET.zones.length} WHERE seq < ${FLEET.custins}) p
        JOIN fleet_host m ON m.zone = p.zone AND m.rn = 2 * p.pair + p.round MOD 2
        JOIN fleet_host s ON s.zone = p.zone AND s.rn = 2 * p.pair + 1 - p.round MOD 2`,
  );
  const minor = new Sql(`CASE p.version ${versions.map(() => 'WHEN ? THEN ?').join(' ')} END`, versions.flatMap((v) => [v.version, v.minor_version]));
  await run(
    db,
    q`INSERT INTO custins (id, ins_name, engine, version, minor_version, class_code, storage_gb, storage_type, zone, network_type, is_guard, status, conn_ip, conn_port, gmt_created, gmt_modified)
      SELECT p.k + 1, CONCAT('rm-bp1', LEFT(SHA1(CONCAT('custins:', p.k, '#0')), 14)), 'mysql', p.version, ${minor}, p.class_code,
             p.storage_gb, 'local_ssd', p.zone, 'classic', 0, 'running', p.master_ip, p.port, p.created, p.created + INTERVAL 90 SECOND
        FROM fleet_custins p ORDER BY p.k`,
  );
  await db.execute(
    `INSERT INTO instance (custins_id, role, hostinfo_id, host_name, ip, port, cpu, mem_mb, disk_gb, status)
     SELECT STRAIGHT_JOIN p.k + 1, r.role, IF(r.role = 'master', p.master_id, p.slave_id), IF(r.role = 'master', p.master_host, p.slave_host),
            IF(r.role = 'master', p.master_ip, p.slave_ip), p.port, c.cpu, c.mem_mb, p.storage_gb, 'running'
       FROM fleet_custins p JOIN (SELECT 'master' AS role UNION ALL SELECT 'slave') r JOIN instance_class c ON c.class_code = p.class_code
      ORDER BY p.k, r.role`,
  );
  await db.execute(
    `UPDATE hostinfo h JOIN (SELECT hostinfo_id, SUM(cpu) AS cpu, SUM(mem_mb) AS mem, SUM(disk_gb) AS disk FROM instance GROUP BY hostinfo_id) a ON a.hostinfo_id = h.id
        SET h.cpu_allocated = a.cpu, h.mem_allocated_mb = a.mem, h.disk_allocated_gb = a.disk`,
  );

  // The finished install task of every instance: the flow's steps in order, done, or skipped where
  // the step has a skip rule (these are classic instances without accounts, dbs or a guard).
  const steps = input.steps;
  await db.execute('CREATE TEMPORARY TABLE fleet_step (seq SMALLINT UNSIGNED NOT NULL PRIMARY KEY, step_name VARCHAR(128) NOT NULL, role VARCHAR(8) NOT NULL, skip_reason VARCHAR(255) NULL)');
  await db.execute(
    `INSERT INTO fleet_step (seq, step_name, role, skip_reason) VALUES ${steps.map(() => '(?, ?, ?, ?)').join(', ')}`,
    steps.flatMap((s, i) => [i + 1, s.name, s.role, s.skipRule ? `does not apply: ${s.skipRule}` : null]),
  );
  const last = steps[steps.length - 1]!.name;
  await run(
    db,
    q`INSERT INTO task_queue (id, custins_id, flow, status, params, fencing_token, current_step, created_by, gmt_created, gmt_started, gmt_finished)
      SELECT p.k + 1, p.k + 1, ${input.flow}, 'done',
             JSON_OBJECT('minor_version', c.minor_version, 'ecs_sg', NULL, 'time_zone', 'SYSTEM', 'whitelist', JSON_ARRAY(), 'dbs', JSON_ARRAY(),
                         'accounts', JSON_ARRAY(), 'vswitch_id', NULL, 'requested_by', 'fleet'),
             1, ${last}, 'fleet', p.created, p.created, p.created + INTERVAL ${steps.length} SECOND
        FROM fleet_custins p JOIN custins c ON c.id = p.k + 1 ORDER BY p.k`,
  );
  // Step n of a task starts n seconds after the task and takes half a second.
  await db.execute(
    `INSERT INTO task_step (task_id, seq, step_name, role, status, attempts, host, skip_reason, detail, gmt_started, gmt_finished)
     SELECT STRAIGHT_JOIN p.k + 1, s.seq, s.step_name, s.role, IF(s.skip_reason IS NULL, 'done', 'skipped'), s.skip_reason IS NULL,
            CASE s.role WHEN 'master' THEN p.master_host WHEN 'slave' THEN p.slave_host WHEN 'both' THEN CONCAT(p.master_host, ',', p.slave_host) END,
            s.skip_reason,
            IF(s.skip_reason IS NULL, CONCAT(s.step_name, CASE s.role WHEN 'master' THEN CONCAT(' on ', p.master_host, ':', p.port) WHEN 'slave' THEN CONCAT(' on ', p.slave_host, ':', p.port)
                                                          WHEN 'both' THEN CONCAT(' on ', p.master_host, ', ', p.slave_host) ELSE ' in dbaas' END), NULL),
            IF(s.skip_reason IS NULL, p.created + INTERVAL s.seq SECOND, NULL), IF(s.skip_reason IS NULL, p.created + INTERVAL s.seq SECOND + INTERVAL 500000 MICROSECOND, NULL)
       FROM fleet_custins p JOIN fleet_step s ORDER BY p.k, s.seq`,
  );
  for (const table of ['hostinfo', 'custins', 'instance', 'task_queue', 'task_step']) counts[`dbaas.${table}`] = await count(db, table);
}

async function loadXuanyuan(db: Db, t: Topology, counts: FleetCounts): Promise<void> {
  // LVS nodes in master/backup pairs sharing a VIP, proxies every third a keyserver; ten SLB clusters per zone.
  const lbBase = t.lbNodes.length;
  const cluster = (n: string): Sql => q`CONCAT('slb-hz', ${pick(n, FLEET.zones)}, '-', LPAD(2 + (${raw(n)} DIV ${FLEET.zones.length}) MOD 10, 2, '0'))`;
  await run(
    db,
    q`INSERT INTO lb_node (ip_addr, status, cluster, role, vip, service_port)
      SELECT ${address(t.net, OCTET.lbNode, 'k')}, IF(k MOD 53 = 7, 'offline', 'online'), ${cluster('k DIV 2')},
             IF(k MOD 2 = 0, 'master', 'backup'), ${address(t.net, OCTET.vip, 'k DIV 2')}, ${t.sshPort}
        FROM (SELECT seq AS k FROM ${raw(SEQ)} WHERE seq < ${FLEET.lbNodes - lbBase}) s ORDER BY k`,
  );
  await run(
    db,
    q`INSERT INTO proxy (ip_adr, status, cluster, kind, service_port)
      SELECT ${address(t.net, OCTET.proxy, 'k')}, IF(k MOD 61 = 11, 'offline', 'online'), ${cluster('k')}, IF(k MOD 3 = 2, 'keyserver', 'tengine'), ${t.sshPort}
        FROM (SELECT seq AS k FROM ${raw(SEQ)} WHERE seq < ${FLEET.proxies - t.proxies.length}) s ORDER BY k`,
  );
  for (const table of ['lb_node', 'proxy']) counts[`xuanyuan.${table}`] = await count(db, table);
}

// Every NC is a Tianji machine running its agent role: RDS hosts the RDS host agent, ECS NCs the NC agent.
const TJ_AGENTS = [
  { usage: 'rds', product: 'rds', service: 'rds-host', role: 'RdsHostAgent#', apps: ['rds-agent', 'dbagent'] },
  { usage: 'ecs', product: 'ecs', service: 'houyi-nc', role: 'NcAgent#', apps: ['nc-agent', 'tdc'] },
] as const;

async function loadTianji(db: Db, counts: FleetCounts): Promise<void> {
  for (const a of TJ_AGENTS) {
    const svc = await db.execute('INSERT INTO service (name) VALUES (?)', [a.service]);
    const role = await db.execute('INSERT INTO server_role (service_id, name) VALUES (?, ?)', [svc.insertId, a.role]);
    for (const app of a.apps) await db.execute("INSERT INTO application (server_role_id, name, kind) VALUES (?, ?, 'process')", [role.insertId, app]);
    // One Tianji cluster per Houyi cluster of this usage, running the agent's service.
    await db.execute(
      `INSERT INTO tj_cluster (name, product_id) SELECT c.name, p.id FROM houyi.cluster c JOIN product p ON p.name = ? WHERE c.usage_type = ? ORDER BY c.id`,
      [a.product, a.usage],
    );
    await db.execute(
      `INSERT INTO cluster_service (cluster_id, service_id, version) SELECT tc.id, ?, '3.12.0' FROM tj_cluster tc JOIN houyi.cluster c ON c.name = tc.name WHERE c.usage_type = ?`,
      [svc.insertId, a.usage],
    );
    const machineBase = Number((await db.query<{ n: number }>('SELECT COALESCE(MAX(id), 0) AS n FROM machine'))[0]!.n);
    await db.execute(
      `INSERT INTO machine (hostname, ip, cluster_id, status)
       SELECT STRAIGHT_JOIN n.hostname, n.ip, tc.id, IF(n.status = 'offline', 'offline', 'good')
         FROM houyi.nc n JOIN houyi.cluster c ON c.id = n.cluster_id JOIN tj_cluster tc ON tc.name = c.name
        WHERE c.usage_type = ? ORDER BY n.id`,
      [a.usage],
    );
    await db.execute(`INSERT INTO sr_instance (machine_id, server_role_id, status, version) SELECT id, ?, IF(status = 'good', 'good', 'stopped'), '3.12.0' FROM machine WHERE id > ? ORDER BY id`, [
      role.insertId,
      machineBase,
    ]);
    await db.execute(
      `INSERT INTO app_instance (sr_instance_id, application_id, status)
       SELECT si.id, a.id, IF(si.status = 'good', 'running', 'stopped') FROM sr_instance si JOIN application a ON a.server_role_id = si.server_role_id
        WHERE si.server_role_id = ? ORDER BY si.id, a.id`,
      [role.insertId],
    );
  }
  for (const table of ['tj_cluster', 'machine', 'sr_instance', 'app_instance']) counts[`tianji.${table}`] = await count(db, table);
}

async function loadPangu(db: Db, t: Topology, now: Date, counts: FleetCounts): Promise<void> {
  // One Pangu cluster per zone (the lab has a and b); 250 new chunkservers in each, cs-a101 … cs-d350.
  const have = await db.query<{ id: number; name: string }>('SELECT id, name FROM pangu_cluster ORDER BY id');
  for (const l of FLEET.zones) {
    if (!have.some((c) => c.name === `pangu-hz-${l}`)) await db.execute('INSERT INTO pangu_cluster (name, replica_count, max_offline_disks_per_cs) VALUES (?, 3, 2)', [`pangu-hz-${l}`]);
  }
  const perZone = FLEET.chunkserversPerZone;
  const csBase = await count(db, 'chunkserver');
  const diskBase = await count(db, 'disk');
  const chunkBase = Number((await db.query<{ n: number }>('SELECT COALESCE(MAX(id), 0) AS n FROM chunk'))[0]!.n);
  const zoneOf = (n: string): Sql => pick(n, FLEET.zones);
  await run(
    db,
    q`INSERT INTO chunkserver (id, hostname, ip, cluster_id, status, last_heartbeat)
      SELECT ${csBase} + c + 1, CONCAT('cs-', ${zoneOf(`c DIV ${perZone}`)}, LPAD(101 + c MOD ${perZone}, 3, '0')), ${address(t.net, OCTET.chunkserver, 'c')},
             pc.id, 'normal', ${now} - INTERVAL (1 + c MOD 30) SECOND
        FROM (SELECT seq AS c FROM ${raw(SEQ)} WHERE seq < ${perZone * FLEET.zones.length}) s
        JOIN pangu_cluster pc ON pc.name = CONCAT('pangu-hz-', ${zoneOf(`c DIV ${perZone}`)}) ORDER BY c`,
  );
  await run(
    db,
    q`INSERT INTO disk (id, chunkserver_id, device, status, capacity_gb, used_gb, error_count)
      SELECT ${diskBase} + (cs.id - ${csBase} - 1) * ${DEVICES.length} + d.seq + 1, cs.id, ${pick('d.seq', DEVICES)}, 'ok', 3726, 0, 0
        FROM chunkserver cs JOIN seq_0_to_${raw(String(DEVICES.length - 1))} d WHERE cs.id > ${csBase} ORDER BY cs.id, d.seq`,
  );
  // Chunk k lives in zone k mod 4, on three neighbouring chunkservers of that zone, one device each.
  const zones = FLEET.zones.length;
  await run(
    db,
    q`INSERT INTO chunk (id, cluster_id, file_name, size_mb)
      SELECT ${chunkBase} + k + 1, pc.id, CONCAT('/oss/fleet-hz-', ${zoneOf('k')}, '/obj-', LPAD(k DIV ${zones}, 6, '0')), 64
        FROM (SELECT seq AS k FROM ${raw(SEQ)} WHERE seq < ${FLEET.chunksPerZone * zones}) s
        JOIN pangu_cluster pc ON pc.name = CONCAT('pangu-hz-', ${zoneOf('k')}) ORDER BY k`,
  );
  await run(
    db,
    q`INSERT INTO chunk_replica (chunk_id, disk_id)
      SELECT ${chunkBase} + k + 1,
             ${diskBase} + ((k MOD ${zones}) * ${perZone} + ((k DIV ${zones}) + r.seq) MOD ${perZone}) * ${DEVICES.length} + ((k DIV ${zones * perZone}) + r.seq) MOD ${DEVICES.length} + 1
        FROM (SELECT seq AS k FROM ${raw(SEQ)} WHERE seq < ${FLEET.chunksPerZone * zones}) s JOIN seq_0_to_2 r ORDER BY k, r.seq`,
  );
  await db.execute(
    `UPDATE disk d JOIN (SELECT r.disk_id, SUM(c.size_mb) AS used FROM chunk_replica r JOIN chunk c ON c.id = r.chunk_id WHERE r.disk_id > ? GROUP BY r.disk_id) u ON u.disk_id = d.id
        SET d.used_gb = u.used`,
    [diskBase],
  );
  for (const table of ['pangu_cluster', 'chunkserver', 'disk', 'chunk', 'chunk_replica']) counts[`pangu.${table}`] = await count(db, table);
}
