// The clients and api_keys tables: the key lookup every API call pays, and the writes of key
// creation, revocation and admin changes (each inside its use case's transaction).
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client.ts';
import type { Transaction } from '../db/transaction.ts';

export interface StoredKey {
  id: string;
  clientId: string;
  name: string;
  scopes: string[];
  requesters: string[];
  actions: string[];
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** The key whose hash is `hash`, in one indexed query on the pool (no transaction). */
export async function findKeyByHash(
  db: Pick<Database, 'pool'>,
  hash: string,
): Promise<StoredKey | undefined> {
  const { rows } = await db.pool.query<StoredKey>(
    `SELECT id, client_id AS "clientId", name, scopes,
            coalesce(requesters, '{}') AS requesters, coalesce(actions, '{}') AS actions, revoked_at AS "revokedAt", last_used_at AS "lastUsedAt"
       FROM api_keys WHERE hash = $1`,
    [hash],
  );
  return rows[0];
}

/** Records that key `id` was used at `now`. */
export async function markKeyUsed(db: Pick<Database, 'pool'>, id: string, now: Date): Promise<void> {
  await db.pool.query('UPDATE api_keys SET last_used_at = $2 WHERE id = $1', [id, now]);
}

export interface NewClientWithKey {
  name: string;
  callbackSecret: string;
  admins: string[];
  prefix: string;
  hash: string;
  scopes: string[];
  requesters: string[];
  actions: string[];
}

export interface InsertedKey {
  id: string;
  clientId: string;
  name: string;
  prefix: string;
  createdAt: Date;
}

/** Inserts a client and its first API key (both named `name`); answers the key. */
export async function insertClientWithKey(tx: Transaction, input: NewClientWithKey): Promise<InsertedKey> {
  const clientId = randomUUID();
  await tx.query(
    `INSERT INTO clients (id, name, callback_secret, admins) VALUES ($1::uuid, $2, $3, $4::text[])`,
    [clientId, input.name, input.callbackSecret, input.admins],
  );
  const [key] = await tx.query<InsertedKey>(
    `INSERT INTO api_keys (id, client_id, name, prefix, hash, scopes, requesters, actions)
     VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6::text[], $7::text[], $8::text[])
     RETURNING id, client_id AS "clientId", name, prefix, created_at AS "createdAt"`,
    [
      randomUUID(),
      clientId,
      input.name,
      input.prefix,
      input.hash,
      input.scopes,
      input.requesters,
      input.actions,
    ],
  );
  if (!key) throw new Error('API key was not created with its client');
  return key;
}

export interface KeyOwner {
  clientId: string;
  prefix: string;
}

/** Key `id`'s client and display prefix, if the key exists. */
export async function findKeyOwner(tx: Transaction, id: string): Promise<KeyOwner | undefined> {
  const [row] = await tx.query<KeyOwner>(
    `SELECT client_id AS "clientId", prefix FROM api_keys WHERE id = $1::uuid`,
    [id],
  );
  return row;
}

/** Locks client `clientId`'s row until commit and answers its admins (empty when NULL or absent). */
export async function lockClientAdmins(tx: Transaction, clientId: string): Promise<string[]> {
  const [row] = await tx.query<{ admins: string[] | null }>(
    `SELECT admins FROM clients WHERE id = $1::uuid FOR UPDATE`,
    [clientId],
  );
  return row?.admins ?? [];
}

/** Replaces client `clientId`'s admins. */
export async function setClientAdmins(tx: Transaction, clientId: string, admins: string[]): Promise<void> {
  await tx.query(`UPDATE clients SET admins = $2::text[] WHERE id = $1::uuid`, [clientId, admins]);
}

/** Revokes key `id` at `now` unless it already was; answers whether this call revoked it. */
export async function markKeyRevoked(tx: Transaction, id: string, now: Date): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE api_keys SET revoked_at = $2 WHERE id = $1::uuid AND revoked_at IS NULL RETURNING id`,
    [id, now],
  );
  return rows.length === 1;
}

export interface KeyRevocation extends KeyOwner {
  revokedAt: Date | null;
}

/** Key `id`'s revocation time with its client and prefix, if the key exists. */
export async function findKeyRevocation(tx: Transaction, id: string): Promise<KeyRevocation | undefined> {
  const [row] = await tx.query<KeyRevocation>(
    `SELECT revoked_at AS "revokedAt", client_id AS "clientId", prefix FROM api_keys WHERE id = $1::uuid`,
    [id],
  );
  return row;
}
