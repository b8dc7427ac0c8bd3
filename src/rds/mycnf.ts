import { DataError } from '../core/errors.js';
import type { Node } from './layout.js';
import { bad, PARAM_NAME_RE, paramName, paramValue, type RowRef } from './domain.js';
import type { Db } from '../remote/mysql.js';

// Server parameters. do_build_params resolves them (baseline < mycnf_template for the version <
// the class's own template rows < create parameters) into mycnf_custinstance;
// do_build_mysql_params renders each host's my.cnf from those rows plus what only the host
// knows (paths, address, port, server_id, read_only on the standby).

/** Binlogs expire after 7 days: in my.cnf from the install on (a restart keeps it), and set live by HA's semisync step. */
export const BINLOG_EXPIRE_SECONDS = 7 * 86400;

/**
 * performance_schema is on for classes with at least this much memory. Measured on the lab's
 * MariaDB 10.11 (SHOW ENGINE PERFORMANCE_SCHEMA STATUS, table_open_cache 2000 as the template
 * sets): its buffers are sized at start-up and take 98 MB with max_connections 300 and 142 MB
 * from 600 connections up. The template gives the buffer pool 3/4 of the class's memory; the
 * rest holds every connection's buffers. On an 8 GB class 142 MB is 1.7% of the memory and 7% of
 * what the buffer pool leaves; on 4 GB (s2.large) it is 14% of that headroom, on 2 GB (s1.small)
 * 19%: there it would be taken from the connections the class promises, so small classes go without.
 */
export const PERFORMANCE_SCHEMA_MIN_MEM_MB = 8192;

/**
 * What every instance gets unless the catalogue says otherwise. Hardened defaults (issue #16):
 * local_infile off (LOAD DATA LOCAL lets a server read any file of a client that connects to it,
 * and a client's session read files of the server's host through a crafted server), binlog
 * expiry in the file, performance_schema by class (performanceSchemaFor).
 */
export const BASELINE_PARAMS: ReadonlyArray<readonly [string, string]> = [
  ['character_set_server', 'utf8mb4'],
  ['collation_server', 'utf8mb4_general_ci'],
  ['max_connections', '{max_connections}'],
  ['innodb_buffer_pool_size', '{mem_mb/2}M'],
  ['innodb_log_file_size', '64M'],
  ['innodb_flush_log_at_trx_commit', '1'],
  ['sync_binlog', '1'],
  ['binlog_format', 'ROW'],
  ['log_slave_updates', 'ON'],
  ['gtid_strict_mode', 'OFF'],
  ['skip_name_resolve', 'ON'],
  ['lower_case_table_names', '1'],
  ['max_allowed_packet', '1073741824'],
  ['table_open_cache', '{max_connections*2}'],
  ['open_files_limit', '{max_connections*5}'],
  ['slave_net_timeout', '60'],
  ['default_time_zone', 'SYSTEM'],
  ['local_infile', '0'],
  ['binlog_expire_logs_seconds', String(BINLOG_EXPIRE_SECONDS)],
];

export function performanceSchemaFor(vars: Pick<ClassVars, 'mem_mb'>): 'ON' | 'OFF' {
  return vars.mem_mb >= PERFORMANCE_SCHEMA_MIN_MEM_MB ? 'ON' : 'OFF';
}

/** The baseline layer of one class: BASELINE_PARAMS and performance_schema as the class affords. */
export function baselineParams(vars: ClassVars): Array<{ name: string; value: string }> {
  return [...BASELINE_PARAMS.map(([name, value]) => ({ name, value })), { name: 'performance_schema', value: performanceSchemaFor(vars) }];
}

/** Parameters rdsctl writes per host; a template row may not override them. */
export const HOST_PARAMS = ['port', 'bind_address', 'datadir', 'tmpdir', 'socket', 'pid_file', 'log_error', 'log_bin', 'relay_log', 'server_id', 'read_only', 'user', 'ssl_ca', 'ssl_cert', 'ssl_key'];

export interface ClassVars {
  cpu: number;
  mem_mb: number;
  max_connections: number;
  max_iops: number;
  storage_gb: number;
}

const NAME = /^[a-z][a-z0-9_.-]{0,127}$/;

/** Replace {var}, {var*N}, {var/N}, {var*N/M} with integers computed from the class. */
export function substitute(value: string, vars: ClassVars, where: string): string {
  return value.replace(/\{([a-z_]+)((?:[*/]\d+(?:\.\d+)?)*)\}/g, (_m, name: string, ops: string) => {
    if (!(name in vars)) throw new DataError(`${where}: unknown variable {${name}} (known: ${Object.keys(vars).join(', ')})`);
    let v = vars[name as keyof ClassVars];
    for (const [, op, n] of ops.matchAll(/([*/])(\d+(?:\.\d+)?)/g)) v = op === '*' ? v * Number(n) : v / Number(n);
    return String(Math.floor(v));
  });
}

export interface ParamRow {
  name: string;
  value: string;
  source: 'baseline' | 'template' | 'class' | 'task';
}

