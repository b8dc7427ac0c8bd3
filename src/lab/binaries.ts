import fs from 'node:fs';
import path from 'node:path';
import { UnavailableError } from '../core/errors.js';

// The programs the lab runs, found on the PATH the command was given (ctx.env), so a test can
// make them "not installed" with PATH=/nonexistent. Daemons live in sbin, which an ordinary
// user's PATH often lacks: every …/bin on the PATH also brings its sibling …/sbin.

export interface LabBinaries {
  mariadbd: string;
  installDb: string;
  client: string;
  sshd: string;
  /** util-linux: the lab's hosts are namespaces made with unshare, entered with nsenter, their sessions' capabilities set with setpriv. */
  unshare: string;
  nsenter: string;
  setpriv: string;
}

interface Wanted {
  key: keyof LabBinaries;
  names: string[];
  what: string;
  pkg: string;
}

const WANTED: Wanted[] = [
  { key: 'mariadbd', names: ['mariadbd', 'mysqld'], what: 'MariaDB server (mariadbd)', pkg: 'mariadb-server' },
  { key: 'installDb', names: ['mariadb-install-db', 'mysql_install_db'], what: 'mariadb-install-db', pkg: 'mariadb-server' },
  { key: 'client', names: ['mariadb', 'mysql'], what: 'MariaDB client (mariadb)', pkg: 'mariadb-client' },
  { key: 'sshd', names: ['sshd'], what: 'OpenSSH server (sshd)', pkg: 'openssh-server' },
  { key: 'unshare', names: ['unshare'], what: 'unshare (util-linux)', pkg: 'util-linux' },
  { key: 'nsenter', names: ['nsenter'], what: 'nsenter (util-linux)', pkg: 'util-linux' },
  { key: 'setpriv', names: ['setpriv'], what: 'setpriv (util-linux)', pkg: 'util-linux' },
];

export function searchDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs: string[] = [];
  for (const d of (env.PATH ?? '').split(':').filter(Boolean)) {
    dirs.push(d);
    if (/\/bin\/?$/.test(d)) dirs.push(d.replace(/bin\/?$/, 'sbin'));
  }
  return [...new Set(dirs)];
}

export function which(names: string[], env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of searchDirs(env)) {
    for (const n of names) {
      const p = path.join(dir, n);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        if (fs.statSync(p).isFile()) return p;
      } catch {
        continue;
      }
    }
  }
  return undefined;
}

/** Every program `lab up` needs, or one UnavailableError naming all that are missing. */
export function findLabBinaries(env: NodeJS.ProcessEnv, isRoot: boolean): LabBinaries {
  const found: Partial<LabBinaries> = {};
  const missing: Wanted[] = [];
  for (const w of WANTED) {
    const p = which(w.names, env);
    if (p) found[w.key] = p;
    else missing.push(w);
  }
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m.pkg))].join(' ');
    throw new UnavailableError(`lab up: not installed: ${missing.map((m) => m.what).join(', ')}`, {
      hint: `${isRoot ? '' : 'sudo '}apt-get install -y ${pkgs}, or run scripts/setup`,
    });
  }
  return found as LabBinaries;
}
