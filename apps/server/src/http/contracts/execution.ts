// The execution record as POST /v1/approvals/{id}/execution takes and returns it. Kept apart from
// the route so the CLI can use the contract without loading the server.
import { z } from 'zod';
import { EXECUTION_OUTCOMES } from '../../audit/event-types.ts';
import type { RequestExecution } from '../../generated/prisma/client.ts';

export const recordExecutionBody = z
  .strictObject({
    payloadDigest: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 lower-case hex digits')
      .meta({ description: 'the digest of the unmasked {action, context} the executor runs' }),
    outcome: z.enum(EXECUTION_OUTCOMES).default('started'),
    detail: z.string().max(2000).optional(),
    exitCode: z.number().int().min(-2_147_483_648).max(2_147_483_647).optional(),
  })
  .meta({ id: 'RecordExecution' });

export const executionSchema = z
  .object({
    requestId: z.uuid(),
    outcome: z.enum(EXECUTION_OUTCOMES),
    payloadDigest: z.string(),
    detail: z.string().nullable(),
    exitCode: z.number().int().nullable(),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Execution' });

export type ExecutionRepresentation = z.infer<typeof executionSchema>;

export function presentExecution(execution: RequestExecution): ExecutionRepresentation {
  return {
    requestId: execution.requestId,
    outcome: execution.outcome,
    payloadDigest: execution.payloadDigest,
    detail: execution.detail,
    exitCode: execution.exitCode,
    startedAt: execution.startedAt.toISOString(),
    finishedAt: execution.finishedAt?.toISOString() ?? null,
  };
}
