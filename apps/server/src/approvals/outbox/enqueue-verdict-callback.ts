// Called in the transaction that gives a request its verdict: when the request has a callback
// URL, records the delivery and enqueues its job there and then, so a verdict never commits
// without its callback (nor a callback without its verdict).
import { randomUUID } from 'node:crypto';
import { redactCallbackUrl } from '../masking.ts';
import type { Transaction } from '../../db/transaction.ts';
import type { ApprovalStatus } from '../../generated/prisma/enums.ts';
import { CALLBACK_QUEUE, type JobQueue } from '../../jobs/job-queue.ts';
import { insertCallbackDelivery } from './outbox-store.ts';

export interface CallbackJobData {
  deliveryId: string;
}

export async function enqueueVerdictCallback(
  tx: Transaction,
  jobs: JobQueue,
  request: { id: string; callbackUrl: string | null },
  verdict: Exclude<ApprovalStatus, 'pending'>,
): Promise<string | null> {
  if (!request.callbackUrl) return null;
  const deliveryId = randomUUID();
  // The request row keeps the one full URL; the delivery records it as it may be shown.
  await insertCallbackDelivery(tx, {
    id: deliveryId,
    requestId: request.id,
    url: redactCallbackUrl(request.callbackUrl),
    verdict,
  });
  await jobs.send(tx, CALLBACK_QUEUE, { deliveryId } satisfies CallbackJobData);
  return deliveryId;
}
