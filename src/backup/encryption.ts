import type { Db } from '../remote/mysql.js';

// Data-at-rest encryption state of an instance, as the metadb records it (the key itself never).

export interface EncryptionRow {
  custins_id: number;
  key_id: string;
  key_sha256: string;
  status: 'enabling' | 'enabled' | 'rotating';
}

export async function encryptionOf(db: Db, custinsId: number): Promise<EncryptionRow | null> {
  return (await db.query<EncryptionRow>('SELECT custins_id, key_id, key_sha256, status FROM custins_encryption WHERE custins_id = ?', [custinsId]))[0] ?? null;
}
