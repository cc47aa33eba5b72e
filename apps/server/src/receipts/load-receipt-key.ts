// Start-up: the receipt signing key from COUNTERSIGN_RECEIPT_KEY, or else the one stored in
// receipt_keys, generated and stored by whichever replica gets there first.
import { z } from 'zod';
import type { Logger } from '../observability/logger.ts';
import {
  generateReceiptKey,
  parseReceiptKeySetting,
  privateJwkSchema,
  receiptKeyFromJwk,
  type ReceiptKey,
} from './receipt-key.ts';
import {
  insertReceiptKey,
  readOldestReceiptKey,
  withReceiptKeyLock,
  type ReceiptKeyClient,
} from './receipt-key-store.ts';

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
  const { key, generated } = await withReceiptKeyLock(databaseUrl, readOrCreateStoredKey);
  log.info({ kid: key.kid, source: 'database', generated }, 'receipt signing key loaded');
  return key;
}

/**
 * Under the advisory lock, concurrent first starts see each other's committed row: the first
 * inserts, the others read it, and every replica ends with the same (oldest) key.
 */
async function readOrCreateStoredKey(
  client: ReceiptKeyClient,
): Promise<{ key: ReceiptKey; generated: boolean }> {
  const stored = await readOldestReceiptKey(client);
  if (stored === undefined) {
    const key = generateReceiptKey();
    await insertReceiptKey(client, key);
    return { key, generated: true };
  }
  const row = storedRow.parse(stored);
  const key = receiptKeyFromJwk(row.private_jwk);
  if (key.kid !== row.kid) throw new Error(`stored receipt key ${row.kid} does not match its private key`);
  return { key, generated: false };
}
