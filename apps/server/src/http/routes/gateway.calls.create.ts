// POST /v1/gateway/calls — the MCP gateway records an allowed tool call it forwarded, so every call
// an agent makes through it is in the chain.
import { z } from 'zod';
import { recordForwardedCall } from '../../gateway/record-forwarded-call.ts';
import { principalOf, requireScope } from '../auth.ts';
import { recordGatewayCallBody } from '../contracts/gateway-call.ts';
import { problemResponse } from '../contracts/problem.ts';
import { jsonBody } from '../json-body.ts';
import { bearerSecurity, type Route } from '../route.ts';
import { parseInput } from '../validate.ts';

const recordedSchema = z.object({ recorded: z.literal(true) }).meta({ id: 'GatewayCallRecorded' });

export const recordGatewayCallRoute: Route = {
  openapi: {
    operationId: 'recordGatewayCall',
    method: 'post',
    path: '/v1/gateway/calls',
    summary: 'Record an allowed tool call the MCP gateway forwarded',
    security: bearerSecurity,
    request: { body: { required: true, content: { 'application/json': { schema: recordGatewayCallBody } } } },
    responses: {
      201: { description: 'In the audit chain', content: { 'application/json': { schema: recordedSchema } } },
      401: problemResponse('Missing, invalid or revoked API key'),
      403: problemResponse('Key lacks approvals:write'),
      415: problemResponse('Body is not application/json'),
      422: problemResponse('Body breaks the schema'),
    },
  },
  mount(router, ctx) {
    router.post(
      '/v1/gateway/calls',
      requireScope(ctx.deps.db, 'approvals:write'),
      jsonBody({ required: true }),
      async (req, res) => {
        const input = parseInput(recordGatewayCallBody, req.body, 'body');
        await recordForwardedCall(ctx.deps, principalOf(res).clientId, input);
        res.status(201).json({ recorded: true });
      },
    );
  },
};
