// POST /v1/approvals/{id}/deliveries/{deliveryId}/retry — send a failed-for-good callback again.
import { z } from 'zod';
import { retryDelivery } from '../../approvals/outbox/retry-delivery.ts';
import { principalOf, requireScope } from '../auth.ts';
import { deliverySchema, presentDelivery } from '../contracts/delivery.ts';
import { problemResponse } from '../contracts/problem.ts';
import { bearerSecurity, type Route } from '../route.ts';

const params = z.object({ id: z.string(), deliveryId: z.string() });

export const retryDeliveryRoute: Route = {
  openapi: {
    operationId: 'retryDelivery',
    method: 'post',
    path: '/v1/approvals/{id}/deliveries/{deliveryId}/retry',
    summary: 'Send a failed (or gone) callback delivery again',
    security: bearerSecurity,
    request: { params },
    responses: {
      202: { description: 'Queued again', content: { 'application/json': { schema: deliverySchema } } },
      401: problemResponse('Missing, invalid or revoked API key'),
      403: problemResponse('Key lacks approvals:write'),
      404: problemResponse('No such request or delivery for this client'),
      409: problemResponse('The delivery is pending or succeeded'),
    },
  },
  mount(router, ctx) {
    router.post(
      '/v1/approvals/:id/deliveries/:deliveryId/retry',
      requireScope(ctx.deps.db, 'approvals:write'),
      async (req, res) => {
        const delivery = await retryDelivery(
          ctx.deps,
          principalOf(res).clientId,
          String(req.params.id),
          String(req.params.deliveryId),
        );
        res.status(202).json(presentDelivery(delivery));
      },
    );
  },
};
