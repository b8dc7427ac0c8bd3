import os from 'node:os';
import path from 'node:path';

/** rdsctl's cache directory: $XDG_CACHE_HOME/rdsctl when that is absolute, else ~/.cache/rdsctl. */
export function rdsctlCacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'rdsctl');
}
