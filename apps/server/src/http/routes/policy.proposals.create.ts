// POST /v1/policy/proposals — propose a new policy (scope admin). It becomes a `policy.change`
// approval request for the policy's `policy-admins` group; approval makes it the version in force.
import { proposePolicy } from '../../approvals/policy/propose-policy.ts';
import { principalOf } from '../auth.ts';
import { policyProposalSchema, proposePolicyBody } from '../contracts/policy-proposal.ts';
import { presentWithReceipt } from '../../approvals/view/present-with-receipt.ts';
import { problemResponse } from '../contracts/problem.ts';
import { jsonBody } from '../json-body.ts';
import type { Route } from '../route.ts';
import { parseInput } from '../validate.ts';

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
