// Checks a verdict receipt before anything runs: its signature against the receipt JWKS (the
// server's, or a pinned file), and that it approves exactly this request, action and payload.
import { readFile } from 'node:fs/promises';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { payloadDigest, type DigestIdentity } from '../../server/src/approvals/payload-digest.ts';
import { RECEIPT_ALG, RECEIPT_TYPE } from '../../server/src/receipts/sign-receipt.ts';
import { API_ERROR_EXIT_CODE } from './api-client.ts';
import { CliError } from './cli-error.ts';

const receiptPayloadSchema = z.object({
  id: z.string(),
  action: z.string(),
  payloadDigest: z.string(),
  status: z.string(),
});

const jwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

export class ReceiptError extends CliError {
  constructor(message: string) {
    super(`receipt check failed, not running the command: ${message}`, API_ERROR_EXIT_CODE);
    this.name = 'ReceiptError';
  }
}

/** The key set from `--receipt-jwks FILE`, or else from the server's GET /v1/keys/receipt. */
export async function loadReceiptJwks(source: {
  file?: string | undefined;
  baseUrl: string;
}): Promise<JSONWebKeySet> {
  let json: unknown;
  try {
    if (source.file) json = JSON.parse(await readFile(source.file, 'utf8'));
    else {
      const response = await fetch(
        new URL('v1/keys/receipt', source.baseUrl.endsWith('/') ? source.baseUrl : `${source.baseUrl}/`),
        {
          signal: AbortSignal.timeout(30_000),
          redirect: 'error',
        },
      );
      if (!response.ok) throw new Error(`GET /v1/keys/receipt answered ${response.status}`);
      json = await response.json();
    }
  } catch (error) {
    throw new ReceiptError(
      `cannot load the receipt key set: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = jwksSchema.safeParse(json);
  if (!parsed.success) throw new ReceiptError('the receipt key set is not a JWKS');
  return parsed.data;
}

export interface ExpectedRun {
  requestId: string;
  action: string;
  /** The unmasked context this process sent and will act on. */
  context: Record<string, unknown>;
  /** The workload identity the request was proven with (from the request's requester proof), if any. */
  identity?: DigestIdentity | undefined;
}

/** Returns the digest of what will run once the receipt proves it was approved; throws otherwise. */
export async function verifyReceipt(
  receipt: string | undefined,
  jwks: JSONWebKeySet,
  expected: ExpectedRun,
): Promise<string> {
  if (!receipt) throw new ReceiptError('the approved request carries no receipt');
  let payload: Uint8Array;
  try {
    const verified = await compactVerify(receipt, createLocalJWKSet(jwks), { algorithms: [RECEIPT_ALG] });
    if (verified.protectedHeader.typ !== RECEIPT_TYPE)
      throw new Error(`unexpected typ ${verified.protectedHeader.typ}`);
    payload = verified.payload;
  } catch (error) {
    throw new ReceiptError(
      `the signature does not verify (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const claims = receiptPayloadSchema.safeParse(JSON.parse(new TextDecoder().decode(payload)));
  if (!claims.success) throw new ReceiptError('the receipt payload is not a Countersign receipt');
  const { id, action, status } = claims.data;
  if (status !== 'approved') throw new ReceiptError(`the receipt says ${status}`);
  if (id !== expected.requestId) throw new ReceiptError(`the receipt is for request ${id}`);
  if (action !== expected.action) throw new ReceiptError(`the receipt is for action ${action}`);
  const digest = payloadDigest(expected.action, expected.context, expected.identity);
  if (claims.data.payloadDigest !== digest) {
    throw new ReceiptError(
      `the approved payload digest ${claims.data.payloadDigest} is not ${digest} (this run)`,
    );
  }
  return digest;
}
