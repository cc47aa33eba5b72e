// POST /v1/approvals/{id}/execution — the creating client records that the approved request ran:
// "started" once (a second start is 409 ALREADY_EXECUTED), then "succeeded" or "failed". A start
// may ask for policy secrets; their values are in that answer alone (Cache-Control: no-store).
import { z } from 'zod';
import { recordExecution } from '../../approvals/record-execution.ts';
import { executionSchema, presentExecution, recordExecutionBody } from '../contracts/execution.ts';
import { principalOf } from '../auth.ts';
import { problemResponse } from '../contracts/problem.ts';
import { jsonBody } from '../json-body.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

const params = z.object({ id: z.string().meta({ description: 'approval request id (UUID)' }) });

export const recordExecutionRoute: Route = {
  method: 'post',
  path: '/v1/approvals/{id}/execution',
  scope: 'approvals:write',
  contract: {
    operationId: 'recordApprovalExecution',
    summary: 'Record that an approved request is being executed (once), or how its execution ended',
    request: {
      params,
      body: { required: true, content: { 'application/json': { schema: recordExecutionBody } } },
    },
    responses: {
      201: { description: 'Execution started', content: { 'application/json': { schema: executionSchema } } },
      200: { description: 'Outcome recorded', content: { 'application/json': { schema: executionSchema } } },
      404: problemResponse('No such request for this client'),
      403: problemResponse("SECRET_NOT_ALLOWED: a secret the request's rule does not list"),
      409: problemResponse(
        'EXECUTION_NOT_APPROVED, ALREADY_EXECUTED (a second start), EXECUTION_NOT_STARTED or EXECUTION_FINISHED',
      ),
      415: problemResponse('Body is not application/json'),
      422: problemResponse('Body breaks the schema, or PAYLOAD_DIGEST_MISMATCH'),
      503: problemResponse('SECRET_UNAVAILABLE: a listed secret cannot be read on the server'),
    },
  },
  handlers(ctx) {
    return [
      jsonBody({ required: true }),
      async (req, res) => {
        const body = parseInput(recordExecutionBody, req.body, 'body');
        const { execution, secretEnv } = await recordExecution(ctx.deps, principalOf(res).clientId, {
          requestId: String(req.params.id),
          ...body,
        });
        res.setHeader('Cache-Control', 'no-store');
        res.status(body.outcome === 'started' ? 201 : 200).json(presentExecution(execution, secretEnv));
      },
    ];
  },
};
