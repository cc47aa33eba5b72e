// Verdict receipts: a compact JWS (EdDSA over Ed25519) of what was decided, and of where the
// verdict sits in the audit chain, verifiable offline against the JWKS served at GET
// /v1/keys/receipt. The same key signs checkpoints of the chain head.
import { CompactSign } from 'jose';
import type { RequestWithDecisions } from '../approvals/find-request.ts';
import type { PublicJwk, ReceiptKey } from './receipt-key.ts';
import {
  describeRequesterProof,
  requesterProofSchema,
  type RequesterProof,
} from '../approvals/requester-proof.ts';

export const RECEIPT_ALG = 'EdDSA';
export const RECEIPT_TYPE = 'countersign-receipt+jwt';
export const CHECKPOINT_TYPE = 'countersign-checkpoint+jwt';

/** The audit event that gave the request its verdict: its seq and chain hash. */
export interface VerdictEvent {
  seq: string;
  hash: string;
}

/** A signed statement that the audit chain had this hash at this seq at this time. */
export interface CheckpointStatement {
  seq: string;
  hash: string;
  at: string;
}

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
  /** Who asked, how that was established (null before proofs were kept), and that in one line. */
  requester: { email: string; proof: RequesterProof | null; shown: string };
  decisions: ReceiptDecision[];
  decidedAt: string;
  /** Where the verdict is in the audit chain: compare with the chain, or with a signed checkpoint. */
  verdictEvent: VerdictEvent;
}

export interface ReceiptJwks {
  keys: (PublicJwk & { kid: string; alg: typeof RECEIPT_ALG; use: 'sig' })[];
}

export interface ReceiptSigner {
  /** The receipt of a decided request, naming its verdict event in the chain; null while it is pending. */
  sign(request: RequestWithDecisions, verdictEvent: VerdictEvent): Promise<string | null>;
  /** A checkpoint of the audit chain head. */
  signCheckpoint(statement: CheckpointStatement): Promise<string>;
  /** The public key set verifiers fetch; never holds the private part. */
  jwks(): ReceiptJwks;
}

/** What the receipt states; null while the request is pending (nothing decided yet). */
export function receiptPayload(
  request: RequestWithDecisions,
  verdictEvent: VerdictEvent,
): ReceiptPayload | null {
  if (request.status === 'pending') return null;
  if (!request.decidedAt) throw new Error(`request ${request.id} is ${request.status} without decidedAt`);
  const parsed = requesterProofSchema.safeParse(request.requesterProof);
  const proof = parsed.success ? parsed.data : null;
  return {
    id: request.id,
    action: request.action,
    payloadDigest: request.payloadDigest,
    status: request.status,
    requester: { email: request.requesterEmail, proof, shown: describeRequesterProof(proof) },
    decisions: request.decisions.map((d) => ({
      approver: d.approverEmail,
      platform: d.platform,
      verdict: d.verdict,
      reason: d.reason,
      at: d.createdAt.toISOString(),
    })),
    decidedAt: request.decidedAt.toISOString(),
    verdictEvent: { seq: verdictEvent.seq, hash: verdictEvent.hash },
  };
}

/** The private key is captured here and nowhere else reachable: the signer exposes only methods. */
export function createReceiptSigner(key: ReceiptKey): ReceiptSigner {
  const { kid, privateKey } = key;
  const jwks: ReceiptJwks = { keys: [{ ...key.publicJwk, kid, alg: RECEIPT_ALG, use: 'sig' }] };
  const encoder = new TextEncoder();
  return {
    async sign(request, verdictEvent) {
      const payload = receiptPayload(request, verdictEvent);
      if (!payload) return null;
      return new CompactSign(encoder.encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: RECEIPT_ALG, kid, typ: RECEIPT_TYPE })
        .sign(privateKey);
    },
    signCheckpoint(statement) {
      const payload = { seq: statement.seq, hash: statement.hash, at: statement.at };
      return new CompactSign(encoder.encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: RECEIPT_ALG, kid, typ: CHECKPOINT_TYPE })
        .sign(privateKey);
    },
    jwks: () => structuredClone(jwks),
  };
}
