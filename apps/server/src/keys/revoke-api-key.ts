// Revokes an API key. Authentication reads the key on every request, so it stops working at once.
// The revocation is audited in its transaction; revoking an already revoked key changes nothing.
import { appendAuditEvent } from '../audit/append-event.ts';
import type { PrismaClient } from '../db/client.ts';
import { isUuid } from '../approvals/find-request.ts';
import { AppError } from '../errors.ts';

export interface RevokedApiKey {
  id: string;
  revokedAt: Date;
  /** False when the key had been revoked before; revoking twice changes nothing. */
  changed: boolean;
}

export async function revokeApiKey(
  db: PrismaClient,
  id: string,
  now: Date = new Date(),
  /** Who revokes it, for the audit log. */
  actor = 'system',
): Promise<RevokedApiKey> {
  if (!isUuid(id)) throw new AppError('NOT_FOUND', { detail: `no API key with id ${id}` });
  return db.$transaction(async (tx) => {
    const updated = await tx.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } });
    const key = await tx.apiKey.findUnique({
      where: { id },
      select: { revokedAt: true, clientId: true, prefix: true },
    });
    if (!key?.revokedAt) throw new AppError('NOT_FOUND', { detail: `no API key with id ${id}` });
    const changed = updated.count === 1;
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
