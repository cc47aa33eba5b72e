// Revokes an API key. Authentication reads the key on every request, so it stops working at once.
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
): Promise<RevokedApiKey> {
  if (!isUuid(id)) throw new AppError('NOT_FOUND', { detail: `no API key with id ${id}` });
  const updated = await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } });
  const key = await db.apiKey.findUnique({ where: { id }, select: { revokedAt: true } });
  if (!key?.revokedAt) throw new AppError('NOT_FOUND', { detail: `no API key with id ${id}` });
  return { id, revokedAt: key.revokedAt, changed: updated.count === 1 };
}
