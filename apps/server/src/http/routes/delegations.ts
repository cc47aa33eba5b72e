// /v1/delegations (scope admin): add, list and end approvers' delegations while they are away.
import { z } from 'zod';
import { addDelegation, listDelegations, removeDelegation } from '../../approvals/delegation/delegations.ts';
import { principalOf } from '../auth.ts';
import {
  createDelegationBody,
  delegationSchema,
  presentDelegation,
  untilOf,
} from '../contracts/delegation.ts';
import { problemResponse } from '../contracts/problem.ts';
import { jsonBody } from '../json-body.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

const listQuery = z.strictObject({
  email: z.email().max(320).optional(),
  ended: z.enum(['true', 'false']).optional(),
});
const idParams = z.object({ id: z.string() });
const listSchema = z.object({ items: z.array(delegationSchema) });

export const createDelegationRoute: Route = {
  method: 'post',
  path: '/v1/delegations',
  scope: 'admin',
  contract: {
    operationId: 'createDelegation',
    summary: "Let someone decide in an approver's place until a date",
    request: { body: { required: true, content: { 'application/json': { schema: createDelegationBody } } } },
    responses: {
      201: { description: 'Created', content: { 'application/json': { schema: delegationSchema } } },
      422: problemResponse(
        'Body breaks the schema; to oneself; would close a loop of delegations; until past',
      ),
    },
  },
  handlers(ctx) {
    return [
      jsonBody({ required: true }),
      async (req, res) => {
        const body = parseInput(createDelegationBody, req.body, 'body');
        const created = await addDelegation(ctx.deps, {
          from: body.from,
          to: body.to,
          until: untilOf(body.until),
          reason: body.reason ?? null,
          actor: `client:${principalOf(res).clientId}`,
        });
        res.status(201).json(presentDelegation(created));
      },
    ];
  },
};

export const listDelegationsRoute: Route = {
  method: 'get',
  path: '/v1/delegations',
  scope: 'admin',
  contract: {
    operationId: 'listDelegations',
    summary: 'List active delegations (or all, with ended=true)',
    request: { query: listQuery },
    responses: {
      200: { description: 'Delegations', content: { 'application/json': { schema: listSchema } } },
      422: problemResponse('Query breaks the schema'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const query = parseInput(listQuery, req.query, 'query');
        const items = await listDelegations(ctx.deps, {
          email: query.email,
          includeEnded: query.ended === 'true',
        });
        res.json({ items: items.map(presentDelegation) });
      },
    ];
  },
};

export const removeDelegationRoute: Route = {
  method: 'post',
  path: '/v1/delegations/{id}/remove',
  scope: 'admin',
  contract: {
    operationId: 'removeDelegation',
    summary: 'End a delegation now',
    request: { params: idParams },
    responses: {
      200: { description: 'Ended', content: { 'application/json': { schema: delegationSchema } } },
      404: problemResponse('No such delegation'),
    },
  },
  handlers(ctx) {
    return [
      async (req, res) => {
        const id = String(req.params['id']);
        const removed = await removeDelegation(ctx.deps, id, `client:${principalOf(res).clientId}`);
        res.json(presentDelegation(removed));
      },
    ];
  },
};
