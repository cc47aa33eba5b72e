// GET /v1/approvals/{id}/deliveries — the verdict callbacks of a request, every attempt included.
import { z } from 'zod';
import { listDeliveries } from '../../approvals/outbox/list-deliveries.ts';
import { principalOf } from '../auth.ts';
import { deliverySchema, presentDelivery } from '../contracts/delivery.ts';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';

const params = z.object({ id: z.string() });
const listSchema = z.object({ items: z.array(deliverySchema) }).meta({ id: 'CallbackDeliveryList' });

export const listDeliveriesRoute: Route = {
  method: 'get',
  path: '/v1/approvals/{id}/deliveries',
  scope: 'approvals:read',
  contract: {
    operationId: 'listDeliveries',
    summary: 'List the verdict callbacks of a request with every attempt',
    request: { params },
    responses: {
      200: { description: 'Deliveries', content: { 'application/json': { schema: listSchema } } },
      404: problemResponse('No such request for this client'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const deliveries = await listDeliveries(ctx.deps, principalOf(res).clientId, String(req.params.id));
        res.json({ items: deliveries.map(presentDelivery) });
      },
    ];
  },
};
