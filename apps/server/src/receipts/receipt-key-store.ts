// The receipt keys stored in receipt_keys: the signing key that start-up reads or creates under
// an advisory lock (on a connection of its own, before the pool exists), and the public halves
// a verifier checks checkpoints against.
import pg from 'pg';
import type { Database } from '../db/client.ts';
import { exportPrivateJwk, type ReceiptKey } from './receipt-key.ts';

/** Transaction-level advisory lock key that serialises "read or create the stored key". */
const RECEIPT_KEY_LOCK = 0x52_43_50_54; // "RCPT"

/** A connection whose open transaction holds the receipt-key lock. */
export type ReceiptKeyClient = pg.ClientBase;

/**
 * Connects to `databaseUrl`, begins a transaction, takes the receipt-key advisory lock and runs
 * `work`; commits when it answers, rolls back when it throws, and disconnects either way.
 */
export async function withReceiptKeyLock<T>(
  databaseUrl: string,
  work: (client: ReceiptKeyClient) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [RECEIPT_KEY_LOCK]);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await client.end();
  }
}

/** The oldest stored receipt key row (kid, private_jwk), undefined when none is stored. */
export async function readOldestReceiptKey(client: ReceiptKeyClient): Promise<unknown> {
  const { rows } = await client.query<Record<string, unknown>>(
    'SELECT kid, private_jwk FROM receipt_keys ORDER BY created_at, kid LIMIT 1',
  );
  return rows[0];
}

/** Stores a receipt key, private and public halves (nothing when its kid is stored already). */
export async function insertReceiptKey(client: ReceiptKeyClient, key: ReceiptKey): Promise<void> {
  await client.query(
    'INSERT INTO receipt_keys (kid, private_jwk, public_jwk) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING',
    [key.kid, JSON.stringify(exportPrivateJwk(key)), JSON.stringify(key.publicJwk)],
  );
}

/** Every stored receipt key's public half (kid, public_jwk), oldest first. */
export async function readReceiptPublicKeyRows(db: Pick<Database, 'pool'>): Promise<unknown[]> {
  const { rows } = await db.pool.query<Record<string, unknown>>(
    'SELECT kid, public_jwk FROM receipt_keys ORDER BY created_at, kid',
  );
  return rows;
}
