// Resolves a bearer token to its client and scopes, or fails with a 401-class AppError. Every API
// call pays this lookup, so it is one indexed query on node-postgres, without Prisma's runtime.
import type { Database } from '../db/client.ts';
import { AppError } from '../errors.ts';
import { hashApiKey } from './key-material.ts';
import { findKeyByHash, markKeyUsed } from './key-store.ts';

export interface Principal {
  keyId: string;
  clientId: string;
  /** The key's name, for audit events and the requester's proof. */
  keyName: string;
  scopes: string[];
  /** Requesters the key is bound to (lower-cased); empty = unbound. */
  requesters: string[];
  /** Action globs the key is limited to; empty = any. */
  actions: string[];
}

/** lastUsedAt is refreshed at most this often, so authentication is not a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export async function authenticateApiKey(
  db: Database,
  token: string,
  now: Date = new Date(),
): Promise<Principal> {
  const key = await findKeyByHash(db, hashApiKey(token));
  if (!key) throw new AppError('API_KEY_INVALID', { detail: 'the API key is not valid' });
  if (key.revokedAt) throw new AppError('API_KEY_REVOKED', { detail: 'the API key has been revoked' });
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await markKeyUsed(db, key.id, now);
  }
  return {
    keyId: key.id,
    clientId: key.clientId,
    keyName: key.name,
    scopes: key.scopes,
    requesters: key.requesters,
    actions: key.actions,
  };
}
