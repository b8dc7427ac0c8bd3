import type { Profile } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { sh } from '../remote/quote.js';
import type { HostTarget } from '../remote/ssh-types.js';

// The backup store: an SSH host (profile.backup.store_host) holding, per instance,
//   <store_dir>/<ins_name>/sets/<set>/      one backup set: the files mbstream extracted, then
//                                           manifest.json, written last and atomically
//   <store_dir>/<ins_name>/binlogs/<file>   archived binlogs (the log plan)
//   <store_dir>/<ins_name>/keys/<key_id>    the data-at-rest key of an encrypted instance (0600)
//
// Data never passes through the jump host: the NC pushes its stream to the store itself over
// SSH with its own key (ncToStore), and pulls from it for a restore. rdsctl talks to the store
// only for small things: listings, checksums, manifests. Why NC -> store and not store -> NC:
// the NC is where mariadb-backup runs and the data is, so the stream's back-pressure is end to
// end in one pipe; the store holds no key that opens any NC (a compromised store cannot reach
// into the fleet); and the one trust to provision is "every NC may write to the store".

export interface Store {
  host: string;
  address: string;
  port: number;
  user: string;
  /** The store directory as the store's shell sees it. */
  dir: string;
  target: HostTarget;
  /** NC-side paths of the NC's backup key and its known_hosts . */
  ncIdentityFile: string;
  ncKnownHosts: string;
}

export function storeOf(profile: Profile): Store {
  const b = profile.backup;
  if (!b) throw new ConfigError(`profile "${profile.name}" names no backup store`, { hint: 'rdsctl config set backup.store_host HOST and backup.store_address ADDR (a lab profile has one)' });
  return {
    host: b.store_host,
    address: b.store_address,
    port: profile.ssh.port,
    user: profile.ssh.user,
    dir: b.store_dir,
    target: { name: b.store_host, address: b.store_address, port: profile.ssh.port },
    ncIdentityFile: b.nc_identity_file,
    ncKnownHosts: b.nc_known_hosts,
  };
}

const INS_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const SET_RE = /^[0-9]{8}T[0-9]{6}Z-[0-9]{1,12}$/;

function checkIns(ins: string): string {
  if (!INS_RE.test(ins)) throw new ConfigError(`instance name "${ins}" cannot name a store directory`);
  return ins;
}

export function instanceDir(s: Store, ins: string): string {
  return `${s.dir}/${checkIns(ins)}`;
}

export function setDir(s: Store, ins: string, set: string): string {
  if (!SET_RE.test(set)) throw new ConfigError(`backup set name "${set}" is not <UTC time>-<id>`);
  return `${instanceDir(s, ins)}/sets/${set}`;
}

export function binlogDir(s: Store, ins: string): string {
  return `${instanceDir(s, ins)}/binlogs`;
}

export function keyDir(s: Store, ins: string): string {
  return `${instanceDir(s, ins)}/keys`;
}

/** The set's directory name: when it started (UTC) and its baklist id, so a listing sorts by time. */
export function setName(id: number, started: Date): string {
  const t = started.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-${id}`;
}

/**
 * A command for an NC that runs `remote` on the store, with the NC's own backup key and the
 * store's host key pinned in the NC's known_hosts. `ncRoot` resolves the NC's seed paths.
 */
function sshBase(s: Store): string {
  return sh`ssh -F /dev/null -i ${s.ncIdentityFile} -o UserKnownHostsFile=${s.ncKnownHosts} -c ${BULK_CIPHERS} `;
}

/**
 * Sets and binlogs are bulk data: AES-GCM first (the CPU's AES instructions: about half the
 * CPU of OpenSSH's default chacha20-poly1305 per byte, measured on a 246 MB set), then the
 * default, then AES-CTR for an old sshd. All authenticated encryption or with OpenSSH's MAC.
 */
const BULK_CIPHERS = 'aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr';

/**
 * The control socket an NC script's ssh calls to the store share: one handshake per script
 * instead of one per call. Under /tmp (a unix socket path must stay under 108 bytes), named for
 * the NC and port so that two instances' scripts never share one.
 */
export function muxSocket(nc: string, port: number): string {
  return `/tmp/.rdsctl-store-${nc}-${port}-%C`;
}

/** Shell that opens the shared connection in the background, and the shell that closes it. */
export function muxCommands(s: Store, sock: string): { open: string; close: string } {
  const target = `${s.user}@${s.address}`;
  return {
    open:
      sshBase(s) +
      sh`-o ControlMaster=yes -o ControlPath=${sock} -o ControlPersist=60 -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 -p ${s.port} -f -N ${target} </dev/null >/dev/null 2>&1 || true`,
    close: sshBase(s) + sh`-o ControlPath=${sock} -p ${s.port} -O exit ${target} >/dev/null 2>&1 || true`,
  };
}

export function ncToStore(s: Store, remote: string, o: { mux?: string } = {}): string {
  // Without a master on the socket (muxOpen failed), ControlMaster=no connects on its own.
  const mux = o.mux ? sh`-o ControlMaster=no -o ControlPath=${o.mux} ` : '';
  return (
    sshBase(s) +
    mux +
    sh`-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 ` +
    sh`-p ${s.port} ${`${s.user}@${s.address}`} ${remote}`
  );
}
