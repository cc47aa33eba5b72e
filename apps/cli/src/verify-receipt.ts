// The one check every client runs before it acts on a verdict (`request --wait`, `--exec`, the
// GitHub Action's gate, the MCP tools, the Claude Code hook): an "approved" status counts only with
// a receipt whose Ed25519 signature verifies against the receipt JWKS (a pinned file, or else the
// server's GET /v1/keys/receipt, trusted on use) and that names this request, action, payload
// digest and the status approved. Fields the receipt gains later are tolerated.
import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import {
  digestIdentity,
  payloadDigest,
  type DigestIdentity,
} from '../../server/src/approvals/payload-digest.ts';
import { readRequesterProof } from '../../server/src/receipts/requester-proof.ts';
import { optionalString } from '../../server/src/config.ts';
import { RECEIPT_ALG, RECEIPT_TYPE } from '../../server/src/receipts/receipt-jws-types.ts';
import { API_ERROR_EXIT_CODE } from './api-client.ts';
import { CliError } from './cli-error.ts';

/** The environment variable naming a pinned receipt JWKS file (the `--receipt-key` flag wins). */
export const RECEIPT_JWKS_ENV = 'COUNTERSIGN_RECEIPT_JWKS';

/** What every client says when a status is not backed by its proof. */
export const NO_VALID_RECEIPT = 'approved status without a valid receipt';

const receiptPayloadSchema = z.looseObject({
  id: z.string(),
  action: z.string(),
  payloadDigest: z.string(),
  status: z.string(),
});

export type ReceiptClaims = z.infer<typeof receiptPayloadSchema>;

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

/** What the receipt must state: this request and action, and the digest of what will be acted on. */
export type ReceiptExpectation =
  | {
      requestId: string;
      action: string;
      /** The unmasked context this process sent and will act on; the digest is recomputed from it. */
      context: Record<string, unknown>;
      /** The workload identity the request was proven with (its requester proof), if any. */
      identity?: DigestIdentity | undefined;
    }
  | { requestId: string; action: string; payloadDigest: string };

function expectedDigest(expected: ReceiptExpectation): string {
  return 'context' in expected
    ? payloadDigest(expected.action, expected.context, expected.identity)
    : expected.payloadDigest;
}

/** Returns the digest the receipt approves once it proves exactly `expected`; throws ReceiptError otherwise. */
export async function verifyReceipt(
  receipt: string | null | undefined,
  jwks: JSONWebKeySet,
  expected: ReceiptExpectation,
): Promise<string> {
  if (!receipt) throw new ReceiptError(`request ${expected.requestId} carries no receipt`);
  // Loaded only once there is a receipt to check: `request` starts without it.
  const { compactVerify, createLocalJWKSet } = await import('jose');
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
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    json = undefined;
  }
  const claims = receiptPayloadSchema.safeParse(json);
  if (!claims.success) throw new ReceiptError('the receipt payload is not a Countersign receipt');
  const { id, action, status } = claims.data;
  if (status !== 'approved') throw new ReceiptError(`the receipt says ${status}`);
  if (id !== expected.requestId) throw new ReceiptError(`the receipt is for request ${id}`);
  if (action !== expected.action) throw new ReceiptError(`the receipt is for action ${action}`);
  const digest = expectedDigest(expected);
  if (claims.data.payloadDigest !== digest) {
    throw new ReceiptError(
      `the approved payload digest ${claims.data.payloadDigest} is not ${digest} (this run)`,
    );
  }
  return digest;
}

/** An approval as any door returns it: only what the check needs. */
export interface ApprovedAnswer {
  id: string;
  action: string;
  status: string;
  payloadDigest: string;
  receipt?: string | null | undefined;
  /** A workload-proven requester's identity is part of the digest (payload-digest.ts). */
  requester?: { email: string; proof?: unknown } | undefined;
}

/**
 * Loads the keys and verifies the receipt of an answer whose status is approved. `context`, when
 * the caller knows what it sent, pins the digest to it; otherwise the answer's own digest is used
 * (and so the receipt proves what the caller is shown).
 */
export async function checkApproved(
  answer: ApprovedAnswer,
  source: ReceiptKeySource | JSONWebKeySet,
  context?: Record<string, unknown>,
): Promise<string> {
  const jwks = 'keys' in source ? source : await loadReceiptJwks(source);
  const base = { requestId: answer.id, action: answer.action };
  const identity = answer.requester
    ? digestIdentity(answer.requester.email, readRequesterProof(answer.requester.proof))
    : undefined;
  return verifyReceipt(
    answer.receipt,
    jwks,
    context ? { ...base, context, identity } : { ...base, payloadDigest: answer.payloadDigest },
  );
}
