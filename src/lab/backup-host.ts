import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { hostRootOf } from './hosts.js';
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

/** The authorized_keys file of one store host (its sshd Match block points at it). */
export function storeAuthorizedKeysPath(labDir: string, store: string): string {
  return path.join(labDir, 'ssh', `authorized_keys-${store}`);
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

/** Keys, the store directories and every NC's copy of the store trust, created once, refreshed on each `lab up`. */
export function ensureBackupStores(labDir: string, t: Topology, o: { sshKeygen: string; hostKeyPub: string; clientKeyPub: string }): void {
  const key = ncBackupKeyPath(labDir);
  if (!fs.existsSync(key) || !fs.existsSync(key + '.pub')) {
    fs.rmSync(key, { force: true });
    execFileSync(o.sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'rdsctl-lab-nc-backup', '-f', key], { stdio: 'ignore' });
  }
  const hostKey = fs.readFileSync(o.hostKeyPub, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const known = t.backupHosts.map((b) => `${t.sshPort === 22 ? b.address : `[${b.address}]:${t.sshPort}`} ${hostKey}`).join('\n') + '\n';
  for (const b of t.backupHosts) {
    fs.mkdirSync(path.join(hostRootOf(labDir, b.name), b.dir.replace(/^\//, '')), { recursive: true, mode: 0o700 });
    writeIfChanged(storeAuthorizedKeysPath(labDir, b.name), fs.readFileSync(o.clientKeyPub, 'utf8').trim() + '\n' + fs.readFileSync(key + '.pub', 'utf8').trim() + '\n', 0o600);
  }
  const priv = fs.readFileSync(key);
  for (const nc of t.ncs) {
    const root = hostRootOf(labDir, nc.hostname);
    writeIfChanged(path.join(root, NC_BACKUP_KEY.slice(1)), priv, 0o600);
    writeIfChanged(path.join(root, NC_BACKUP_KNOWN_HOSTS.slice(1)), known, 0o644);
  }
}
