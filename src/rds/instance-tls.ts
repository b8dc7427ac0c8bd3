import type { TlsSettings } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import type { Db } from '../remote/mysql.js';
import { bad, type RowRef } from './domain.js';
import type { HostLayout } from './layout.js';
import { sqlString } from './sql-text.js';

// Which instances speak TLS (#16). dbaas.custins_tls holds a row for an instance whose nodes got
// server certificates from the CA (the install's do_issue_server_cert_* steps): every rdsctl
// session to it then requires TLS verified against the profile's CA with the node's IP checked,
// and replication between its nodes verifies the peer's certificate. An instance without the row
// was installed by an rdsctl that issued no certificates: its sessions stay plain (and still never
// hand a password to a server asking for it in readable form, mysql-tls.ts); `instance show` says so.
// The row is never removed by rdsctl, so an instance that has certificates is never downgraded.

export interface InstanceTlsRow {
  /** SHA-256 of the CA certificate that issued the nodes' certificates (hex). */
  ca_sha256: string;
}

/** The instance's TLS record, checked as loaded; null when it has none. */
export async function instanceTlsRecord(db: Db, custinsId: number): Promise<InstanceTlsRow | null> {
  const row = (await db.query<{ ca_sha256: unknown }>('SELECT ca_sha256 FROM custins_tls WHERE custins_id = ?', [custinsId]))[0];
  if (!row) return null;
  const ref: RowRef = { table: 'dbaas.custins_tls', key: `custins_id=${custinsId}` };
  if (typeof row.ca_sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(row.ca_sha256)) bad(ref, 'ca_sha256', row.ca_sha256, 'a SHA-256 fingerprint in hex');
  return { ca_sha256: row.ca_sha256 as string };
}

export async function recordInstanceTls(tx: Db, custinsId: number, caSha256: string): Promise<void> {
  await tx.execute('INSERT INTO custins_tls (custins_id, ca_sha256) VALUES (?, ?) ON DUPLICATE KEY UPDATE ca_sha256 = VALUES(ca_sha256)', [custinsId, caSha256]);
}

/**
 * The TLS settings for a session to one of the instance's nodes: the profile's CA when the
 * instance has certificates; undefined (plain) when it has none. An instance with certificates
 * and a profile without a CA is an error, not a plain session.
 */
export async function instanceTrust(db: Db, custinsId: number, insName?: string): Promise<TlsSettings | undefined> {
  const rec = await instanceTlsRecord(db, custinsId);
  if (!rec) return undefined;
  if (!db.tls) throw new ConfigError(`instance ${insName ?? custinsId} has TLS certificates (dbaas.custins_tls), but the profile has no tls.ca to verify them: refusing a plain session`);
  return db.tls;
}

/**
 * The CHANGE MASTER options that make the replication thread speak TLS and verify the master's
 * certificate (issued for the master's IP) against the CA file on the replica's own NC.
 */
export function replicationTlsOptions(replica: HostLayout): string {
  return `MASTER_SSL=1, MASTER_SSL_CA=${sqlString(replica.tls.ca)}, MASTER_SSL_VERIFY_SERVER_CERT=1`;
}

/** The same, for a replica that does not use TLS (an instance without certificates). */
export const REPLICATION_PLAIN = 'MASTER_SSL=0';

/** CHANGE MASTER TLS options for a statement sent over the protocol: the CA path is a parameter. */
export interface ReplicationTls {
  sql: string;
  params: string[];
}

/** replicationTls for a protocol statement (ha/server.ts pointReplicaAt); the text form is for scripts run on the NC. */
export async function replicationTlsParams(db: Db, custinsId: number, replica: HostLayout): Promise<ReplicationTls> {
  return (await instanceTlsRecord(db, custinsId))
    ? { sql: 'MASTER_SSL = 1, MASTER_SSL_CA = ?, MASTER_SSL_VERIFY_SERVER_CERT = 1', params: [replica.tls.ca] }
    : { sql: REPLICATION_PLAIN, params: [] };
}

/** The CHANGE MASTER TLS options for a replica of this instance: verified TLS when it has certificates. */
export async function replicationTls(db: Db, custinsId: number, replica: HostLayout): Promise<string> {
  return (await instanceTlsRecord(db, custinsId)) ? replicationTlsOptions(replica) : REPLICATION_PLAIN;
}
