import type { IO } from '../core/io.js';
import { bold, cellText, printSections, renderTable, type OutputFormat, type Section } from '../core/output.js';
import type { InstanceRecord } from './record.js';

// The instance record as describe-style sections (create's result, the head of `show`).

export function recordSection(r: InstanceRecord): Section {
  const node = (n: InstanceRecord['master']): string => (n ? `${n.host} ${n.ip}:${n.port} (${n.status})` : '-');
  return {
    title: 'Instance',
    fields: [
      ['name', r.ins_name],
      ['custins id', r.custins_id],
      ['status', r.status],
      ['endpoint', r.endpoint],
      ['engine', `${r.engine} ${r.version}${r.minor_version ? ` (${r.minor_version})` : ''}`],
      ['class', `${r.class_code}${r.cpu !== null ? ` (${r.cpu} cpu, ${r.mem_mb} MB, ${r.max_connections} connections)` : ''}`],
      ['storage', `${r.storage_gb} GB ${r.storage_type}`],
      ['zone', r.zone],
      ['network', r.network_type + (r.vpc_id ? ` ${r.vpc_id}` : '')],
      ['guard', r.is_guard],
      ['master', node(r.master)],
      ['standby', node(r.slave)],
      ['task', r.task ? `${r.task.task_id} ${r.task.flow} ${r.task.status} ${r.task.steps_finished}/${r.task.steps_total}${r.task.current_step && r.task.status !== 'done' ? ` at ${r.task.current_step}` : ''}` : null],
      ...(r.task?.error ? ([['task error', r.task.error]] as Array<[string, unknown]>) : []),
      ['created', r.gmt_created],
    ],
  };
}

/**
 * printSections, with table sections rendered here: core/output's printSections passes no column
 * alignment to cli-table3, which then fails on any non-empty table (reported to its owner).
 */
export function printDescribe(io: IO, format: OutputFormat, sections: Section[], json: unknown): void {
  if (format === 'json' || format === 'tsv') return printSections(io, format, sections, json);
  const out: string[] = [];
  for (const s of sections) {
    if (s.table && s.table.rows.length) {
      out.push(bold(s.title + ':', io.color));
      const t = renderTable(s.table.headers, s.table.rows.map((r) => r.map(cellText)), { color: io.color, align: s.table.headers.map(() => 'left') });
      out.push(t.trimEnd().split('\n').map((l) => '  ' + l).join('\n'), '');
    } else {
      printSections({ ...io, out: (t: string) => void out.push(t.replace(/\n$/, '')) }, format, [s], json);
    }
  }
  io.out(out.join('\n') + '\n');
}
