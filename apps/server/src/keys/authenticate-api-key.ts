// Resolves a bearer token to its client and scopes, or fails with a 401-class AppError.
import type { PrismaClient } from '../db/client.ts';
import { AppError } from '../errors.ts';
import { hashApiKey } from './key-material.ts';

export interface Principal {
  keyId: string;
  clientId: string;
  scopes: string[];
}

/** lastUsedAt is refreshed at most this often, so authentication is not a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export async function authenticateApiKey(
  db: PrismaClient,
  token: string,
  now: Date = new Date(),
): Promise<Principal> {
  const key = await db.apiKey.findUnique({
    where: { hash: hashApiKey(token) },
    select: { id: true, clientId: true, scopes: true, revokedAt: true, lastUsedAt: true },
  });
  if (!key) throw new AppError('API_KEY_INVALID', { detail: 'the API key is not valid' });
  if (key.revokedAt) throw new AppError('API_KEY_REVOKED', { detail: 'the API key has been revoked' });
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
  }
  return { keyId: key.id, clientId: key.clientId, scopes: key.scopes };
}
