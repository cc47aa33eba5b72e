// The public receipt keys a verifier checks checkpoints against, without touching the private
// part: from COUNTERSIGN_RECEIPT_KEY when set, else every key stored in receipt_keys.
import type pg from 'pg';
import { z } from 'zod';
import { parseReceiptKeySetting, publicJwkSchema } from './receipt-key.ts';
import { RECEIPT_ALG, type ReceiptJwks } from './sign-receipt.ts';

const storedRow = z.object({ kid: z.string(), public_jwk: publicJwkSchema });

export async function loadReceiptPublicKeys(
  setting: string | undefined,
  pool: pg.Pool,
): Promise<ReceiptJwks> {
  if (setting !== undefined) {
    const key = parseReceiptKeySetting(setting);
    return { keys: [{ ...key.publicJwk, kid: key.kid, alg: RECEIPT_ALG, use: 'sig' }] };
  }
  const { rows } = await pool.query('SELECT kid, public_jwk FROM receipt_keys ORDER BY created_at, kid');
  return {
    keys: rows.map((row) => {
      const { kid, public_jwk } = storedRow.parse(row);
      return { ...public_jwk, kid, alg: RECEIPT_ALG, use: 'sig' as const };
    }),
  };
}
