import path from 'node:path';
import type { Profile } from '../core/config.js';
import { UsageError } from '../core/errors.js';

// The one function that turns a path the seeds name (/mysqldata/dbs3006, /etc/rds_resource_config.conf)
// into the path on a given host. Production hosts have root "/"; each lab NC and VM has its own
// directory, so the same step code has the same effect on both.

export function hostRoot(profile: Pick<Profile, 'host_root'>, host: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(host)) throw new UsageError(`bad host name "${host}"`);
  return profile.host_root.replaceAll('{host}', host);
}

export function hostPath(profile: Pick<Profile, 'host_root'>, host: string, p: string): string {
  if (!path.posix.isAbsolute(p)) throw new UsageError(`host path must be absolute: ${p}`);
  const norm = path.posix.normalize(p);
  if (norm.split('/').includes('..')) throw new UsageError(`host path escapes its root: ${p}`);
  return path.posix.join(hostRoot(profile, host), norm);
}
