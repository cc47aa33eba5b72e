// Sends a delivery that ended as failed (or gone) again: back to pending with a fresh job; its
// id, and so the Countersign-Delivery header, stays the same. The re-send is audited with it.
import { appendAuditEvent } from '../../audit/append-event.ts';
import { inTransaction } from '../../db/transaction.ts';
import type { Deps } from '../../deps.ts';
import { findRequestForClient, isUuid } from '../find-request.ts';
import { AppError } from '../../errors.ts';
import { CALLBACK_QUEUE } from '../../jobs/job-queue.ts';
import type { CallbackJobData } from './enqueue-verdict-callback.ts';
import type { DeliveryWithAttempts } from './list-deliveries.ts';
import { lockDelivery, markDeliveryPendingAgain } from './outbox-store.ts';

export async function retryDelivery(
  deps: Pick<Deps, 'db' | 'jobs' | 'clock'>,
  clientId: string,
  requestId: string,
  deliveryId: string,
): Promise<DeliveryWithAttempts> {
  await findRequestForClient(deps.db.prisma, clientId, requestId);
  const notFound = new AppError('NOT_FOUND', {
    detail: `no delivery ${deliveryId} for approval request ${requestId}`,
  });
  if (!isUuid(deliveryId)) throw notFound;
  await inTransaction(deps.db, async (tx) => {
    // Locked first, so the status the audit event names is the one this retry replaced.
    const before = await lockDelivery(tx, requestId, deliveryId);
    if (!(await markDeliveryPendingAgain(tx, requestId, deliveryId))) {
      // The locked row is the delivery as it stands: absent, or in a state a retry does not touch.
      if (before === undefined) throw notFound;
      throw new AppError('DELIVERY_NOT_RETRYABLE', {
        detail: `delivery ${deliveryId} is ${before}; only failed or gone deliveries can be sent again`,
      });
    }
    await deps.jobs.send(tx, CALLBACK_QUEUE, { deliveryId } satisfies CallbackJobData);
    await appendAuditEvent(
      tx,
      {
        type: 'delivery.resent',
        requestId,
        actor: `client:${clientId}`,
        payload: { deliveryId, previousStatus: before ?? 'unknown' },
      },
      deps.clock.now(),
    );
  });
  return deps.db.prisma.callbackDelivery.findUniqueOrThrow({
    where: { id: deliveryId },
    include: { attempts: { orderBy: [{ attemptedAt: 'asc' }, { id: 'asc' }] } },
  });
}
