// The body of POST /v1/policy/proposals and its answer: plain zod, so the CLI's API client can
// share them without loading the route (express) or the use case behind it.
import { z } from 'zod';
import { approvalSchema } from '../../approvals/view/approval.ts';
import { limitedText } from './limited-text.ts';

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
