// Whether a person looking at a pending request could decide it now, for doors that show Approve
// and Deny only to them (Teams card refresh): eligible themselves (checkEligibility) or a delegate
// of an eligible approver, and not decided yet. recordDecision still decides what counts.
import { readRequestChain } from '../audit/request-chain.ts';
import type { SqlSource } from '../db/transaction.ts';
import { checkEligibility, decidingRulesOf } from './decider-eligibility.ts';
import { findDelegatedEligibility } from './delegation/delegated-eligibility.ts';

export async function viewerMayDecide(
  db: SqlSource,
  request: { id: string; status: string; agentOwner: string | null; decisions: { approverEmail: string }[] },
  email: string | null,
  now: Date,
): Promise<boolean> {
  if (request.status !== 'pending' || !email) return false;
  if (request.decisions.some((d) => d.approverEmail === email)) return false;
  const chain = await readRequestChain(db, request.id);
  if (!chain.found) return false;
  const rules = decidingRulesOf(chain.chain, request.agentOwner);
  const eligibility = await checkEligibility(db, rules, email);
  if (eligibility.eligible) return true;
  if (eligibility.reason !== 'not_eligible') return false;
  return (await findDelegatedEligibility(db, rules, email, now)).kind === 'delegate';
}
