// Verdict receipts: a compact JWS (EdDSA over Ed25519) of what was decided, verifiable offline
// against the JWKS served at GET /v1/keys/receipt.
import { CompactSign } from 'jose';
import type { RequestWithDecisions } from '../approvals/find-request.ts';
import type { PublicJwk, ReceiptKey } from './receipt-key.ts';

export const RECEIPT_ALG = 'EdDSA';
export const RECEIPT_TYPE = 'countersign-receipt+jwt';

export interface ReceiptDecision {
  approver: string;
  platform: string;
  verdict: 'approve' | 'deny';
  reason: string | null;
  at: string;
}

export interface ReceiptPayload {
  id: string;
  action: string;
  payloadDigest: string;
  status: 'approved' | 'denied' | 'expired' | 'cancelled';
  decisions: ReceiptDecision[];
  decidedAt: string;
}

export interface ReceiptJwks {
  keys: (PublicJwk & { kid: string; alg: typeof RECEIPT_ALG; use: 'sig' })[];
}

export interface ReceiptSigner {
  /** The receipt of a decided request; null while it is pending. */
  sign(request: RequestWithDecisions): Promise<string | null>;
  /** The public key set verifiers fetch; never holds the private part. */
  jwks(): ReceiptJwks;
}

/** What the receipt states; null while the request is pending (nothing decided yet). */
export function receiptPayload(request: RequestWithDecisions): ReceiptPayload | null {
  if (request.status === 'pending') return null;
  if (!request.decidedAt) throw new Error(`request ${request.id} is ${request.status} without decidedAt`);
  return {
    id: request.id,
    action: request.action,
    payloadDigest: request.payloadDigest,
    status: request.status,
    decisions: request.decisions.map((d) => ({
      approver: d.approverEmail,
      platform: d.platform,
      verdict: d.verdict,
      reason: d.reason,
      at: d.createdAt.toISOString(),
    })),
    decidedAt: request.decidedAt.toISOString(),
  };
}

/** The private key is captured here and nowhere else reachable: the signer exposes only methods. */
export function createReceiptSigner(key: ReceiptKey): ReceiptSigner {
  const { kid, privateKey } = key;
  const jwks: ReceiptJwks = { keys: [{ ...key.publicJwk, kid, alg: RECEIPT_ALG, use: 'sig' }] };
  const encoder = new TextEncoder();
  return {
    async sign(request) {
      const payload = receiptPayload(request);
      if (!payload) return null;
      return new CompactSign(encoder.encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: RECEIPT_ALG, kid, typ: RECEIPT_TYPE })
        .sign(privateKey);
    },
    jwks: () => structuredClone(jwks),
  };
}
