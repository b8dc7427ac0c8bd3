import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TlsSettings } from '../core/config.js';
import { ConfigError, UnavailableError } from '../core/errors.js';
import { script } from './host-ops.js';
import type { HostLayout } from './layout.js';
import { sh } from '../remote/quote.js';

// Server certificates of instance nodes (#16). The CA's key stays on the jump host (the profile's
// tls.ca_key; in the lab <lab>/tls/ca.key): a node's key and certificate are made here with
// openssl, sent to the NC on the SSH channel's stdin (never on a command line) and written into
// the instance's own directory, owned like its datadir, the key 0600. The certificate names the
// node's IP address (SAN IP:<ip>): rdsctl, the peer's replication thread and clients check it.

/** A certificate is renewed when it has less than this left (the step, or any my.cnf rewrite, does it). */
export const RENEW_BEFORE_DAYS = 30;
/** Validity of a node certificate: the CA/Browser Forum's former maximum, long enough to outlive most nodes. */
export const CERT_DAYS = 825;

export interface IssuedCert {
  cert: string;
  key: string;
}

export interface CaFiles {
  /** The CA certificate (PEM text). */
  caPem: string;
  certFile: string;
  keyFile: string;
}

/** The profile's CA, read for issuing: both files must be readable, the key only by its owner. */
export function issuingCa(tls: TlsSettings | undefined): CaFiles {
  if (!tls) throw new ConfigError('the profile has no tls section: instance certificates are issued by the CA in tls.ca with the key in tls.ca_key');
  if (!tls.ca_key) throw new ConfigError(`the profile's tls has no ca_key: the install issues each node's server certificate with the key of the CA in ${tls.ca}`);
  let caPem: string;
  try {
    caPem = fs.readFileSync(tls.ca, 'utf8');
    const st = fs.statSync(tls.ca_key);
    if ((st.mode & 0o077) !== 0) throw new ConfigError(`profile tls.ca_key ${tls.ca_key}: mode ${(st.mode & 0o777).toString(8)}, readable by others (chmod 600)`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`profile tls: cannot read the CA (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return { caPem, certFile: tls.ca, keyFile: tls.ca_key };
}

export function caSha256(caPem: string): string {
  return new X509Certificate(caPem).fingerprint256.replace(/:/g, '').toLowerCase();
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 30_000 }, (err, _out, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new UnavailableError('openssl is not installed on this host (instance certificates are issued with it)', { hint: 'apt-get install openssl' }));
      reject(new UnavailableError(`openssl ${args[0]} failed: ${String(stderr).trim().split('\n').pop()}`));
    });
  });
}

/** A key and a certificate for a node at `ip`, signed by the CA; nothing is left on disk. */
export async function issueServerCert(ca: CaFiles, ip: string, commonName: string): Promise<IssuedCert> {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new ConfigError(`server certificate: ${JSON.stringify(ip)} is not an IPv4 address`);
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(commonName)) throw new ConfigError(`server certificate: bad common name ${JSON.stringify(commonName)}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-cert-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    await openssl([
      'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', String(CERT_DAYS), '-subj', `/CN=${commonName}`,
      '-CA', ca.certFile, '-CAkey', ca.keyFile,
      '-addext', `subjectAltName=IP:${ip}`, '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment', '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
    ]);
    return { cert: fs.readFileSync(cert, 'utf8'), key: fs.readFileSync(key, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Why the files a node holds do not do (null: they do): the CA file must be this CA, the
 * certificate issued by it for exactly this IP, the key its own, and more than RENEW_BEFORE_DAYS left.
 */
export function certProblem(files: { ca: string; cert: string; key: string }, caPem: string, ip: string, now: Date): string | null {
  if (!files.cert.trim() || !files.key.trim() || !files.ca.trim()) return 'no certificate';
  try {
    const ca = new X509Certificate(caPem);
    if (new X509Certificate(files.ca).fingerprint256 !== ca.fingerprint256) return 'its ca.pem is another CA';
    const c = new X509Certificate(files.cert);
    if (!c.checkIssued(ca) || !c.verify(ca.publicKey)) return 'its certificate was not issued by the CA';
    if (c.checkIP(ip) !== ip) return `its certificate does not name ${ip}`;
    if (!c.checkPrivateKey(createPrivateKey(files.key))) return 'its key does not match its certificate';
    const left = (new Date(c.validTo).getTime() - now.getTime()) / 86_400_000;
    if (left < RENEW_BEFORE_DAYS) return `its certificate expires ${c.validTo} (renewed ${RENEW_BEFORE_DAYS} days before)`;
    return null;
  } catch (e) {
    return `unreadable TLS files (${(e as Error).message.split('\n')[0]})`;
  }
}

const SEP = '--rdsctl-tls-file--';

/** Prints ca.pem, the certificate and the key with a separator line between them (missing ones empty). */
export function readTlsFilesScript(l: HostLayout): string {
  return sh`for f in ${[l.tls.ca, l.tls.cert, l.tls.key]}; do cat "$f" 2>/dev/null || true; echo ${SEP}; done`;
}

export function parseTlsFiles(out: string): { ca: string; cert: string; key: string } {
  const [ca = '', cert = '', key = ''] = out.split(`${SEP}\n`);
  return { ca, cert, key };
}

/**
 * Writes the three PEMs read from stdin (CA, certificate, key, in that order) into the node's TLS
 * directory, each replaced in one rename, owned by the datadir's owner (mysqld reads them as that
 * user), the key 0600. A stdin without exactly three PEM blocks changes nothing.
 */
export function writeTlsFilesScript(l: HostLayout): string {
  const d = l.tls.dir;
  const names = ['ca.pem', 'server-cert.pem', 'server-key.pem'];
  return script(
    sh`d=${d}; mkdir -p "$d"; umask 077; rm -f "$d"/.*.new; ` +
      `awk -v d="$d" 'BEGIN { split("${names.join(' ')}", f, " "); i = 1 } i <= 3 { print > (d "/." f[i] ".new") } /^-----END / { i++ } END { if (i != 4) exit 1 }' || { echo "expected 3 PEM blocks on stdin" >&2; rm -f "$d"/.*.new; exit 1; }; ` +
      sh`u=$(stat -c %u:%g ${l.dataDir}); chown "$u" "$d"; chmod 750 "$d"; ` +
      `for f in ${names.join(' ')}; do chown "$u" "$d/.$f.new"; done; chmod 644 "$d/.ca.pem.new" "$d/.server-cert.pem.new"; chmod 600 "$d/.server-key.pem.new"; ` +
      `for f in ${names.join(' ')}; do mv -f "$d/.$f.new" "$d/$f"; done; echo "$u"`,
  );
}

/** The fingerprint the NC's certificate file has (for messages). */
export function certSha256(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}
