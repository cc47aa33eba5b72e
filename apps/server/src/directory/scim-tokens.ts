// Bearer tokens for the identity provider's SCIM client (`countersign scim token create`). Like API
// keys they carry 256 random bits and only their SHA-256 is stored; creation is audited.
import { randomBytes } from 'node:crypto';
import { appendAuditEvent } from '../audit/append-event.ts';
import type { Database, PrismaClient } from '../db/client.ts';
import { inTransaction } from '../db/transaction.ts';
import { displayPrefix, hashApiKey } from '../keys/key-material.ts';
import { insertScimToken } from './scim-token-store.ts';

const TOKEN_PREFIX = 'scim_';

export interface CreatedScimToken {
  id: string;
  name: string;
  prefix: string;
  /** The secret token; shown once. */
  token: string;
}

export async function createScimToken(
  db: Database,
  input: { name: string; actor: string; now?: Date },
): Promise<CreatedScimToken> {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const prefix = displayPrefix(token);
  const now = input.now ?? new Date();
  const id = await inTransaction(db, async (tx) => {
    const id = await insertScimToken(tx, { name: input.name, prefix, hash: hashApiKey(token) });
    await appendAuditEvent(
      tx,
      {
        type: 'scim.token.created',
        actor: input.actor,
        payload: { tokenId: id, name: input.name, prefix },
      },
      now,
    );
    return id;
  });
  return { id, name: input.name, prefix, token };
}

/** The token's holder, or null for an unknown or revoked token. */
export async function authenticateScimToken(
  prisma: PrismaClient,
  token: string,
): Promise<{ id: string; name: string } | null> {
  const row = await prisma.scimToken.findUnique({
    where: { hash: hashApiKey(token) },
    select: { id: true, name: true, revokedAt: true },
  });
  return row && !row.revokedAt ? { id: row.id, name: row.name } : null;
}
