import { RemoteError } from '../../core/errors.js';
import type { Node } from '../../rds/layout.js';
import { instanceTlsRecord, recordInstanceTls } from '../../rds/instance-tls.js';
import { caSha256, certProblem, issueServerCert, issuingCa, parseTlsFiles, readTlsFilesScript, writeTlsFilesScript, type CaFiles } from '../../rds/server-cert.js';
import type { StepDef, StepScope } from '../types.js';
import type { InstallCtx } from './context.js';

// do_issue_server_cert: each node gets a server certificate for its IP from the profile's CA
// before my.cnf names it (rds/server-cert.ts), and the instance is recorded as one that speaks
// TLS (rds/instance-tls.ts). Every later my.cnf rewrite (switchover, rebuild of a standby on a
// new NC, migrate, clone, encrypt) calls ensureNodeCert again, so a node that is new or whose
// certificate names another address or is about to expire gets a fresh one.

type Step = StepDef<InstallCtx, Node>;

/** The node holds a certificate the CA issued for its IP (with time left), issuing one otherwise. Returns what was done. */
export async function ensureNodeCert(c: InstallCtx, n: Node, s: StepScope, ca: CaFiles): Promise<string> {
  const problem = certProblem(parseTlsFiles(await c.remote(n, readTlsFilesScript(n.layout), s)), ca.caPem, n.ip, c.base.now());
  if (problem === null) return `${n.host}: certificate for ${n.ip} kept`;
  const issued = await issueServerCert(ca, n.ip, `${c.custins.ins_name}.${n.role}`.slice(0, 64));
  const owner = (await c.remote(n, writeTlsFilesScript(n.layout), s, { stdin: ca.caPem.trimEnd() + '\n' + issued.cert.trimEnd() + '\n' + issued.key.trimEnd() + '\n' })).trim();
  const check = certProblem(parseTlsFiles(await c.remote(n, readTlsFilesScript(n.layout), s)), ca.caPem, n.ip, c.base.now());
  if (check !== null) throw new RemoteError(`${n.host}: the certificate written to ${n.layout.tls.dir} does not read back: ${check}`, { host: n.host });
  return `${n.host}: certificate for IP:${n.ip} issued (${problem === 'no certificate' ? 'new' : problem}), owner ${owner}`;
}

/**
 * For my.cnf rewrites: an instance recorded as speaking TLS keeps a valid certificate on every
 * node it is written for. True when my.cnf should name the TLS files.
 */
export async function nodeTlsForMyCnf(c: InstallCtx, n: Node, s: StepScope): Promise<boolean> {
  if (!(await instanceTlsRecord(c.db, c.custins.id))) return false;
  await ensureNodeCert(c, n, s, issuingCa(c.profile.tls));
  return true;
}

export const doIssueServerCert: Step = {
  name: 'do_issue_server_cert',
  role: 'both',
  timeoutSec: 60,
  effect: 'remote',
  plan: (n) => [
    `on the jump host: openssl req -x509 -new (EC P-256 key, ${825} days, SAN IP:${n.ip}) signed by the profile's tls.ca with tls.ca_key`,
    `${writeTlsFilesScript(n.layout)}  # stdin: the CA certificate, the node's certificate and its key (0600, owned like ${n.layout.dataDir})`,
    'metadb: custins_tls (the instance speaks TLS; its sessions and replication verify the certificates)',
  ],
  async probe(c, nodes, s) {
    if (!c.profile.tls) return false;
    const ca = issuingCa(c.profile.tls);
    if (!(await instanceTlsRecord(c.db, c.custins.id))) return false;
    const ok = await Promise.all(nodes.map(async (n) => certProblem(parseTlsFiles(await c.remote(n, readTlsFilesScript(n.layout), s)), ca.caPem, n.ip, c.base.now()) === null));
    return ok.every(Boolean);
  },
  async run(c, nodes, s) {
    // A profile without any tls section (one written before #16): the instance is installed
    // without certificates and its sessions stay plain, as for an instance an older rdsctl made.
    if (!c.profile.tls) return 'no certificates: the profile has no tls section (tls.ca, tls.ca_key); sessions to this instance stay plain';
    const ca = issuingCa(c.profile.tls);
    const done = await Promise.all(nodes.map((n) => ensureNodeCert(c, n, s, ca)));
    await c.tx((tx) => recordInstanceTls(tx, c.custins.id, caSha256(ca.caPem)));
    return done.join('; ');
  },
};
