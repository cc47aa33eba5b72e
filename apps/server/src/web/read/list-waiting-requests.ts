// "Waiting on me": pending, unexpired requests this person may decide and has not decided yet. The
// same rules as recordDecision (never the requester or the agent's owner; named approvers unless
// the rule lets anyone decide), so the list shows only what a click could count for.
import type { Deps } from '../../deps.ts';
import type { ApprovalRequest, Decision } from '../../generated/prisma/client.ts';

export type RequestSummary = ApprovalRequest & { decisions: Decision[] };

export async function listWaitingRequests(
  deps: Pick<Deps, 'db' | 'clock'>,
  email: string,
  limit = 100,
): Promise<RequestSummary[]> {
  return deps.db.prisma.approvalRequest.findMany({
    where: {
      status: 'pending',
      expiresAt: { gt: deps.clock.now() },
      requesterEmail: { not: email },
      AND: [
        { OR: [{ agentOwner: null }, { agentOwner: { not: email } }] },
        { OR: [{ anyApprover: true }, { approvers: { has: email } }] },
      ],
      decisions: { none: { approverEmail: email } },
    },
    orderBy: [{ expiresAt: 'asc' }, { id: 'asc' }],
    take: limit,
    include: { decisions: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } },
  });
}
