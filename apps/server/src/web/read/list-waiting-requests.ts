// "Waiting on me": pending, unexpired requests this person may decide and has not decided yet. The
// same rules as recordDecision (never the requester or the agent's owner; named approvers unless
// the rule lets anyone decide; the escalation's approvers once it happened, read from the chain;
// a delegate where their delegator may decide), so the list shows only what a click could count for.
import { viewerMayDecide } from '../../approvals/viewer-may-decide.ts';
import type { Deps } from '../../deps.ts';
import type { ApprovalRequest, Decision } from '../../generated/prisma/client.ts';
import { escalationsAdding } from './console-read-store.ts';

export type RequestSummary = ApprovalRequest & { decisions: Decision[] };

/** As in delegated-eligibility.ts: how many delegations a chain may hold. */
const MAX_CHAIN = 3;

/** Who this person stands in for now, directly or through a short chain of active delegations. */
async function delegatorsOf(deps: Pick<Deps, 'db' | 'clock'>, email: string): Promise<string[]> {
  const now = deps.clock.now();
  const found = new Set<string>([email]);
  let frontier = [email];
  for (let depth = 0; depth < MAX_CHAIN && frontier.length > 0; depth += 1) {
    const rows = await deps.db.prisma.delegation.findMany({
      where: { toEmail: { in: frontier }, removedAt: null, until: { gt: now } },
      select: { fromEmail: true },
    });
    frontier = rows.map((r) => r.fromEmail).filter((e) => !found.has(e));
    for (const e of frontier) found.add(e);
  }
  found.delete(email);
  return [...found];
}

/** Pending requests whose escalation (a request.escalated event) added one of `emails`. */
async function escalatedFor(deps: Pick<Deps, 'db'>, emails: string[]): Promise<Map<string, string[]>> {
  const rows = await escalationsAdding(deps.db, emails);
  return new Map(rows.map((r) => [r.id, r.approvers]));
}

export async function listWaitingRequests(
  deps: Pick<Deps, 'db' | 'clock'>,
  email: string,
  limit = 100,
): Promise<RequestSummary[]> {
  const now = deps.clock.now();
  const delegators = await delegatorsOf(deps, email);
  const people = [email, ...delegators];
  const escalated = await escalatedFor(deps, people);
  const candidates = await deps.db.prisma.approvalRequest.findMany({
    where: {
      status: 'pending',
      expiresAt: { gt: now },
      requesterEmail: { not: email },
      AND: [
        { OR: [{ agentOwner: null }, { agentOwner: { not: email } }] },
        {
          OR: [
            { anyApprover: true },
            { approvers: { hasSome: people } },
            { id: { in: [...escalated.keys()] } },
          ],
        },
      ],
      decisions: { none: { approverEmail: email } },
    },
    orderBy: [{ expiresAt: 'asc' }, { id: 'asc' }],
    take: limit,
    include: { decisions: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } },
  });
  const items: RequestSummary[] = [];
  for (const request of candidates) {
    const mine =
      request.anyApprover ||
      request.approvers.includes(email) ||
      (escalated.get(request.id) ?? []).includes(email);
    // Only as someone's delegate: shown when the core would let the click count (no chain back to
    // the requester, the delegator not excluded themselves).
    if (mine || (await viewerMayDecide(deps.db, request, email, now))) items.push(request);
  }
  return items;
}
