// GET /v1/audit/verify — recompute the audit hash chain (scope audit:read).
import { z } from 'zod';
import { verifyChain } from '../../audit/verify-chain.ts';
import type { Route } from '../route.ts';

const verifySchema = z
  .discriminatedUnion('intact', [
    z.object({
      intact: z.literal(true),
      events: z.number().int(),
      firstSeq: z.string().nullable(),
      lastSeq: z.string().nullable(),
      lastHash: z.string(),
    }),
    z.object({
      intact: z.literal(false),
      events: z.number().int().meta({ description: 'events verified before the first bad one' }),
      firstBadSeq: z.string(),
      problem: z.enum(['hash_mismatch', 'broken_link', 'sequence_gap', 'head_mismatch', 'request_mismatch']),
      detail: z.string(),
      requestId: z.string().optional().meta({
        description: 'with request_mismatch: the request whose stored rows disagree with the chain',
      }),
    }),
  ])
  .meta({ id: 'AuditVerification' });

export const verifyAuditRoute: Route = {
  method: 'get',
  path: '/v1/audit/verify',
  scope: 'audit:read',
  contract: {
    operationId: 'verifyAuditChain',
    summary: 'Verify the tamper-evident audit chain',
    responses: {
      200: { description: 'Verification result', content: { 'application/json': { schema: verifySchema } } },
    },
  },
  handlers(ctx) {
    return [
      async (_req, res) => {
        res.json(verifySchema.parse(await verifyChain(ctx.deps.db)));
      },
    ];
  },
};
