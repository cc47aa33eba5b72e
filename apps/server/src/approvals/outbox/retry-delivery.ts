// Sends a delivery that ended as failed (or gone) again: back to pending with a fresh job; its
// id, and so the Countersign-Delivery header, stays the same. The re-send is audited with it.
import { appendAuditEvent } from '../../audit/append-event.ts';
import type { Deps } from '../../deps.ts';
import { findRequestForClient, isUuid } from '../find-request.ts';
import { AppError } from '../../errors.ts';
import { CALLBACK_QUEUE } from '../../jobs/job-queue.ts';
import type { CallbackJobData } from './enqueue-verdict-callback.ts';
import type { DeliveryWithAttempts } from './list-deliveries.ts';

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
  await deps.db.prisma.$transaction(async (tx) => {
    // Locked first, so the status the audit event names is the one this retry replaced.
    const before = await tx.$queryRaw<{ status: string }[]>`
      SELECT status::text AS status FROM callback_deliveries
       WHERE id = ${deliveryId}::uuid AND request_id = ${requestId}::uuid FOR UPDATE`;
    const { count } = await tx.callbackDelivery.updateMany({
      where: { id: deliveryId, requestId, status: { in: ['failed', 'gone'] } },
      data: { status: 'pending', completedAt: null },
    });
    if (count === 0) {
      const delivery = await tx.callbackDelivery.findFirst({
        where: { id: deliveryId, requestId },
        select: { status: true },
      });
      if (!delivery) throw notFound;
      throw new AppError('DELIVERY_NOT_RETRYABLE', {
        detail: `delivery ${deliveryId} is ${delivery.status}; only failed or gone deliveries can be sent again`,
      });
    }
    await deps.jobs.send(tx, CALLBACK_QUEUE, { deliveryId } satisfies CallbackJobData);
    await appendAuditEvent(
      tx,
      {
        type: 'delivery.resent',
        requestId,
        actor: `client:${clientId}`,
        payload: { deliveryId, previousStatus: before[0]?.status ?? 'unknown' },
      },
      deps.clock.now(),
    );
  });
  return deps.db.prisma.callbackDelivery.findUniqueOrThrow({
    where: { id: deliveryId },
    include: { attempts: { orderBy: [{ attemptedAt: 'asc' }, { id: 'asc' }] } },
  });
}
