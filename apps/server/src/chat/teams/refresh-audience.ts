// Who gets the approver's view of a Teams card: the eligible approvers (the core's
// checkEligibility decides), named by the Teams user ids the bot has learnt (teams-user-directory).
// Teams refreshes a card automatically for at most 60 listed users; anyone eligible who cannot be
// listed (Teams id unknown, over the limit, reachable only through an `idp:` group or "any
// approver") is counted, and the shared card then offers a button that asks for their own view.
import { checkEligibility, decidingRulesOf } from '../../approvals/decider-eligibility.ts';
import { readRequestChain } from '../../audit/request-chain.ts';
import type { Database } from '../../db/client.ts';
import { IDP_PREFIX } from '../../directory/directory-eligibility.ts';
import type { Logger } from '../../observability/logger.ts';
import { findTeamsUserIds } from './teams-user-directory.ts';

/** Teams' limit on `refresh.userIds`. */
export const TEAMS_REFRESH_USER_LIMIT = 60;

export interface RefreshAudience {
  /** Teams user ids that refresh automatically to their own view (at most 60). */
  userIds: string[];
  /** Eligible people who are not in `userIds`, or null when they cannot be counted (groups, anyone). */
  leftOut: number | null;
}

export async function findRefreshAudience(
  deps: { db: Pick<Database, 'prisma'>; log: Logger },
  requestId: string,
): Promise<RefreshAudience> {
  const db = deps.db.prisma;
  const request = await db.approvalRequest.findUnique({
    where: { id: requestId },
    select: { agentOwner: true, decisions: { select: { approverEmail: true } } },
  });
  const chain = await readRequestChain(db, requestId);
  // No trustworthy rules: nobody is listed, and the per-person answer refuses the same way.
  if (!request || !chain.found) return { userIds: [], leftOut: null };
  const rules = decidingRulesOf(chain.chain, request.agentOwner);
  const decided = new Set(request.decisions.map((d) => d.approverEmail));
  const named = rules.approvers.filter((a) => !a.startsWith(IDP_PREFIX) && !decided.has(a));
  const eligible: string[] = [];
  for (const email of named) {
    if ((await checkEligibility(db, rules, email)).eligible) eligible.push(email);
  }
  const known = await findTeamsUserIds(deps.db, eligible);
  const ids = eligible.map((e) => known.get(e)).filter((id): id is string => id !== undefined);
  const userIds = [...new Set(ids)].slice(0, TEAMS_REFRESH_USER_LIMIT);
  const unknown = eligible.length - ids.length;
  const overLimit = new Set(ids).size - userIds.length;
  if (unknown > 0 || overLimit > 0) {
    deps.log.info(
      { requestId, listed: userIds.length, unknownTeamsId: unknown, overLimit },
      'Teams card refresh: some eligible approvers are not listed in refresh.userIds',
    );
  }
  const uncountable = rules.anyApprover || rules.approvers.some((a) => a.startsWith(IDP_PREFIX));
  return { userIds, leftOut: uncountable ? null : unknown + overLimit };
}
