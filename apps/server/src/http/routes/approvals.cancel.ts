// POST /v1/approvals/{id}/cancel — the creating client withdraws a pending request.
import { z } from 'zod';
import { cancelRequest } from '../../approvals/cancel-request.ts';
import { limitedText } from '../contracts/limited-text.ts';
import { principalOf } from '../auth.ts';
import { approvalSchema } from '../../approvals/view/approval.ts';
import { presentWithReceipt } from '../../approvals/view/present-with-receipt.ts';
import { problemResponse } from '../contracts/problem.ts';
import { jsonBody } from '../json-body.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

const params = z.object({ id: z.string() });
const body = z.strictObject({ reason: limitedText('reason').optional() }).meta({ id: 'CancelApproval' });

export const cancelApprovalRoute: Route = {
  method: 'post',
  path: '/v1/approvals/{id}/cancel',
  scope: 'approvals:write',
  contract: {
    operationId: 'cancelApproval',
    summary: 'Cancel a pending approval request',
    request: { params, body: { required: false, content: { 'application/json': { schema: body } } } },
    responses: {
      200: {
        description: 'The cancelled request',
        content: { 'application/json': { schema: approvalSchema } },
      },
      404: problemResponse('No such request for this client'),
      409: problemResponse('The request already has another verdict'),
      415: problemResponse('Body is not application/json'),
      422: problemResponse('Body breaks the schema'),
    },
  },
  handlers(ctx) {
    return [
      jsonBody({ required: false }),
      async (req, res) => {
        const input = parseInput(body, req.body ?? {}, 'body');
        const request = await cancelRequest(
          ctx.deps,
          principalOf(res).clientId,
          String(req.params.id),
          input,
        );
        res.json(await presentWithReceipt(ctx.deps, request));
      },
    ];
  },
};
