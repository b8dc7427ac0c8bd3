import { LOGICAL_DATABASES, readConfig, writeConfig, type LogicalDb, type Profile } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { NC_BACKUP_KEY, NC_BACKUP_KNOWN_HOSTS } from './backup-host.js';
import type { Secrets } from './mariadb.js';

// The profile `lab up` writes: every logical database on the lab's MariaDB, SSH with the lab's key
// and known_hosts on the lab's port. Lab hosts use production paths (each is its own namespaces).

export interface LabProfileInput {
  name: string;
  dir: string;
  port: number;
  sshPort: number;
  sshUser: string;
  secrets: Secrets;
  identityFile: string;
  knownHosts: string;
  auditLog: string;
  backupStore: { name: string; address: string; dir: string };
  /** The lab CA's certificate (src/lab/tls.ts): the profile trusts only servers it issued. */
  tlsCa?: string;
  /** Its key: the install issues instance certificates with it (the lab plays the CA's issuer). */
  tlsCaKey?: string;
}

export function labProfile(i: LabProfileInput): Profile {
  const databases: Profile['databases'] = {};
  for (const db of LOGICAL_DATABASES) {
    databases[db as LogicalDb] = { dsn: `mysql://${i.secrets.mariadb_user}@127.0.0.1:${i.port}/${db}`, password: i.secrets.mariadb_password };
  }
  return {
    name: i.name,
    databases,
    ssh: {
      user: i.sshUser,
      port: i.sshPort,
      identity_file: i.identityFile,
      known_hosts: i.knownHosts,
      connect_timeout: 5,
      command_timeout: 600,
      concurrency: 64,
    },
    audit_log: i.auditLog,
    roles_source: 'table',
    lab_dir: i.dir,
    backup: {
      store_host: i.backupStore.name,
      store_address: i.backupStore.address,
      store_dir: i.backupStore.dir,
      nc_identity_file: NC_BACKUP_KEY,
      nc_known_hosts: NC_BACKUP_KNOWN_HOSTS,
    },
    ...(i.tlsCa ? { tls: { ca: i.tlsCa, ...(i.tlsCaKey ? { ca_key: i.tlsCaKey } : {}) } } : {}),
    // rdsctl on the jump host (the lab's AG) dials instances from 127.0.0.1, and so does every lab
    // host: they share the jump host's loopback network stack (no network namespace).
    control_addresses: ['127.0.0.1'],
    nc_source_addresses: ['127.0.0.1'],
  };
}

/**
 * A profile of that name that is not this lab's is never overwritten: it may be a production
 * profile that happens to be called "lab".
 */
export function checkProfileSlot(configPath: string, name: string, dir: string): void {
  const other = readConfig(configPath).profiles.find((p) => p.name === name);
  if (other && other.lab_dir !== dir) {
    const what = other.lab_dir ? `belongs to the lab in ${other.lab_dir}` : 'is not a lab profile';
    throw new UsageError(`profile "${name}" in ${configPath} ${what}; choose another name with --name`);
  }
}

/** Add or replace the lab's profile and make it current (atomic write, 0600). */
export function installProfile(configPath: string, profile: Profile): void {
  const cfg = readConfig(configPath);
  writeConfig(configPath, { ...cfg, current: profile.name, profiles: [...cfg.profiles.filter((p) => p.name !== profile.name), profile] });
}

/** Remove the lab's profile (only if it is this lab's); returns whether one was removed. */
export function removeProfile(configPath: string, dir: string): boolean {
  const cfg = readConfig(configPath);
  const mine = cfg.profiles.filter((p) => p.lab_dir === dir);
  if (mine.length === 0) return false;
  const names = new Set(mine.map((p) => p.name));
  const current = cfg.current && names.has(cfg.current) ? undefined : cfg.current;
  writeConfig(configPath, { ...(current ? { current } : {}), profiles: cfg.profiles.filter((p) => !names.has(p.name)) });
  return true;
}
