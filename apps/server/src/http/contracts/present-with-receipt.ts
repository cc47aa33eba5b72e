// The API representation of a request together with its signed receipt (once decided). The
// receipt names the verdict's event in the audit chain; without one there, no receipt is signed.
import type { RequestWithDecisions } from '../../approvals/find-request.ts';
import type { Deps } from '../../deps.ts';
import { findVerdictEvent } from '../../receipts/find-verdict-event.ts';
import { presentApproval, type ApprovalRepresentation } from './approval.ts';

export async function presentWithReceipt(
  deps: Pick<Deps, 'receipts' | 'db' | 'log'>,
  request: RequestWithDecisions,
): Promise<ApprovalRepresentation> {
  if (request.status === 'pending') return presentApproval(request, null);
  const evidence = await findVerdictEvent(deps.db.prisma, request);
  if (!evidence.found) {
    // The database says decided, the chain does not: something wrote past the service.
    deps.log.error(
      { requestId: request.id, status: request.status, reason: evidence.reason },
      'receipt withheld: the verdict is not in the audit chain',
    );
    return presentApproval(request, null);
  }
  return presentApproval(request, await deps.receipts.sign(request, evidence.event));
}
