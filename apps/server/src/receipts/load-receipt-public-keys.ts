// The public receipt keys a verifier checks checkpoints against, without touching the private
// part: from COUNTERSIGN_RECEIPT_KEY when set, else every key stored in receipt_keys.
import { z } from 'zod';
import type { Database } from '../db/client.ts';
import { parseReceiptKeySetting, publicJwkSchema } from './receipt-key.ts';
import { readReceiptPublicKeyRows } from './receipt-key-store.ts';
import { RECEIPT_ALG, type ReceiptJwks } from './sign-receipt.ts';

const storedRow = z.object({ kid: z.string(), public_jwk: publicJwkSchema });

export async function loadReceiptPublicKeys(
  setting: string | undefined,
  db: Pick<Database, 'pool'>,
): Promise<ReceiptJwks> {
  if (setting !== undefined) {
    const key = parseReceiptKeySetting(setting);
    return { keys: [{ ...key.publicJwk, kid: key.kid, alg: RECEIPT_ALG, use: 'sig' }] };
  }
  const rows = await readReceiptPublicKeyRows(db);
  return {
    keys: rows.map((row) => {
      const { kid, public_jwk } = storedRow.parse(row);
      return { ...public_jwk, kid, alg: RECEIPT_ALG, use: 'sig' as const };
    }),
  };
}
