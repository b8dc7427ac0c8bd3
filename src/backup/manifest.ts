import { createHash } from 'node:crypto';
import { RemoteError, UnhealthyError } from '../core/errors.js';

// A backup set's manifest: what the set is and the sha256 of every file in it. It is written
// last (after the stream finished and every file was hashed), to a temporary name and renamed,
// so it exists only whole; a set without one is incomplete and never restored.

export const MANIFEST = 'manifest.json';
/** Written by the NC after the stream pipeline exited 0 on both ends. */
export const STREAM_DONE = '.stream-done';
export const MANIFEST_FORMAT = 1;

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: number;
  set: string;
  backup_id: number;
  instance: string;
  custins_id: number;
  kind: 'full';
  tool: string;
  source_host: string;
  source_role: 'master' | 'slave';
  /** gtid_current_pos of the source when the backup started. */
  start_gtid: string | null;
  /** The consistent point: the source's binlog position and GTID at the backup's lock phase. */
  end_gtid: string | null;
  binlog_file: string | null;
  binlog_pos: number | null;
  start_time: string;
  end_time: string;
  size_bytes: number;
  encrypted: boolean;
  /** The data-at-rest key the files are encrypted with (its id in the store's keys/ and a fingerprint), never the key. */
  key_id: string | null;
  files: ManifestFile[];
}

export function renderManifest(m: Manifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}

export function manifestSha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const SHA = /^[0-9a-f]{64}$/;

/** Parse and check a manifest read from the store; anything odd is a corrupt set. */
export function parseManifest(text: string, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new UnhealthyError(`${where}: manifest.json is not JSON`);
  }
  const bad = (what: string): never => {
    throw new UnhealthyError(`${where}: manifest.json ${what}`);
  };
  if (m.format !== MANIFEST_FORMAT) bad(`has format ${String(m.format)}, this rdsctl reads ${MANIFEST_FORMAT}`);
  if (typeof m.set !== 'string' || typeof m.instance !== 'string' || !Number.isInteger(m.backup_id)) bad('lacks set, instance or backup_id');
  if (!Array.isArray(m.files) || m.files.length === 0) bad('lists no files');
  for (const f of m.files) {
    if (typeof f.path !== 'string' || f.path.startsWith('/') || f.path.split('/').includes('..') || !SHA.test(f.sha256) || !Number.isInteger(f.size)) bad(`has a bad file entry ${JSON.stringify(f).slice(0, 80)}`);
  }
  return m;
}

/**
 * `sha256sum` and `find -printf '%s %P'` output of the store, joined into manifest entries.
 * Lines: "<size> <path>" and "<sha256>  ./<path>".
 */
export function filesFrom(sizes: string, sums: string): ManifestFile[] {
  const size = new Map<string, number>();
  for (const line of sizes.split('\n').filter(Boolean)) {
    const i = line.indexOf(' ');
    size.set(line.slice(i + 1), Number(line.slice(0, i)));
  }
  const out: ManifestFile[] = [];
  for (const line of sums.split('\n').filter(Boolean)) {
    const m = /^([0-9a-f]{64}) [ *](?:\.\/)?(.+)$/.exec(line);
    if (!m) throw new RemoteError(`unexpected sha256sum line: ${line.slice(0, 100)}`);
    const p = m[2]!;
    out.push({ path: p, size: size.get(p) ?? 0, sha256: m[1]! });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** `sha256sum -c` input for the manifest's files (paths relative to the set directory). */
export function checkList(m: Manifest): string {
  return m.files.map((f) => `${f.sha256}  ./${f.path}\n`).join('');
}

/** xtrabackup_binlog_info: "<file>\t<pos>\t<gtid>" (gtid absent on servers without GTIDs). */
export function parseBinlogInfo(text: string): { file: string | null; pos: number | null; gtid: string | null } {
  const f = text.trim().split(/\s+/);
  if (!f[0]) return { file: null, pos: null, gtid: null };
  return { file: f[0], pos: f[1] ? Number(f[1]) : null, gtid: f[2] ?? null };
}
