// GET /v1/approvals — the client's requests, newest first, filtered, with cursor pagination.
import { z } from 'zod';
import { listRequests } from '../../approvals/list-requests.ts';
import { principalOf } from '../auth.ts';
import { approvalSchema, approvalStatusSchema } from '../../approvals/view/approval.ts';
import { presentView } from '../../approvals/view/present-with-receipt.ts';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

const query = z.strictObject({
  status: approvalStatusSchema.optional(),
  action: z.string().min(1).max(200).optional(),
  requester: z.email().optional(),
  cursor: z.string().min(1).max(512).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const listSchema = z
  .object({
    items: z.array(approvalSchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'pass as ?cursor= for the next page; null on the last' }),
  })
  .meta({ id: 'ApprovalList' });

export const listApprovalsRoute: Route = {
  method: 'get',
  path: '/v1/approvals',
  scope: 'approvals:read',
  contract: {
    operationId: 'listApprovals',
    summary: "List the client's approval requests",
    request: { query },
    responses: {
      200: { description: 'One page of requests', content: { 'application/json': { schema: listSchema } } },
      422: problemResponse('Bad filter, limit or cursor'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const input = parseInput(query, req.query, 'query');
        const page = await listRequests(ctx.deps, principalOf(res).clientId, input);
        const items = await Promise.all(page.items.map((view) => presentView(ctx.deps, view)));
        res.json({ items, nextCursor: page.nextCursor });
      },
    ];
  },
};
