import fs from 'node:fs';
import path from 'node:path';
import { hostDiskPath, hostKeyPath, writeKeyPair } from './hosts.js';
import type { Topology } from './topology.js';

// The lab's backup store (bak-01) and what production provisions on every NC so that the NC can
// push a backup stream straight to the store: a key of its own (/etc/rds/backup/id_ed25519) and
// the store's host key (/etc/rds/backup/known_hosts). The store accepts that key and the
// operators' client key and nothing else; NCs never hold a key to each other or to the jump host.

export const NC_BACKUP_KEY = '/etc/rds/backup/id_ed25519';
export const NC_BACKUP_KNOWN_HOSTS = '/etc/rds/backup/known_hosts';

export function ncBackupKeyPath(labDir: string): string {
  return path.join(labDir, 'ssh', 'nc_backup_id_ed25519');
}

function writeIfChanged(file: string, text: string | Buffer, mode: number): void {
  try {
    if (fs.readFileSync(file).equals(Buffer.from(text))) return;
  } catch {
    // new file
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
}

/**
 * Keys, the store directories and every NC's copy of the store trust, created once, refreshed on
 * each `lab up`. Runs after ensureHosts: the store's root authorized_keys (written there with the
 * client key) also gets the NCs' backup key; every NC's /etc/rds/backup holds the key and the
 * store's own host key.
 */
export function ensureBackupStores(labDir: string, t: Topology, o: { clientKeyPub: string }): void {
  const key = ncBackupKeyPath(labDir);
  if (!fs.existsSync(key) || !fs.existsSync(key + '.pub')) writeKeyPair(key, 'rdsctl-lab-nc-backup');
  const hostKey = (name: string): string => fs.readFileSync(hostKeyPath(labDir, name) + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const known = t.backupHosts.map((b) => `${t.sshPort === 22 ? b.address : `[${b.address}]:${t.sshPort}`} ${hostKey(b.name)}`).join('\n') + '\n';
  for (const b of t.backupHosts) {
    fs.mkdirSync(hostDiskPath(labDir, b.name, b.dir), { recursive: true, mode: 0o700 });
    writeIfChanged(hostDiskPath(labDir, b.name, '/root/.ssh/authorized_keys'), fs.readFileSync(o.clientKeyPub, 'utf8').trim() + '\n' + fs.readFileSync(key + '.pub', 'utf8').trim() + '\n', 0o600);
  }
  const priv = fs.readFileSync(key);
  for (const nc of t.ncs) {
    writeIfChanged(hostDiskPath(labDir, nc.hostname, NC_BACKUP_KEY), priv, 0o600);
    writeIfChanged(hostDiskPath(labDir, nc.hostname, NC_BACKUP_KNOWN_HOSTS), known, 0o644);
  }
}
