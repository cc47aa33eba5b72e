// The one way a request leaves pending, whatever concludes it (a quorum of approvals or denials,
// an auto-approving rule, expiry, the client's cancel): its status and decided_at, its verdict
// callback and its cards' refresh, queued in the same transaction. The caller has locked or just
// written the row, and appends its own audit event.
import type { Transaction } from '../db/transaction.ts';
import { queueFlushesOf, type ChatOutboxDeps } from './outbox/card-outbox.ts';
import { sendVerdictCallbackJob, verdictDeliveryOf } from './outbox/enqueue-verdict-callback.ts';
import type { ApprovalStatus } from '../generated/prisma/enums.ts';
import { concludeRequestRow } from './store/request-store.ts';

export type Conclusion = Exclude<ApprovalStatus, 'pending'>;

/**
 * The row, the delivery and the cards are written in one statement, which also takes the cards'
 * flush locks (store/request-store.ts); then the callback and flush jobs are sent.
 */
export async function concludeRequest(
  tx: Transaction,
  outbox: ChatOutboxDeps,
  request: { id: string; callbackUrl: string | null },
  status: Conclusion,
  now: Date,
): Promise<void> {
  const delivery = verdictDeliveryOf(request);
  const bumped = await concludeRequestRow(tx, { id: request.id, status, now, delivery });
  if (delivery) await sendVerdictCallbackJob(tx, outbox.jobs, delivery.id);
  await queueFlushesOf(tx, outbox, bumped);
}