/** Merge the layers; later layers win. Names and values are checked, so my.cnf cannot be broken by a row. */
export function resolveParams(layers: Array<{ source: ParamRow['source']; rows: Array<{ name: string; value: string }> }>, vars: ClassVars): ParamRow[] {
  const out = new Map<string, ParamRow>();
  for (const layer of layers) {
    for (const r of layer.rows) {
      const name = r.name.trim().replace(/-/g, '_');
      if (!NAME.test(name)) throw new DataError(`mycnf parameter "${r.name}" (${layer.source}): not a server option name`);
      if (HOST_PARAMS.includes(name)) continue;
      const value = substitute(r.value.trim(), vars, `mycnf parameter ${name}`);
      if (/[\r\n\0]/.test(value) || value.length > 255) throw new DataError(`mycnf parameter ${name}: value must be one line of at most 255 characters`);
      out.set(name, { name, value, source: layer.source });
    }
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The mycnf_custinstance rows of one custins, checked as loaded (they are re-read each time my.cnf
 * is rendered, long after do_build_params checked what it wrote, and anything may have written
 * them since): an option name, not one of the per-host options (a datadir row would move the data
 * out of the instance), a one-line printable value.
 */
export function checkParamRows(custinsId: number, rows: Array<{ name: unknown; value: unknown }>): Array<{ name: string; value: string }> {
  return rows.map((r) => {
    const ref: RowRef = { table: 'dbaas.mycnf_custinstance', key: `custins_id=${custinsId} name=${JSON.stringify(r.name)}` };
    const name = paramName(ref, 'name', r.name);
    if (HOST_PARAMS.includes(name.replace(/-/g, '_'))) bad(ref, 'name', r.name, `an option rdsctl leaves to the metadb (${HOST_PARAMS.join(', ')} are written per host)`);
    return { name, value: paramValue(ref, 'value', r.value) };
  });
}

/**
 * A value as an option file reads it back unchanged. Plain words go as they are; anything else is
 * double-quoted (mysqld strips the quotes, and a "#" inside them is not a comment) with the
 * backslash escaped, the only escape character option files know. A value cannot hold a line break
 * (checked when loaded, and again here).
 */
export function cnfValue(v: string): string {
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new DataError(`my.cnf value ${JSON.stringify(v)}: control characters cannot be written to an option file`);
  if (/^[A-Za-z0-9_.,:/+@=*-]*$/.test(v) && v !== '') return v;
  return `"${v.replace(/\\/g, '\\\\')}"`;
}

/** Text for a "#" comment line: one line, printable. */
export function commentText(v: string): string {
  return v.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}

export interface RenderInput {
  insName: string;
  node: Node;
  /** Unique in the replication topology: the instance row id. */
  serverId: number;
  readOnly: boolean;
  params: Array<{ name: string; value: string }>;
  /** The node has a server certificate (rds/server-cert.ts): my.cnf names its files. */
  tls?: boolean;
}

/** The host-specific lines, in the order they appear in my.cnf. */
export function hostParams(i: RenderInput): Array<[string, string]> {
  const l = i.node.layout;
  return [
    ['port', String(i.node.port)],
    ['bind_address', i.node.ip],
    ['datadir', l.dataDir],
    ['tmpdir', l.tmpDir],
    ['socket', l.socket],
    ['pid_file', l.pidFile],
    ['log_error', l.errorLog],
    ['log_bin', l.binlogBase],
    ['relay_log', l.relayLogBase],
    ['server_id', String(i.serverId)],
    ['read_only', i.readOnly ? 'ON' : 'OFF'],
    ...(i.tls
      ? ([
          ['ssl_ca', l.tls.ca],
          ['ssl_cert', l.tls.cert],
          ['ssl_key', l.tls.key],
        ] as Array<[string, string]>)
      : []),
  ];
}

export function renderMyCnf(i: RenderInput): string {
  for (const [k, v] of hostParams(i)) {
    if (/[\r\n\0]/.test(v)) throw new DataError(`my.cnf ${k}: value contains a line break`);
  }
  // Without a certificate the server cannot offer TLS, and every TCP client would be refused.
  if (!i.tls && i.params.some((p) => p.name.replace(/-/g, '_') === 'require_secure_transport' && /^(on|1|true)$/i.test(p.value))) {
    throw new DataError(`my.cnf of ${i.insName}: require_secure_transport is ON but the node has no server certificate (dbaas.custins_tls has no row)`);
  }
  const lines = [
    commentText(`# my.cnf of ${i.insName} (${i.node.role}, ${i.node.host}:${i.node.port}), rendered by rdsctl do_build_mysql_params`),
    '# from dbaas.mycnf_custinstance. Edits here are lost when the step runs again.',
    '[mysqld]',
    ...hostParams(i).map(([k, v]) => `${k} = ${cnfValue(v)}`),
    ...i.params.map((p) => {
      if (!PARAM_NAME_RE.test(p.name) || HOST_PARAMS.includes(p.name.replace(/-/g, '_'))) throw new DataError(`my.cnf: ${JSON.stringify(p.name)} is not an option rdsctl renders from the metadb`);
      return `${p.name} = ${cnfValue(p.value)}`;
    }),
    '',
  ];
  return lines.join('\n');
}

/** my.cnf value of one option, or undefined: for probes comparing a host's file with the metadb. */
export function myCnfValue(text: string, name: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && m[1]!.replace(/-/g, '_') === name) {
      const q = /^"(.*)"$/.exec(m[2]!);
      return q ? q[1]!.replace(/\\\\/g, '\\') : m[2];
    }
  }
  return undefined;
}

// --- Writers of mycnf_custinstance (the install flow's) ---

/** The instance's resolved parameters, replacing what was there. */
export async function replaceParamRows(tx: Db, custinsId: number, params: ParamRow[]): Promise<void> {
  await tx.execute('DELETE FROM mycnf_custinstance WHERE custins_id = ?', [custinsId]);
  await tx.execute('INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES ?', [params.map((p) => [custinsId, p.name, p.value, p.source])]);
}

/** One parameter set by a task (source 'task'). */
export async function setTaskParam(tx: Db, custinsId: number, name: string, value: string): Promise<void> {
  await tx.execute("INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES (?, ?, ?, 'task') ON DUPLICATE KEY UPDATE value = VALUES(value), source = 'task'", [custinsId, name, value]);
}
