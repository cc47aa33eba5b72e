// What applies to a request when the caller leaves a field out. This is the built-in default
// policy of spec §4 (any email except the requester may approve, quorum 1, one hour, channel
// from the request); the policy file replaces it in the approval core.

export interface ResolvedRules {
  policyRule: string | null;
  /** Lower-cased emails allowed to decide; empty means anyone but the requester. */
  approvers: string[];
  quorum: number;
  denyQuorum: number;
  expiresInSeconds: number;
  channel: string | null;
}

export interface RequestedRules {
  approvers?: string[] | undefined;
  quorum?: number | undefined;
  expiresIn?: number | undefined;
  channel?: string | undefined;
}

export const DEFAULT_EXPIRES_IN_SECONDS = 3600;

export function resolveRules(requested: RequestedRules): ResolvedRules {
  return {
    policyRule: null,
    approvers: [...new Set((requested.approvers ?? []).map((email) => email.toLowerCase()))],
    quorum: requested.quorum ?? 1,
    denyQuorum: 1,
    expiresInSeconds: requested.expiresIn ?? DEFAULT_EXPIRES_IN_SECONDS,
    channel: requested.channel ?? null,
  };
}
