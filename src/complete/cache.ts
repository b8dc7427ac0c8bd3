import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { rdsctlCacheDir } from '../core/xdg.js';
import path from 'node:path';
import type { NameKind } from './candidates.js';

// NC, VM and instance names for TAB, from a per-profile cache file. A TAB never waits on the
// metadb: it reads the file (however old), and when the file is missing or older than FRESH_MS it
// starts `rdsctl completion --refresh` in the background, detached, for the next TAB.

export const FRESH_MS = 120_000;

export interface NameCache {
  at: number;
  names: Partial<Record<NameKind, string[]>>;
}

export function cacheFile(env: NodeJS.ProcessEnv, profile: string): string {
  return path.join(rdsctlCacheDir(env), `complete-${profile.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

export function readCache(file: string): NameCache | null {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as NameCache;
    return typeof c.at === 'number' && c.names && typeof c.names === 'object' ? c : null;
  } catch {
    return null;
  }
}

export function writeCache(file: string, c: NameCache): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(c), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Start a detached refresh unless one started recently (a lock file with its start time). */
export function refreshInBackground(file: string, argv: string[], env: NodeJS.ProcessEnv): void {
  const lock = `${file}.refreshing`;
  try {
    const st = fs.statSync(lock);
    if (Date.now() - st.mtimeMs < 30_000) return;
  } catch {
    // no refresh running
  }
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(lock, String(Date.now()));
    const child = spawn(process.execPath, [...process.execArgv, ...argv], { detached: true, stdio: 'ignore', env });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // A TAB must never fail: no refresh this time.
  }
}

export function clearRefreshLock(file: string): void {
  fs.rmSync(`${file}.refreshing`, { force: true });
}
