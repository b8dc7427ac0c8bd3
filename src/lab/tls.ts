import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { UnavailableError } from '../core/errors.js';

// The lab's own CA (production takes its CA from the profile's tls.ca): made once per lab in
// <dir>/tls/, keys 0600. Every MySQL server the lab starts gets a certificate from it for the
// addresses rdsctl dials (IP SANs), and the lab's profile trusts only this CA.

export interface LabCa {
  dir: string;
  cert: string;
  key: string;
}

export interface ServerCert {
  cert: string;
  key: string;
  ca: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === 'ENOENT') throw new UnavailableError('openssl is not installed (the lab makes its CA with it)', { hint: 'apt-get install openssl' });
    throw new UnavailableError(`openssl ${args[0]} failed: ${String(err.stderr ?? '').trim().split('\n').pop()}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function labCaPaths(labDir: string): LabCa {
  const dir = path.join(labDir, 'tls');
  return { dir, cert: path.join(dir, 'ca.pem'), key: path.join(dir, 'ca.key') };
}

/** The lab's CA, made on first use. */
export function ensureLabCa(labDir: string): LabCa {
  const ca = labCaPaths(labDir);
  if (fs.existsSync(ca.cert) && fs.existsSync(ca.key)) return ca;
  fs.mkdirSync(ca.dir, { recursive: true, mode: 0o700 });
  const subject = `/CN=rdsctl lab CA ${path.basename(labDir)}`;
  openssl(['req', '-x509', '-new', ...EC, '-keyout', ca.key, '-out', ca.cert, '-days', '3650', '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  fs.chmodSync(ca.key, 0o600);
  return ca;
}

/**
 * A server certificate from the lab CA for `name`, valid for the given IP addresses and DNS
 * names; kept while it still names exactly those (a re-run of `lab up` reuses it).
 */
export function ensureServerCert(labDir: string, name: string, ips: string[], dns: string[]): ServerCert {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new UnavailableError(`lab tls: bad certificate name ${JSON.stringify(name)}`);
  const ca = ensureLabCa(labDir);
  const out: ServerCert = { cert: path.join(ca.dir, `${name}.pem`), key: path.join(ca.dir, `${name}.key`), ca: ca.cert };
  const san = [...ips.map((x) => `IP:${x}`), ...dns.map((x) => `DNS:${x}`)].join(',');
  const sanFile = path.join(ca.dir, `${name}.san`);
  if (fs.existsSync(out.cert) && fs.existsSync(out.key) && fs.existsSync(sanFile) && fs.readFileSync(sanFile, 'utf8') === san) return out;
  openssl(['req', '-x509', '-new', ...EC, '-keyout', out.key, '-out', out.cert, '-days', '825', '-subj', `/CN=${name}`, '-CA', ca.cert, '-CAkey', ca.key, '-addext', `subjectAltName=${san}`, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth']);
  fs.chmodSync(out.key, 0o600);
  fs.writeFileSync(sanFile, san);
  return out;
}
