// The callback deliveries of a client's request, each with every attempt.
import type { Deps } from '../../deps.ts';
import { findRequestForClient } from '../find-request.ts';
import type { CallbackAttempt, CallbackDelivery } from '../../generated/prisma/client.ts';

export type DeliveryWithAttempts = CallbackDelivery & { attempts: CallbackAttempt[] };

export async function listDeliveries(
  deps: Pick<Deps, 'db'>,
  clientId: string,
  requestId: string,
): Promise<DeliveryWithAttempts[]> {
  await findRequestForClient(deps.db.prisma, clientId, requestId);
  return deps.db.prisma.callbackDelivery.findMany({
    where: { requestId },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    include: { attempts: { orderBy: [{ attemptedAt: 'asc' }, { id: 'asc' }] } },
  });
}
