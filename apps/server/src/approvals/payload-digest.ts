// The payload digest binds an approval to exactly what was asked: SHA-256 over the canonical JSON
// of the unmasked {action, context}, written as "sha256:<hex>". When a workload identity token
// proved who asks, the proven identity (requester, issuer, subject, repository, workflow, run) is
// part of what was asked too: {action, context, identity}.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.ts';
import type { RequesterProof } from '../receipts/requester-proof.ts';

/** The part of a workload proof the digest covers; the key that presented the token is not in it. */
export interface DigestIdentity {
  requester: string;
  issuer: string;
  subject: string;
  repository: string | null;
  workflow: string | null;
  runId: string | null;
}

/** The identity to digest for a request: its workload proof's, none for a claimed or key-bound requester. */
export function digestIdentity(
  requester: string,
  proof: RequesterProof | null | undefined,
): DigestIdentity | undefined {
  if (proof?.kind !== 'workload') return undefined;
  return {
    requester,
    issuer: proof.issuer,
    subject: proof.subject,
    repository: proof.repository ?? null,
    workflow: proof.workflow ?? null,
    runId: proof.runId ?? null,
  };
}

export function payloadDigest(action: string, context: unknown, identity?: DigestIdentity): string {
  const payload = identity ? { action, context, identity } : { action, context };
  return 'sha256:' + createHash('sha256').update(canonicalJson(payload)).digest('hex');
}
