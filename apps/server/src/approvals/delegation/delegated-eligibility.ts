// Whether someone not eligible themselves may decide as a delegate: they hold an active delegation
// from an eligible approver, directly or through a short chain of delegations. A chain that runs
// through the requester (or the agent's owner) never counts: nobody decides a request for its asker.
import type { SqlSource } from '../../db/transaction.ts';
import { checkEligibility, type DecidingRules } from '../decider-eligibility.ts';
import { listActiveDelegationsTo } from './delegation-store.ts';

/** How many delegations a chain may hold (carol for bob for dave). */
const MAX_CHAIN = 3;

export type DelegatedEligibility =
  | { kind: 'delegate'; delegationId: string; onBehalfOf: string; chain: string[] }
  | { kind: 'through_requester'; detail: string }
  | { kind: 'none' };

export async function findDelegatedEligibility(
  tx: SqlSource,
  rules: DecidingRules,
  email: string,
  now: Date,
): Promise<DelegatedEligibility> {
  const asker = new Set([rules.requesterEmail, ...(rules.agentOwner ? [rules.agentOwner] : [])]);
  let throughRequester: string | null = null;
  const seen = new Set([email]);
  // Breadth first: the shortest chain wins. Each step: who delegated to someone in the frontier.
  let frontier: { person: string; chain: string[]; firstId: string | null }[] = [
    { person: email, chain: [email], firstId: null },
  ];
  for (let depth = 0; depth < MAX_CHAIN && frontier.length > 0; depth += 1) {
    const next: typeof frontier = [];
    for (const step of frontier) {
      const delegations = await listActiveDelegationsTo(tx, step.person, now);
      for (const d of delegations) {
        const chain = [...step.chain, d.from_email];
        const firstId = step.firstId ?? d.id;
        if (asker.has(d.from_email)) {
          throughRequester ??= chain.join(' ← ');
          continue;
        }
        if (seen.has(d.from_email)) continue;
        seen.add(d.from_email);
        const eligibility = await checkEligibility(tx, rules, d.from_email);
        if (eligibility.eligible)
          return { kind: 'delegate', delegationId: firstId, onBehalfOf: d.from_email, chain };
        if (eligibility.reason === 'not_eligible') next.push({ person: d.from_email, chain, firstId });
      }
    }
    frontier = next;
  }
  if (throughRequester !== null) {
    return {
      kind: 'through_requester',
      detail: `your delegation comes from the requester or the agent's owner (${throughRequester}), so it cannot decide this request`,
    };
  }
  return { kind: 'none' };
}
