// Verdict receipts: a compact JWS (EdDSA over Ed25519) of what was decided, and of where the
// verdict sits in the audit chain, verifiable offline against the JWKS served at GET
// /v1/keys/receipt. The same key signs checkpoints of the chain head, and the `v1a` (Ed25519)
// Standard Webhooks signature of verdict callbacks.
import { sign as signEd25519, type KeyObject } from 'node:crypto';
import { describeRequesterProof, readRequesterProof } from './requester-proof.ts';
import type { RequestChain } from '../audit/request-chain.ts';
import { CHECKPOINT_TYPE, EVIDENCE_MANIFEST_TYPE, RECEIPT_ALG, RECEIPT_TYPE } from './receipt-jws-types.ts';
import type { PublicJwk, ReceiptKey } from './receipt-key.ts';

export { CHECKPOINT_TYPE, EVIDENCE_MANIFEST_TYPE, RECEIPT_ALG, RECEIPT_TYPE };

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
  /** The kids of the event keys registered then: every signed event up to `seq` must be by one of them. */
  eventKeys?: string[];
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
  decisions: ReceiptDecision[];
  decidedAt: string;
  /** Where the verdict is in the audit chain: compare with the chain, or with a signed checkpoint. */
  verdictEvent: VerdictEvent;
  /**
   * Who asked, and how that was established (receipts/requester-proof.ts; null when unknown), with
   * the line every door shows for it.
   */
  requester: { email: string; name: string | null; proof: unknown; shown: string };
  /** The agent that asked, as the reviewer saw it (masked); null when none. */
  agent: unknown;
  /** Present when the requester used break-glass: approved at once, with a review to follow. */
  breakGlass?: { reason: string; reviewers: string[]; reviewDueAt: string };
}

export interface ReceiptJwks {
  keys: (PublicJwk & { kid: string; alg: typeof RECEIPT_ALG; use: 'sig' })[];
}

export interface ReceiptSigner {
  /** The receipt of a decided request, built from its audit chain record; null while it is pending. */
  sign(requestId: string, chain: RequestChain): Promise<string | null>;
  /** A checkpoint of the audit chain head. */
  signCheckpoint(statement: CheckpointStatement): Promise<string>;
  /** An evidence pack's manifest.json, exactly as written, as the payload of a compact JWS. */
  signEvidenceManifest(manifest: string): Promise<string>;
  /**
   * The base64 Ed25519 signature of `content` (a Standard Webhooks `v1a` signature when `content`
   * is `id.timestamp.body`).
   */
  signWebhook(content: string): string;
  /** The public key set verifiers fetch; never holds the private part. */
  jwks(): ReceiptJwks;
}

/**
 * What the receipt states, all of it from the audit chain (audit/request-chain.ts): the request as
 * its request.created event recorded it, its decision events, and its one verdict event. Null
 * while the chain has no verdict (pending) or more than one (then nothing is vouched for).
 */
export function receiptPayload(requestId: string, chain: RequestChain): ReceiptPayload | null {
  const [verdict, ...more] = chain.verdicts;
  if (!verdict || more.length > 0) return null;
  const created = chain.created.payload;
  return {
    id: requestId,
    action: created.action,
    payloadDigest: created.payloadDigest,
    status: verdict.status,
    decisions: chain.decisions.map((d) => ({
      approver: d.approver,
      platform: d.platform,
      verdict: d.verdict,
      reason: d.reason,
      at: d.at,
    })),
    decidedAt: verdict.at,
    verdictEvent: { seq: verdict.seq, hash: verdict.hash },
    requester: {
      email: created.requester,
      name: created.requesterName ?? null,
      proof: created.requesterProof ?? null,
      shown: describeRequesterProof(readRequesterProof(created.requesterProof)),
    },
    agent: created.agent ?? null,
    ...(created.breakGlass ? { breakGlass: created.breakGlass } : {}),
  };
}

/**
 * A compact JWS (RFC 7515) of `payload` with the protected header {alg, kid, typ}, signed with
 * Ed25519 by node:crypto in one call: byte for byte what jose's CompactSign writes (Ed25519 is
 * deterministic), without its WebCrypto round trip, which cost a list page ~0.3 ms per receipt.
 */
function compactJws(privateKey: KeyObject, kid: string, typ: string, payload: string): string {
  const header = Buffer.from(JSON.stringify({ alg: RECEIPT_ALG, kid, typ }), 'utf8').toString('base64url');
  const signingInput = `${header}.${Buffer.from(payload, 'utf8').toString('base64url')}`;
  const signature = signEd25519(null, Buffer.from(signingInput, 'ascii'), privateKey).toString('base64url');
  return `${signingInput}.${signature}`;
}

/** The private key is captured here and nowhere else reachable: the signer exposes only methods. */
export function createReceiptSigner(key: ReceiptKey): ReceiptSigner {
  const { kid, privateKey } = key;
  const jwks: ReceiptJwks = { keys: [{ ...key.publicJwk, kid, alg: RECEIPT_ALG, use: 'sig' }] };
  return {
    sign(requestId, chain) {
      const payload = receiptPayload(requestId, chain);
      return Promise.resolve(
        payload ? compactJws(privateKey, kid, RECEIPT_TYPE, JSON.stringify(payload)) : null,
      );
    },
    signCheckpoint(statement) {
      const payload = {
        seq: statement.seq,
        hash: statement.hash,
        at: statement.at,
        ...(statement.eventKeys ? { eventKeys: statement.eventKeys } : {}),
      };
      return Promise.resolve(compactJws(privateKey, kid, CHECKPOINT_TYPE, JSON.stringify(payload)));
    },
    signEvidenceManifest(manifest) {
      return Promise.resolve(compactJws(privateKey, kid, EVIDENCE_MANIFEST_TYPE, manifest));
    },
    signWebhook: (content) => signEd25519(null, Buffer.from(content, 'utf8'), privateKey).toString('base64'),
    jwks: () => structuredClone(jwks),
  };
}
