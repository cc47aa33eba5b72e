// Who may see a request in the web console: the people involved in it — its requester, the
// approvers its rule allows (anyone but the requester when the rule names nobody), whoever
// decided it — the admins of the client whose key created it (keys/key-admins.ts), and the
// policy group `auditors`; every signed-in user when the policy sets `console.requests:
// everyone`. The same rule filters the request list and guards the page. Seeing is not
// deciding: an admin decides only if the rule makes them eligible.
import type { Prisma } from '../generated/prisma/client.ts';
import type { Policy } from './policy/policy.ts';

export interface VisibleRequest {
  requesterEmail: string;
  approvers: string[];
  anyApprover: boolean;
  decisions: { approverEmail: string | null }[];
  /** The admins of the client whose key created the request. */
  clientAdmins: string[];
}

export function isAuditor(policy: Policy, email: string): boolean {
  return (policy.groups['auditors'] ?? []).some((member) => member.toLowerCase() === email);
}

/** Everyone sees everything (auditors, or a policy open to all); otherwise see `visibleRequestsWhere`. */
function seesEverything(policy: Policy, email: string): boolean {
  return policy.consoleOpenToAll === true || isAuditor(policy, email);
}

export function canSeeRequest(policy: Policy, email: string, request: VisibleRequest): boolean {
  if (seesEverything(policy, email)) return true;
  return (
    request.requesterEmail === email ||
    request.anyApprover ||
    request.approvers.includes(email) ||
    request.decisions.some((d) => d.approverEmail === email) ||
    request.clientAdmins.includes(email)
  );
}

/** The same rule as a Prisma filter for lists; undefined when the person sees every request. */
export function visibleRequestsWhere(
  policy: Policy,
  email: string,
): Prisma.ApprovalRequestWhereInput | undefined {
  if (seesEverything(policy, email)) return undefined;
  return {
    OR: [
      { requesterEmail: email },
      { anyApprover: true },
      { approvers: { has: email } },
      { decisions: { some: { approverEmail: email } } },
      { client: { admins: { has: email } } },
    ],
  };
}
