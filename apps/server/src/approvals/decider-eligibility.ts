// Whether a person may decide a request: one rule for the deciding transaction and for every door
// that wants to know beforehand (the console hides Approve/Deny from whoever would be refused).
// The foreign-tenant check belongs to the chat doors and stays in recordDecision.
import type { RefusalReason } from '../audit/event-types.ts';
import type { RequestChain } from '../audit/request-chain.ts';
import type { SqlSource } from '../db/transaction.ts';
import {
  idpMembershipHeld,
  isDeprovisioned,
  type IdpMembership,
  type PresenceRead,
} from '../directory/directory-eligibility.ts';

/** Who asked and who may answer, as the request holds them. */
export interface DecidingRules {
  requesterEmail: string;
  agentOwner: string | null;
  approvers: readonly string[];
  anyApprover: boolean;
}

export type Eligibility =
  | {
      eligible: true;
      email: string;
      /** The `idp:` group membership that makes the person eligible, when not listed by name. */
      idp: IdpMembership | null;
    }
  | {
      eligible: false;
      reason: Extract<
        RefusalReason,
        'identity_unresolved' | 'self_approval' | 'deprovisioned' | 'not_eligible'
      >;
      detail: string;
    };

/**
 * The rules as the request.created event recorded them: the row's copy is not trusted (a database
 * login could have rewritten it). `rowAgentOwner` covers events written before the owner was recorded.
 */
export function decidingRulesOf(chain: RequestChain, rowAgentOwner: string | null): DecidingRules {
  const created = chain.created.payload;
  return {
    requesterEmail: created.requester,
    // An escalation (request.escalated) adds approvers; nothing else ever changes who may decide.
    approvers: [...new Set([...created.approvers, ...chain.escalations.flatMap((e) => e.approvers)])],
    anyApprover: created.anyApprover,
    agentOwner: created.agentOwner === undefined ? rowAgentOwner : created.agentOwner,
  };
}

/**
 * `email` is canonical (trimmed, lower-cased) or null when the door could not resolve it.
 * `presence`: the directory's presence of `email`, when the caller read it already.
 */
export async function checkEligibility(
  tx: SqlSource,
  rules: DecidingRules,
  email: string | null,
  presence?: PresenceRead,
): Promise<Eligibility> {
  if (!email) {
    return {
      eligible: false,
      reason: 'identity_unresolved',
      detail: 'your corporate email could not be established, so your decision cannot count',
    };
  }
  if (email === rules.requesterEmail) {
    return {
      eligible: false,
      reason: 'self_approval',
      detail: 'you asked for this action, so you cannot decide it',
    };
  }
  if (rules.agentOwner !== null && email === rules.agentOwner) {
    return {
      eligible: false,
      reason: 'self_approval',
      detail: 'you own the agent that asked for this action, so you cannot decide it',
    };
  }
  if (await isDeprovisioned(tx, email, presence)) {
    return {
      eligible: false,
      reason: 'deprovisioned',
      detail: 'your identity provider has deactivated or removed your account',
    };
  }
  if (rules.anyApprover || rules.approvers.includes(email)) return { eligible: true, email, idp: null };
  const idp = await idpMembershipHeld(tx, rules.approvers, email);
  if (idp) return { eligible: true, email, idp };
  return { eligible: false, reason: 'not_eligible', detail: 'you are not an approver for this request' };
}
