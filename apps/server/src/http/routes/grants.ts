// GET /v1/grants — the time-bound grants (open, expired, revoked); POST /v1/grants/{id}/revoke —
// close one now. Both need the admin scope: a grant lets calls through without a person.
import { z } from 'zod';
import { listGrants, revokeGrant } from '../../approvals/grants.ts';
import { principalOf } from '../auth.ts';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

export const grantSchema = z
  .object({
    id: z.uuid(),
    requestId: z.uuid().meta({ description: 'the request whose approval opened it' }),
    action: z.string(),
    requester: z.string(),
    agent: z.string().nullable(),
    policyRule: z.string(),
    minutes: z.number().int(),
    approvers: z.array(z.string()),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    revokedAt: z.iso.datetime().nullable(),
    revokedBy: z.string().nullable(),
    status: z.enum(['open', 'expired', 'revoked']),
    uses: z.number().int().meta({ description: 'requests the grant approved' }),
  })
  .meta({ id: 'Grant' });

const query = z.strictObject({
  open: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .meta({ description: 'only grants open now' }),
  requester: z.email().optional(),
  action: z.string().min(1).max(200).optional(),
});

const params = z.object({ id: z.string() });

export const listGrantsRoute: Route = {
  method: 'get',
  path: '/v1/grants',
  scope: 'admin',
  contract: {
    operationId: 'listGrants',
    summary: 'Time-bound grants, newest first (at most 500)',
    request: { query },
    responses: {
      200: {
        description: 'The grants',
        content: { 'application/json': { schema: z.object({ items: z.array(grantSchema) }) } },
      },
      422: problemResponse('Invalid query'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const input = parseInput(query, req.query, 'query');
        res.json({ items: await listGrants(ctx.deps, input) });
      },
    ];
  },
};

export const revokeGrantRoute: Route = {
  method: 'post',
  path: '/v1/grants/{id}/revoke',
  scope: 'admin',
  contract: {
    operationId: 'revokeGrant',
    summary: 'Close a grant now: later calls are put to people again',
    request: { params },
    responses: {
      200: {
        description: 'The grant, and whether this call revoked it (false: it was no longer open)',
        content: {
          'application/json': { schema: z.object({ grant: grantSchema, revoked: z.boolean() }) },
        },
      },
      404: problemResponse('No such grant'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const principal = principalOf(res);
        res.json(await revokeGrant(ctx.deps, String(req.params.id), `key:${principal.keyName}`));
      },
    ];
  },
};
