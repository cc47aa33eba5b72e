// How a request's requester was established. A claimed requester is only the caller's word; a
// key-bound one is fixed by the API key; a workload identity is proven by a verified OIDC token
// from the caller's CI. Stored with the request, written into its request.created event and receipt.
import { z } from 'zod';

export const requesterProofSchema = z.discriminatedUnion('kind', [
  /** The caller named the requester; the key that asked is all that is known. */
  z.object({ kind: z.literal('claimed'), keyName: z.string() }),
  /** The API key is bound to this requester (keys create --requester). */
  z.object({ kind: z.literal('key'), keyName: z.string() }),
  /** A verified workload identity token from the caller's CI. */
  z.object({
    kind: z.literal('workload'),
    /** github-actions, gitlab-ci, or the name of an issuer configured in the policy. */
    provider: z.string(),
    issuer: z.string(),
    subject: z.string(),
    /** The CI account that started the run (GitHub `actor`, GitLab `user_login`), when given. */
    login: z.string().optional(),
    repository: z.string().optional(),
    workflow: z.string().optional(),
    runId: z.string().optional(),
    keyName: z.string(),
  }),
]);

export type RequesterProof = z.infer<typeof requesterProofSchema>;

/** A stored or received proof (a JSON column, an event, an answer), or null when it is none. */
export function readRequesterProof(stored: unknown): RequesterProof | null {
  const parsed = requesterProofSchema.safeParse(stored);
  return parsed.success ? parsed.data : null;
}

/** True when the requester is more than the caller's claim. */
export function isProven(proof: RequesterProof | null | undefined): boolean {
  return proof !== null && proof !== undefined && proof.kind !== 'claimed';
}

/** One line for cards, the console, receipts and the report. */
export function describeRequesterProof(proof: RequesterProof | null | undefined): string {
  if (!proof) return 'claimed';
  switch (proof.kind) {
    case 'claimed':
      return `claimed by key ${proof.keyName}`;
    case 'key':
      return `bound to key ${proof.keyName}`;
    case 'workload': {
      const parts = [proof.login ?? proof.subject, proof.repository, proof.runId && `run ${proof.runId}`];
      return `proven (${proof.provider}: ${parts.filter(Boolean).join(' / ')})`;
    }
  }
}
