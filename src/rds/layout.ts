import type { Profile } from '../core/config.js';
import { hostPath } from '../remote/paths.js';
import type { HostTarget } from '../remote/ssh-types.js';

// Where an RDS instance lives on its NC. Every path is the seeds' path (/mysqldata/dbs3006,
// /usr/local/rds/var/instance.conf, /etc/rds_resource_config.conf) resolved by hostPath, so the
// same step code writes the same files on a lab NC (its own root) and a production NC (root /).
// System files (the server binaries, /usr/share/zoneinfo) are the host OS's and stay unresolved.

/** The seeds' paths for an instance on `port`; `on(host)` resolves them for one host. */
export function seedPaths(port: number) {
  return {
    /** my.cnf, socket, pid file, error log, binlogs and relay logs */
    dbsDir: `/mysqldata/dbs${port}`,
    tmpDir: `/mysqldata/tmp${port}`,
    /** the datadir */
    dataDir: `/home/mysql/data${port}`,
    backupDir: `/mysqldata/backup${port}`,
    initScript: `/etc/init.d/mysql${port}`,
    instanceConf: '/usr/local/rds/var/instance.conf',
    insinfoFile: '/usr/local/rds/var/insinfo.conf',
    resourceConf: '/etc/rds_resource_config.conf',
    limitsFile: `/usr/local/rds/var/resource/${port}.limits`,
    whitelistFile: `/usr/local/rds/var/whitelist/${port}.rules`,
  };
}

export interface HostLayout {
  port: number;
  /** The three directories do_make_dir creates (resolved). */
  dirs: string[];
  dbsDir: string;
  tmpDir: string;
  dataDir: string;
  backupDir: string;
  mycnf: string;
  socket: string;
  pidFile: string;
  errorLog: string;
  binlogBase: string;
  relayLogBase: string;
  insnameFile: string;
  installDoneMarker: string;
  installLog: string;
  initScript: string;
  instanceConf: string;
  insinfoFile: string;
  resourceConf: string;
  limitsFile: string;
  whitelistFile: string;
  /** Lock file serialising edits of the NC-wide files (instance.conf, insinfo, resource config). */
  lockFile: string;
}

export function hostLayout(profile: Pick<Profile, 'host_root'>, host: string, port: number): HostLayout {
  const s = seedPaths(port);
  const p = (x: string): string => hostPath(profile, host, x);
  const dbsDir = p(s.dbsDir);
  const dataDir = p(s.dataDir);
  return {
    port,
    dirs: [p(s.dbsDir), p(s.tmpDir), p(s.dataDir)],
    dbsDir,
    tmpDir: p(s.tmpDir),
    dataDir,
    backupDir: p(s.backupDir),
    mycnf: `${dbsDir}/my.cnf`,
    socket: `${dbsDir}/mysql.sock`,
    pidFile: `${dbsDir}/mysqld.pid`,
    errorLog: `${dbsDir}/error.log`,
    binlogBase: `${dbsDir}/mysql-bin`,
    relayLogBase: `${dbsDir}/relay-bin`,
    insnameFile: `${dbsDir}/ins_name`,
    installDoneMarker: `${dataDir}/.rds_install_done`,
    installLog: `${dbsDir}/install_db.log`,
    initScript: p(s.initScript),
    instanceConf: p(s.instanceConf),
    insinfoFile: p(s.insinfoFile),
    resourceConf: p(s.resourceConf),
    limitsFile: p(s.limitsFile),
    whitelistFile: p(s.whitelistFile),
    lockFile: p('/usr/local/rds/var/.rdsctl.lock'),
  };
}

/** A physical instance as the steps see it: where it runs and how to reach its NC. */
export interface Node {
  role: 'master' | 'slave';
  instanceId: number;
  hostinfoId: number;
  host: string;
  ip: string;
  port: number;
  sshPort: number;
  target: HostTarget;
  layout: HostLayout;
}

export interface InstanceRowLike {
  id: number;
  role: 'master' | 'slave';
  hostinfo_id: number;
  host_name: string;
  ip: string;
  port: number;
  ssh_port: number;
}

export function toNode(profile: Pick<Profile, 'host_root'>, r: InstanceRowLike): Node {
  return {
    role: r.role,
    instanceId: r.id,
    hostinfoId: r.hostinfo_id,
    host: r.host_name,
    ip: r.ip,
    port: r.port,
    sshPort: r.ssh_port,
    target: { name: r.host_name, address: r.ip, port: r.ssh_port },
    layout: hostLayout(profile, r.host_name, r.port),
  };
}
