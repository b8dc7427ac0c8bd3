import type { Section } from '../core/output.js';
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

