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

/** The delivery row a verdict callback needs, or null without a callback URL. */
export function verdictDeliveryOf(request: {
  callbackUrl: string | null;
}): { id: string; url: string } | null {
  if (!request.callbackUrl) return null;
  // The request row keeps the one full URL; the delivery records it as it may be shown.
  return { id: randomUUID(), url: redactCallbackUrl(request.callbackUrl) };
}

/** Enqueues the job of a delivery written in this transaction. */
export async function sendVerdictCallbackJob(
  tx: Transaction,
  jobs: JobQueue,
  deliveryId: string,
): Promise<void> {
  await jobs.send(tx, CALLBACK_QUEUE, { deliveryId } satisfies CallbackJobData);
}

/** Records the delivery and enqueues its job; for a verdict reached outside concludeRequest. */
export async function enqueueVerdictCallback(
  tx: Transaction,
  jobs: JobQueue,
  request: { id: string; callbackUrl: string | null },
  verdict: Exclude<ApprovalStatus, 'pending'>,
): Promise<string | null> {
  const delivery = verdictDeliveryOf(request);
  if (!delivery) return null;
  await insertCallbackDelivery(tx, { ...delivery, requestId: request.id, verdict });
  await sendVerdictCallbackJob(tx, jobs, delivery.id);
  return delivery.id;
}
