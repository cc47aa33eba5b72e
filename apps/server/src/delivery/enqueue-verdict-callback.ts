// Called in the transaction that gives a request its verdict: when the request has a callback
// URL, records the delivery and enqueues its job there and then, so a verdict never commits
// without its callback (nor a callback without its verdict).
import { randomUUID } from 'node:crypto';
import type { Prisma } from '../db/client.ts';
import type { ApprovalStatus } from '../generated/prisma/enums.ts';
import { CALLBACK_QUEUE, type JobQueue } from '../jobs/job-queue.ts';

export interface CallbackJobData {
  deliveryId: string;
}

export async function enqueueVerdictCallback(
  tx: Prisma.TransactionClient,
  jobs: JobQueue,
  request: { id: string; callbackUrl: string | null },
  verdict: Exclude<ApprovalStatus, 'pending'>,
): Promise<string | null> {
  if (!request.callbackUrl) return null;
  const deliveryId = randomUUID();
  await tx.callbackDelivery.create({
    data: { id: deliveryId, requestId: request.id, url: request.callbackUrl, verdict },
  });
  await jobs.send(tx, CALLBACK_QUEUE, { deliveryId } satisfies CallbackJobData);
  return deliveryId;
}
