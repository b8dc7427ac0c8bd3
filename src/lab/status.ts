import type { Column } from '../core/output.js';

// One row per lab component for `lab status`. The JSON fields are an API (tests and runbooks
// read them): name, kind, address, port, status, pid.
//   status  up       answers on its port
//           down     should answer and does not (makes `lab status` exit 4)
//           stopped  not running on purpose: a VM shut off through virsh or stopped in the metadb,
//                    an SLB node the metadb has offline

export type ComponentKind = 'mariadb' | 'nc' | 'vm' | 'lb_node' | 'proxy' | 'backup';
export type ComponentStatus = 'up' | 'down' | 'stopped';

export interface ComponentRow {
  name: string;
  kind: ComponentKind;
  address: string;
  port: number;
  status: ComponentStatus;
  pid: number | null;
}

export interface ComponentProbe {
  name: string;
  kind: ComponentKind;
  address: string;
  port: number;
  /** Should it be running? */
  wanted: boolean;
  answers: boolean;
  pid: number | undefined;
}

export function componentRow(p: ComponentProbe): ComponentRow {
  const status: ComponentStatus = p.answers ? 'up' : p.wanted ? 'down' : 'stopped';
  return { name: p.name, kind: p.kind, address: p.address, port: p.port, status, pid: p.answers ? (p.pid ?? null) : null };
}

export const STATUS_COLUMNS: Column<ComponentRow>[] = [
  { header: 'NAME', value: (r) => r.name },
  { header: 'KIND', value: (r) => r.kind },
  { header: 'ADDRESS', value: (r) => `${r.address}:${r.port}` },
  { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'up' ? 'ok' : r.status === 'down' ? 'bad' : 'dim') },
  { header: 'PID', value: (r) => r.pid, align: 'right' },
];

/** "mariadb up; 12 nc up; 32 vm up, 8 stopped; …" for stderr. */
export function statusSummary(rows: ComponentRow[]): string {
  const kinds = [...new Set(rows.map((r) => r.kind))];
  return kinds
    .map((k) => {
      const mine = rows.filter((r) => r.kind === k);
      const counts = (['up', 'down', 'stopped'] as const).map((s) => [s, mine.filter((r) => r.status === s).length] as const).filter(([, n]) => n > 0);
      return `${k === 'mariadb' ? 'mariadb' : `${mine.length} ${k}`}: ${counts.map(([s, n]) => (k === 'mariadb' ? s : `${n} ${s}`)).join(', ')}`;
    })
    .join('; ');
}
