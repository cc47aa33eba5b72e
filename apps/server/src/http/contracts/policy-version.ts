// The answers of GET /v1/policy/versions and GET /v1/policy/versions/{version}: plain zod, so the
// CLI's API client can share them without loading the routes.
import { z } from 'zod';
import type {
  PolicyVersionDetail,
  PolicyVersionSummary,
} from '../../approvals/policy/list-policy-versions.ts';

export const policyVersionSummarySchema = z
  .object({
    version: z.number().int(),
    digest: z.string().meta({ description: '`sha256:` + hex of the policy text' }),
    source: z.string().meta({ description: 'the adopted file, or `proposal <id>`' }),
    kind: z.enum(['adopted', 'changed']).meta({
      description: '`adopted`: the file a first start took; `changed`: an approved proposal',
    }),
    at: z.iso.datetime().meta({ description: 'when it was adopted or became the version in force' }),
    proposalId: z.uuid().nullable(),
    proposer: z.string().nullable().meta({ description: 'who proposed it; null for an adopted file' }),
    approvers: z
      .array(z.string())
      .meta({ description: 'whose approvals made it the version in force; empty for an adopted file' }),
    adoptedBy: z.string(),
  })
  .meta({ id: 'PolicyVersionSummary' });

export const policyVersionSchema = policyVersionSummarySchema
  .extend({
    text: z.string().meta({ description: 'the policy file, exactly as adopted or proposed' }),
    diff: z.string().meta({ description: 'unified diff from the previous version' }),
  })
  .meta({ id: 'PolicyVersion' });

export const policyVersionListSchema = z
  .object({
    items: z.array(policyVersionSummarySchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'pass as ?cursor= for the next page; null on the last' }),
  })
  .meta({ id: 'PolicyVersionList' });

export type PolicyVersionSummaryBody = z.infer<typeof policyVersionSummarySchema>;
export type PolicyVersionBody = z.infer<typeof policyVersionSchema>;

export function presentPolicyVersionSummary(v: PolicyVersionSummary): PolicyVersionSummaryBody {
  return {
    version: v.version,
    digest: v.digest,
    source: v.source,
    kind: v.kind,
    at: v.createdAt.toISOString(),
    proposalId: v.proposalId,
    proposer: v.proposer,
    approvers: v.approvers,
    adoptedBy: v.adoptedBy,
  };
}

export function presentPolicyVersion(v: PolicyVersionDetail): PolicyVersionBody {
  return { ...presentPolicyVersionSummary(v), text: v.text, diff: v.diff };
}
