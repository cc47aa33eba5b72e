// Start-up: the receipt signing key from COUNTERSIGN_RECEIPT_KEY, or else the one stored in
// receipt_keys, generated and stored by whichever replica gets there first.
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../observability/logger.ts';
import {
  exportPrivateJwk,
  generateReceiptKey,
  parseReceiptKeySetting,
  privateJwkSchema,
  receiptKeyFromJwk,
  type ReceiptKey,
} from './receipt-key.ts';

/** Transaction-level advisory lock key that serialises "read or create the stored key". */
const RECEIPT_KEY_LOCK = 0x52_43_50_54; // "RCPT"

const storedRow = z.object({ kid: z.string(), private_jwk: privateJwkSchema });

export interface LoadReceiptKeyInput {
  /** COUNTERSIGN_RECEIPT_KEY, when set. */
  setting: string | undefined;
  databaseUrl: string;
  log: Logger;
}

export async function loadReceiptKey({
  setting,
  databaseUrl,
  log,
}: LoadReceiptKeyInput): Promise<ReceiptKey> {
  if (setting !== undefined) {
    const key = parseReceiptKeySetting(setting);
    log.info({ kid: key.kid, source: 'COUNTERSIGN_RECEIPT_KEY' }, 'receipt signing key loaded');
    return key;
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { key, generated } = await readOrCreateStoredKey(client);
    log.info({ kid: key.kid, source: 'database', generated }, 'receipt signing key loaded');
    return key;
  } finally {
    await client.end();
  }
}

/**
 * Under the advisory lock, concurrent first starts see each other's committed row: the first
 * inserts, the others read it, and every replica ends with the same (oldest) key.
 */
async function readOrCreateStoredKey(client: pg.Client): Promise<{ key: ReceiptKey; generated: boolean }> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [RECEIPT_KEY_LOCK]);
    const { rows } = await client.query(
      'SELECT kid, private_jwk FROM receipt_keys ORDER BY created_at, kid LIMIT 1',
    );
    let result: { key: ReceiptKey; generated: boolean };
    if (rows[0] === undefined) {
      const key = generateReceiptKey();
      await client.query(
        'INSERT INTO receipt_keys (kid, private_jwk, public_jwk) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING',
        [key.kid, JSON.stringify(exportPrivateJwk(key)), JSON.stringify(key.publicJwk)],
      );
      result = { key, generated: true };
    } else {
      const row = storedRow.parse(rows[0]);
      const key = receiptKeyFromJwk(row.private_jwk);
      if (key.kid !== row.kid)
        throw new Error(`stored receipt key ${row.kid} does not match its private key`);
      result = { key, generated: false };
    }
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
