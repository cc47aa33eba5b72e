// Revokes an API key. Authentication reads the key on every request, so it stops working at once.
// The revocation is audited in its transaction; revoking an already revoked key changes nothing.
import { appendAuditEvent } from '../audit/append-event.ts';
import type { Database } from '../db/client.ts';
import { inTransaction } from '../db/transaction.ts';
import { isUuid } from '../approvals/find-request.ts';
import { AppError } from '../errors.ts';
import { findKeyRevocation, markKeyRevoked } from './key-store.ts';

export interface RevokedApiKey {
  id: string;
  revokedAt: Date;
  /** False when the key had been revoked before; revoking twice changes nothing. */
  changed: boolean;
}

export async function revokeApiKey(
  db: Database,
  id: string,
  now: Date = new Date(),
  /** Who revokes it, for the audit log. */
  actor = 'system',
): Promise<RevokedApiKey> {
  if (!isUuid(id)) throw new AppError('NOT_FOUND', { detail: `no API key with id ${id}` });
  return inTransaction(db, async (tx) => {
    const changed = await markKeyRevoked(tx, id, now);
    const key = await findKeyRevocation(tx, id);
    if (!key?.revokedAt) throw new AppError('NOT_FOUND', { detail: `no API key with id ${id}` });
    if (changed) {
      await appendAuditEvent(
        tx,
        { type: 'key.revoked', actor, payload: { keyId: id, clientId: key.clientId, prefix: key.prefix } },
        now,
      );
    }
    return { id, revokedAt: key.revokedAt, changed };
  });
}
