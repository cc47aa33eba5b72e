// The one check every client runs before it acts on a verdict (`request --wait`, `--exec`, the
// GitHub Action's gate, the MCP tools, the Claude Code hook): an "approved" status counts only with
// a receipt whose Ed25519 signature verifies against the receipt key set and that names this
// request, action, payload digest and the status approved. Fields the receipt gains later are
// tolerated. Where the key set comes from is the caller's business (the CLI: a pinned file or the
// server's GET /v1/keys/receipt; the server's own MCP door: its own keys).
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { digestIdentity, payloadDigest, type DigestIdentity } from './payload-digest.ts';
import { RECEIPT_ALG, RECEIPT_TYPE } from '../receipts/receipt-jws-types.ts';
import { readRequesterProof } from '../receipts/requester-proof.ts';

/** What every client says when a status is not backed by its proof. */
export const NO_VALID_RECEIPT = 'approved status without a valid receipt';

const receiptPayloadSchema = z.looseObject({
  id: z.string(),
  action: z.string(),
  payloadDigest: z.string(),
  status: z.string(),
});

export type ReceiptClaims = z.infer<typeof receiptPayloadSchema>;

/** Why a receipt does not prove an approval; `detail` says what exactly failed. */
export class ReceiptCheckError extends Error {
  readonly detail: string;
  constructor(detail: string) {
    super(`${NO_VALID_RECEIPT}: ${detail}`);
    this.name = 'ReceiptCheckError';
    this.detail = detail;
  }
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

/** Returns the digest the receipt approves once it proves exactly `expected`; throws ReceiptCheckError otherwise. */
export async function verifyReceipt(
  receipt: string | null | undefined,
  jwks: JSONWebKeySet,
  expected: ReceiptExpectation,
): Promise<string> {
  if (!receipt) throw new ReceiptCheckError(`request ${expected.requestId} carries no receipt`);
  // Loaded only once there is a receipt to check: `request` starts without it.
  const { compactVerify, createLocalJWKSet } = await import('jose');
  let payload: Uint8Array;
  try {
    const verified = await compactVerify(receipt, createLocalJWKSet(jwks), { algorithms: [RECEIPT_ALG] });
    if (verified.protectedHeader.typ !== RECEIPT_TYPE)
      throw new Error(`unexpected typ ${verified.protectedHeader.typ}`);
    payload = verified.payload;
  } catch (error) {
    throw new ReceiptCheckError(
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
  if (!claims.success) throw new ReceiptCheckError('the receipt payload is not a Countersign receipt');
  const { id, action, status } = claims.data;
  if (status !== 'approved') throw new ReceiptCheckError(`the receipt says ${status}`);
  if (id !== expected.requestId) throw new ReceiptCheckError(`the receipt is for request ${id}`);
  if (action !== expected.action) throw new ReceiptCheckError(`the receipt is for action ${action}`);
  const digest = expectedDigest(expected);
  if (claims.data.payloadDigest !== digest) {
    throw new ReceiptCheckError(
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
 * Verifies the receipt of an answer whose status is approved against `jwks`. `context`, when the
 * caller knows what it sent, pins the digest to it; otherwise the answer's own digest is used (and
 * so the receipt proves what the caller is shown).
 */
export async function checkApproved(
  answer: ApprovedAnswer,
  jwks: JSONWebKeySet,
  context?: Record<string, unknown>,
): Promise<string> {
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
