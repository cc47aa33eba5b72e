// The CLI's side of the receipt check (receipts/check-receipt.ts): where the receipt keys come
// from (a pinned file by flag or environment, else the server's GET /v1/keys/receipt, trusted on
// use), and a failed check as a CliError with the API error's exit code.
import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { optionalString } from '../../server/src/config.ts';
import {
  checkApproved as checkReceipt,
  NO_VALID_RECEIPT,
  ReceiptCheckError,
  type ApprovedAnswer,
} from '../../server/src/approvals/check-receipt.ts';
import { API_ERROR_EXIT_CODE } from './api-client.ts';
import { CliError } from './cli-error.ts';

export { NO_VALID_RECEIPT };

/** The environment variable naming a pinned receipt JWKS file (the `--receipt-key` flag wins). */
export const RECEIPT_JWKS_ENV = 'COUNTERSIGN_RECEIPT_JWKS';

const jwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

const receiptEnvSchema = z.object({ [RECEIPT_JWKS_ENV]: optionalString });

/** Why a receipt does not prove an approval; `detail` says what exactly failed. */
export class ReceiptError extends CliError {
  readonly detail: string;
  constructor(detail: string) {
    super(`${NO_VALID_RECEIPT}: ${detail}`, API_ERROR_EXIT_CODE);
    this.name = 'ReceiptError';
    this.detail = detail;
  }
}

/** Where the receipt keys come from: a pinned file (flag, then environment) or the server. */
export interface ReceiptKeySource {
  file?: string | undefined;
  baseUrl: string;
}

/** The pinned JWKS file: `--receipt-key FILE`, else COUNTERSIGN_RECEIPT_JWKS, else none (use the server's). */
export function receiptKeySource(
  flag: string | undefined,
  baseUrl: string,
  env: NodeJS.ProcessEnv = process.env,
): ReceiptKeySource {
  const file = flag ?? receiptEnvSchema.parse(env)[RECEIPT_JWKS_ENV];
  return { file, baseUrl };
}

/** The key set from the pinned file, or else from the server's GET /v1/keys/receipt. */
export async function loadReceiptJwks(source: ReceiptKeySource): Promise<JSONWebKeySet> {
  let json: unknown;
  try {
    if (source.file) json = JSON.parse(await readFile(source.file, 'utf8'));
    else {
      const base = source.baseUrl.endsWith('/') ? source.baseUrl : `${source.baseUrl}/`;
      const response = await fetch(new URL('v1/keys/receipt', base), {
        signal: AbortSignal.timeout(30_000),
        redirect: 'error',
      });
      if (!response.ok) throw new Error(`GET /v1/keys/receipt answered ${response.status}`);
      json = await response.json();
    }
  } catch (error) {
    throw new ReceiptError(
      `cannot load the receipt key set${source.file ? ` from ${source.file}` : ''}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  const parsed = jwksSchema.safeParse(json);
  if (!parsed.success) throw new ReceiptError('the receipt key set is not a JWKS');
  return parsed.data;
}

/**
 * Loads the keys and verifies the receipt of an answer whose status is approved (see
 * receipts/check-receipt.ts); a receipt that does not prove the approval is a ReceiptError.
 */
export async function checkApproved(
  answer: ApprovedAnswer,
  source: ReceiptKeySource | JSONWebKeySet,
  context?: Record<string, unknown>,
): Promise<string> {
  const jwks = 'keys' in source ? source : await loadReceiptJwks(source);
  try {
    return await checkReceipt(answer, jwks, context);
  } catch (error) {
    if (error instanceof ReceiptCheckError) throw new ReceiptError(error.detail);
    throw error;
  }
}
