// Cancels a pending request on behalf of the client that created it. Cancelling a cancelled
// request again is a no-op; any other verdict cannot be changed.
import { appendAuditEvent } from '../audit/append-event.ts';
import { concludeRequest } from './conclude-request.ts';
import { inTransaction } from '../db/transaction.ts';
import { lockPendingRequestOfClient } from './store/request-store.ts';
import { AppError } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { findRequestForClient, isUuid, type RequestWithDecisions } from './find-request.ts';
import { maskFreeText } from './masking.ts';
import { refuseTooLongText } from './text-limits.ts';
import { queueRequesterNotice } from './follow-up/follow-up-jobs.ts';

export interface CancelRequestInput {
  reason?: string | undefined;
}

export async function cancelRequest(
  deps: Deps,
  clientId: string,
  id: string,
  input: CancelRequestInput,
): Promise<RequestWithDecisions> {
  if (!isUuid(id)) throw new AppError('NOT_FOUND', { detail: `no approval request with id ${id}` });
  refuseTooLongText('reason', input.reason);
  const now = deps.clock.now();
  const cancelled = await inTransaction(deps.db, async (tx) => {
    // Locked first, so a decision or the expiry sweep cannot conclude it meanwhile.
    const pending = await lockPendingRequestOfClient(tx, id, clientId);
    if (!pending) return false;
    await concludeRequest(tx, deps, { id, callbackUrl: pending.callbackUrl }, 'cancelled', now);
    await queueRequesterNotice(tx, deps, id);
    await appendAuditEvent(
      tx,
      {
        type: 'request.cancelled',
        requestId: id,
        actor: `client:${clientId}`,
        payload: { clientId, reason: maskFreeText(input.reason ?? null) },
      },
      now,
      deps.events,
    );
    return true;
  });
  const request = await findRequestForClient(deps.db.prisma, clientId, id);
  if (!cancelled && request.status !== 'cancelled') {
    throw new AppError('ALREADY_DECIDED', {
      detail: `approval request ${id} is already ${request.status} and can no longer be cancelled`,
    });
  }
  return request;
}
