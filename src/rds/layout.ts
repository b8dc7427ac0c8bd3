import type { HostTarget } from '../remote/ssh-types.js';

// Where an RDS instance lives on its NC: the seeds' paths (/mysqldata/dbs3006,
// /usr/local/rds/var/instance.conf, /etc/rds_resource_config.conf), the same on a production NC
// and on a lab NC (each lab host is its own namespaces with these paths private to it), so the
// step code runs the same commands in both.

/** The seeds' paths for an instance on `port`. */
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
  /** The three directories do_make_dir creates. */
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
  /** The node's TLS files (rds/server-cert.ts): the CA certificate, its server certificate and key (0600). */
  tls: { dir: string; ca: string; cert: string; key: string };
}

export function hostLayout(port: number): HostLayout {
  const s = seedPaths(port);
  const { dbsDir, dataDir } = s;
  return {
    port,
    dirs: [s.dbsDir, s.tmpDir, s.dataDir],
    dbsDir,
    tmpDir: s.tmpDir,
    dataDir,
    backupDir: s.backupDir,
    mycnf: `${dbsDir}/my.cnf`,
    socket: `${dbsDir}/mysql.sock`,
    pidFile: `${dbsDir}/mysqld.pid`,
    errorLog: `${dbsDir}/error.log`,
    binlogBase: `${dbsDir}/mysql-bin`,
    relayLogBase: `${dbsDir}/relay-bin`,
    insnameFile: `${dbsDir}/ins_name`,
    installDoneMarker: `${dataDir}/.rds_install_done`,
    installLog: `${dbsDir}/install_db.log`,
    initScript: s.initScript,
    instanceConf: s.instanceConf,
    insinfoFile: s.insinfoFile,
    resourceConf: s.resourceConf,
    limitsFile: s.limitsFile,
    whitelistFile: s.whitelistFile,
    lockFile: '/usr/local/rds/var/.rdsctl.lock',
    tls: { dir: `${dbsDir}/tls`, ca: `${dbsDir}/tls/ca.pem`, cert: `${dbsDir}/tls/server-cert.pem`, key: `${dbsDir}/tls/server-key.pem` },
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

export function toNode(r: InstanceRowLike): Node {
  return {
    role: r.role,
    instanceId: r.id,
    hostinfoId: r.hostinfo_id,
    host: r.host_name,
    ip: r.ip,
    port: r.port,
    sshPort: r.ssh_port,
    target: { name: r.host_name, address: r.ip, port: r.ssh_port },
    layout: hostLayout(r.port),
  };
}
