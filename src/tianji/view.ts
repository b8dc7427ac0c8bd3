import type { Column } from '../core/output.js';
import type { SrInstanceView, Violation } from './rules.js';

// How SR instances and rule violations look in tables and on stderr.

export const SR_COLUMNS: Column<SrInstanceView>[] = [
  { header: 'MACHINE', value: (r) => r.machine },
  { header: 'SERVICE', value: (r) => r.service },
  { header: 'SERVER ROLE', value: (r) => r.server_role },
  { header: 'STATUS', value: (r) => r.status, tone: (r) => (r.status === 'good' ? 'ok' : r.status === 'deploying' ? 'warn' : 'bad') },
  { header: 'APPS', value: (r) => r.apps.map((a) => (a.status === 'running' ? a.name : `${a.name}(${a.status})`)) },
  { header: 'MISSING', value: (r) => r.missing_apps, tone: (r) => (r.missing_apps.length ? 'bad' : undefined) },
  { header: 'VERSION', value: (r) => r.version, wide: true },
  { header: 'IP', value: (r) => r.ip, wide: true },
  { header: 'MACHINE STATUS', value: (r) => r.machine_status, wide: true },
];

export function violationLine(v: Violation): string {
  return `violation [${v.rule}]: ${v.message}`;
}
