// POST /v1/gateway/calls — the MCP gateway records an allowed tool call it forwarded, so every call
// an agent makes through it is in the chain.
import { z } from 'zod';
import { recordForwardedCall } from '../../gateway/record-forwarded-call.ts';
import { principalOf } from '../auth.ts';
import { recordGatewayCallBody } from '../contracts/gateway-call.ts';
import { problemResponse } from '../contracts/problem.ts';
import { jsonBody } from '../json-body.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

const recordedSchema = z.object({ recorded: z.literal(true) }).meta({ id: 'GatewayCallRecorded' });

export const recordGatewayCallRoute: Route = {
  method: 'post',
  path: '/v1/gateway/calls',
  scope: 'approvals:write',
  contract: {
    operationId: 'recordGatewayCall',
    summary: 'Record an allowed tool call the MCP gateway forwarded',
    request: { body: { required: true, content: { 'application/json': { schema: recordGatewayCallBody } } } },
    responses: {
      201: { description: 'In the audit chain', content: { 'application/json': { schema: recordedSchema } } },
      415: problemResponse('Body is not application/json'),
      422: problemResponse('Body breaks the schema'),
    },
  },
  handlers(ctx) {
    return [
      jsonBody({ required: true }),
      async (req, res) => {
        const input = parseInput(recordGatewayCallBody, req.body, 'body');
        await recordForwardedCall(ctx.deps, principalOf(res).clientId, input);
        res.status(201).json({ recorded: true });
      },
    ];
  },
};
