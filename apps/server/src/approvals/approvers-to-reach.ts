// Whom to reach for a request that waits (reminders, Teams' automatic card refresh): the approvers
// it names, the members of its `idp:` groups, and the active delegates of any of them, each held
// to the same eligibility the deciding transaction applies (a delegate whose chain runs through the
// requester is left out), minus whoever already decided. A rule that lets anyone approve names
// nobody to reach.
import type { SqlSource } from '../db/transaction.ts';
import { IDP_PREFIX, idpGroupMembers } from '../directory/directory-eligibility.ts';
import { checkEligibility, type DecidingRules } from './decider-eligibility.ts';
import { findDelegatedEligibility } from './delegation/delegated-eligibility.ts';
import { listActiveDelegatesOf } from './store/approver-reach-store.ts';

/** How far delegations are followed (as findDelegatedEligibility does: carol for bob for dave). */
const MAX_CHAIN = 3;

export async function approversToReach(
  tx: SqlSource,
  rules: DecidingRules,
  decided: ReadonlySet<string>,
  now: Date,
): Promise<string[]> {
  if (rules.anyApprover) return [];
  const named = rules.approvers.filter((a) => !a.startsWith(IDP_PREFIX));
  const candidates = [...new Set([...named, ...(await idpGroupMembers(tx, rules.approvers))])];
  const eligible: string[] = [];
  for (const email of candidates) {
    if ((await checkEligibility(tx, rules, email)).eligible) eligible.push(email);
  }
  const reach = new Set(eligible);
  let frontier = eligible;
  for (let depth = 0; depth < MAX_CHAIN && frontier.length > 0; depth += 1) {
    const delegates = await listActiveDelegatesOf(tx, frontier, now);
    const next: string[] = [];
    for (const email of delegates) {
      if (reach.has(email)) continue;
      if ((await findDelegatedEligibility(tx, rules, email, now)).kind !== 'delegate') continue;
      reach.add(email);
      next.push(email);
    }
    frontier = next;
  }
  return [...reach].filter((email) => !decided.has(email));
}
