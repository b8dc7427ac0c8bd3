import type { Db } from '../remote/mysql.js';

// What `instance create` accepts: engines and versions, classes, storage types, and the zones
// that have RDS hosts. Read from dbaas, as Yaochi reads its own catalogue.

export interface EngineVersion {
  engine: string;
  version: string;
  minor_version: string;
  is_default: number;
  status: 'available' | 'deprecated';
}

export interface InstanceClass {
  class_code: string;
  engine: string;
  cpu: number;
  mem_mb: number;
  max_connections: number;
  max_iops: number;
  sort_order: number;
}

export interface StorageType {
  name: string;
  min_gb: number;
  max_gb: number;
  step_gb: number;
  description: string | null;
}

export interface ZoneRoom {
  zone: string;
  hosts: number;
  free_cpu: number;
  free_mem_mb: number;
  free_disk_gb: number;
}

export interface Catalog {
  versions: EngineVersion[];
  classes: InstanceClass[];
  storageTypes: StorageType[];
  zones: ZoneRoom[];
}

// instance_class has one owner, this file: the catalog lists it, the install and the instance
// record read one class through findClass.
const SELECT_CLASS = 'SELECT class_code, engine, cpu, mem_mb, max_connections, max_iops, sort_order FROM instance_class';

/** One class by its code, or undefined. */
export async function findClass(db: Db, classCode: string): Promise<InstanceClass | undefined> {
  return (await db.query<InstanceClass>(`${SELECT_CLASS} WHERE class_code = ?`, [classCode]))[0];
}

export async function readCatalog(db: Db): Promise<Catalog> {
  const [versions, classes, storageTypes, zones] = await Promise.all([
    db.query<EngineVersion>('SELECT engine, version, minor_version, is_default, status FROM engine_version ORDER BY engine, version'),
    db.query<InstanceClass>(`${SELECT_CLASS} ORDER BY engine, sort_order, class_code`),
    db.query<StorageType>('SELECT name, min_gb, max_gb, step_gb, description FROM storage_type ORDER BY name'),
    db.query<ZoneRoom>(
      `SELECT zone, COUNT(*) AS hosts,
              CAST(SUM(GREATEST(cpu_total - cpu_allocated, 0)) AS SIGNED) AS free_cpu,
              CAST(SUM(GREATEST(mem_total_mb - mem_allocated_mb, 0)) AS SIGNED) AS free_mem_mb,
              CAST(SUM(GREATEST(disk_total_gb - disk_allocated_gb, 0)) AS SIGNED) AS free_disk_gb
         FROM hostinfo WHERE status = 'online' AND locked = 0 GROUP BY zone ORDER BY zone`,
    ),
  ]);
  return { versions: versions.sort((a, b) => a.engine.localeCompare(b.engine) || compareVersions(a.version, b.version)), classes, storageTypes, zones };
}

/** "5.7" < "8.0" < "10.11", numerically per dotted part. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0 && Number.isFinite(d)) return d;
  }
  return a.localeCompare(b);
}
