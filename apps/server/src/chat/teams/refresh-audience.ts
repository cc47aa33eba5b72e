// Who gets the approver's view of a Teams card: the people the core says to reach
// (approvers-to-reach.ts: named approvers, `idp:` group members, their delegates), named by the
// Teams user ids the bot has learnt (teams-user-directory). Teams refreshes a card automatically
// for at most 60 listed users; anyone eligible who cannot be listed (Teams id unknown, over the
// limit) is counted, and the shared card then offers a button that asks for their own view; under
// "any approver" nobody can be counted.
import { approversToReach } from '../../approvals/approvers-to-reach.ts';
import { decidingRulesOf } from '../../approvals/decider-eligibility.ts';
import { readRequestChain } from '../../audit/request-chain.ts';
import type { Database } from '../../db/client.ts';
import type { Clock } from '../../deps.ts';
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
  deps: { db: Pick<Database, 'prisma' | 'pool'>; log: Logger; clock: Clock },
  requestId: string,
): Promise<RefreshAudience> {
  const request = await deps.db.prisma.approvalRequest.findUnique({
    where: { id: requestId },
    select: { agentOwner: true, decisions: { select: { approverEmail: true } } },
  });
  const chain = await readRequestChain(deps.db, requestId);
  // No trustworthy rules: nobody is listed, and the per-person answer refuses the same way.
  if (!request || !chain.found) return { userIds: [], leftOut: null };
  const rules = decidingRulesOf(chain.chain, request.agentOwner);
  const decided = new Set(request.decisions.flatMap((d) => (d.approverEmail ? [d.approverEmail] : [])));
  const eligible = await approversToReach(deps.db, rules, decided, deps.clock.now());
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
  const uncountable = rules.anyApprover;
  return { userIds, leftOut: uncountable ? null : unknown + overLimit };
}
