// GET /v1/approvals/{id} — read one request; ?wait=N long-polls until it leaves pending.
import { z } from 'zod';
import { getRequestView } from '../../approvals/get-request.ts';
import { principalOf } from '../auth.ts';
import { approvalSchema } from '../../approvals/view/approval.ts';
import { presentView } from '../../approvals/view/present-with-receipt.ts';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

export const MAX_WAIT_SECONDS = 60;

const params = z.object({ id: z.string().meta({ description: 'approval request id (UUID)' }) });
const query = z.strictObject({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .meta({ description: 'seconds to wait for a verdict while the request is pending (at most 60)' }),
});

export const getApprovalRoute: Route = {
  method: 'get',
  path: '/v1/approvals/{id}',
  scope: 'approvals:read',
  contract: {
    operationId: 'getApproval',
    summary: 'Read an approval request, optionally waiting for its verdict',
    request: { params, query },
    responses: {
      200: { description: 'The request', content: { 'application/json': { schema: approvalSchema } } },
      404: problemResponse('No such request for this client'),
      409: problemResponse('The stored request differs from its audit record (CHAIN_MISMATCH)'),
      422: problemResponse('Bad query parameter'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const { wait } = parseInput(query, req.query, 'query');
        const disconnected = new AbortController();
        const onClose = () => disconnected.abort();
        res.on('close', onClose);
        try {
          const view = await getRequestView(ctx.deps, ctx.feed, principalOf(res).clientId, {
            id: String(req.params.id),
            waitSeconds: wait,
            signal: AbortSignal.any([disconnected.signal, ctx.shutdown]),
          });
          const approval = await presentView(ctx.deps, view, { strict: true });
          if (!res.writableEnded && !res.destroyed) res.json(approval);
        } finally {
          res.off('close', onClose);
        }
      },
    ];
  },
};
