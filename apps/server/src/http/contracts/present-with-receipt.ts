// The API representation of a request together with its signed receipt (once decided).
import type { RequestWithDecisions } from '../../approvals/find-request.ts';
import type { Deps } from '../../deps.ts';
import { presentApproval, type ApprovalRepresentation } from './approval.ts';

export async function presentWithReceipt(
  deps: Pick<Deps, 'receipts'>,
  request: RequestWithDecisions,
): Promise<ApprovalRepresentation> {
  return presentApproval(request, await deps.receipts.sign(request));
}
