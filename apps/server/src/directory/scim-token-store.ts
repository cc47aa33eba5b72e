// The scim_tokens table: the identity provider's SCIM bearer tokens, stored as SHA-256 hashes.
import { randomUUID } from 'node:crypto';
import type { Transaction } from '../db/transaction.ts';

/** Inserts a SCIM token by its display prefix and hash; answers its new id. */
export async function insertScimToken(
  tx: Transaction,
  token: { name: string; prefix: string; hash: string },
): Promise<string> {
  const id = randomUUID();
  await tx.query(`INSERT INTO scim_tokens (id, name, prefix, hash) VALUES ($1::uuid, $2, $3, $4)`, [
    id,
    token.name,
    token.prefix,
    token.hash,
  ]);
  return id;
}
