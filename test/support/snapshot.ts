import fs from 'node:fs';
import path from 'node:path';
import { LOGICAL_DATABASES } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import type { TestLab } from './lab.js';

// "Nothing was written", made checkable: a snapshot of every table of every metadb (CHECKSUM
// TABLE, which reads all rows) and of every file under the lab's host roots (path, type, size,
// mode, mtime), plus the length of the local audit log. Two snapshots are compared key by key, so a
// failure names the table or file that changed.

export type Snapshot = Map<string, string>;

export async function metadbSnapshot(ctx: Context): Promise<Snapshot> {
  const snap: Snapshot = new Map();
  for (const name of LOGICAL_DATABASES) {
    const db = ctx.db(name);
    const tables = (await db.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name")).map((r) => r.t);
    if (!tables.length) continue;
    // Identifiers cannot be placeholders; these come from information_schema, and ?? quotes them.
    const rows = await db.query<{ Table: string; Checksum: number | null }>(`CHECKSUM TABLE ${tables.map(() => '??').join(', ')}`, tables);
    for (const r of rows) snap.set(`metadb ${r.Table}`, String(r.Checksum));
  }
  return snap;
}

export function hostsSnapshot(labDir: string): Snapshot {
  const snap: Snapshot = new Map();
  const root = path.join(labDir, 'hosts');
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      // The overlays' work dirs: the kernel's scratch space, not the hosts' files.
      if (e.name === '.work' && dir !== root && path.dirname(dir) === root) continue;
      const p = path.join(dir, e.name);
      const st = fs.lstatSync(p);
      const kind = e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : e.isFile() ? 'f' : 'o';
      // A directory's mtime changes whenever an entry is added or removed: the entries show that.
      snap.set(`file ${path.relative(root, p)}`, kind === 'd' ? `d ${st.mode.toString(8)}` : `${kind} ${st.size} ${st.mode.toString(8)} ${st.mtimeMs}`);
      if (kind === 'd') walk(p);
    }
  };
  walk(root);
  return snap;
}

export function auditSnapshot(file: string): Snapshot {
  let size = 0;
  try {
    size = fs.statSync(file).size;
  } catch {
    size = 0;
  }
  return new Map([[`audit ${file}`, String(size)]]);
}

/** Everything a command could change in the lab: metadbs, host files, the local audit log. */
export async function labSnapshot(lab: TestLab, ctx: Context): Promise<Snapshot> {
  const snap = await metadbSnapshot(ctx);
  for (const [k, v] of hostsSnapshot(lab.dir)) snap.set(k, v);
  for (const [k, v] of auditSnapshot(ctx.profile().audit_log!)) snap.set(k, v);
  return snap;
}

/** Keys whose values differ, were added or removed: [] when nothing changed. */
export function diffSnapshots(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [k, v] of before) {
    if (!after.has(k)) out.push(`removed ${k}`);
    else if (after.get(k) !== v) out.push(`changed ${k}: ${v} -> ${after.get(k)}`);
  }
  for (const k of after.keys()) if (!before.has(k)) out.push(`added ${k}`);
  return out;
}
