// POST /v1/policy/proposals — propose a new policy (scope admin). It becomes a `policy.change`
// approval request for the policy's `policy-admins` group; approval makes it the version in force.
import { z } from 'zod';
import { proposePolicy } from '../../approvals/policy/propose-policy.ts';
import { principalOf } from '../auth.ts';
import { approvalSchema } from '../../approvals/view/approval.ts';
import { limitedText } from '../contracts/limited-text.ts';
import { presentWithReceipt } from '../../approvals/view/present-with-receipt.ts';
import { problemResponse } from '../contracts/problem.ts';
import { jsonBody } from '../json-body.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

/** A policy file is YAML text; 48 KiB leaves room for the rest of the 64 KiB body. */
const MAX_POLICY_CHARS = 48 * 1024;

export const proposePolicyBody = z
  .strictObject({
    policy: z
      .string()
      .min(1)
      .max(MAX_POLICY_CHARS)
      .meta({ description: 'the complete new policy file (YAML)' }),
    requester: z
      .strictObject({ email: z.email().max(320), name: z.string().min(1).max(200).optional() })
      .optional()
      .meta({ description: 'who proposes; may be left out when the API key is bound to one requester' }),
    reason: limitedText('reason').optional(),
  })
  .meta({ id: 'ProposePolicy' });

export const policyProposalSchema = z
  .object({
    proposal: z.object({
      id: z.uuid(),
      baseVersion: z.number().int(),
      digest: z.string(),
      diff: z.string(),
      proposer: z.string(),
    }),
    approval: approvalSchema,
  })
  .meta({ id: 'PolicyProposal' });

export const proposePolicyRoute: Route = {
  method: 'post',
  path: '/v1/policy/proposals',
  scope: 'admin',
  contract: {
    operationId: 'proposePolicy',
    summary: 'Propose a policy change (a policy.change approval request for policy-admins)',
    request: { body: { required: true, content: { 'application/json': { schema: proposePolicyBody } } } },
    responses: {
      201: {
        description: 'Proposed: the approval request that decides it',
        content: { 'application/json': { schema: policyProposalSchema } },
      },
      400: problemResponse('Malformed JSON'),
      415: problemResponse('Body is not application/json'),
      422: problemResponse(
        'The policy does not validate (every problem with its line), changes nothing, or the policy in force has no policy-admins group',
      ),
    },
  },
  handlers(ctx) {
    return [
      jsonBody({ required: true }),
      async (req, res) => {
        const body = parseInput(proposePolicyBody, req.body, 'body');
        const { proposal, request } = await proposePolicy(ctx.deps, principalOf(res), {
          text: body.policy,
          requester: body.requester,
          reason: body.reason,
        });
        res
          .status(201)
          .location(`/v1/approvals/${request.id}`)
          .json({ proposal, approval: await presentWithReceipt(ctx.deps, request) });
      },
    ];
  },
};
