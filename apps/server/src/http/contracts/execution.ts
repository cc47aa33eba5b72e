// The execution record as POST /v1/approvals/{id}/execution takes and returns it. Kept apart from
// the route so the CLI can use the contract without loading the server.
import { z } from 'zod';
import { EXECUTION_OUTCOMES } from '../../audit/event-types.ts';
import type { RequestExecution } from '../../generated/prisma/client.ts';
import { ENV_NAME_PATTERN } from '../../approvals/exec-binding.ts';

export const recordExecutionBody = z
  .strictObject({
    payloadDigest: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 lower-case hex digits')
      .meta({ description: 'the digest of the unmasked {action, context} the executor runs' }),
    outcome: z.enum(EXECUTION_OUTCOMES).default('started'),
    detail: z.string().max(2000).optional(),
    exitCode: z.number().int().min(-2_147_483_648).max(2_147_483_647).optional(),
    secrets: z
      .array(
        z.strictObject({
          env: z.string().regex(ENV_NAME_PATTERN, 'must be an environment variable name'),
          secret: z.string().regex(/^[\w.-]+$/, 'must be a secret name from the policy'),
        }),
      )
      .max(20)
      .refine((list) => new Set(list.map((s) => s.env)).size === list.length, {
        message: 'each environment variable at most once',
      })
      .optional()
      .meta({
        description:
          'with "started" only: policy secrets the rule lists, returned once in this answer for the run\'s environment',
      }),
  })
  .refine((body) => body.secrets === undefined || body.outcome === 'started', {
    message: 'secrets are handed out only to the start: send them with outcome "started"',
    path: ['secrets'],
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
    /** Names only: "ENV=secret-name". */
    secrets: z.array(z.string()),
    secretEnv: z.record(z.string(), z.string()).optional().meta({
      description:
        'in the answer to a start that asked for secrets, and only there: environment variable → value',
    }),
  })
  .meta({ id: 'Execution' });

export type ExecutionRepresentation = z.infer<typeof executionSchema>;

export function presentExecution(
  execution: RequestExecution,
  secretEnv: Record<string, string> = {},
): ExecutionRepresentation {
  return {
    requestId: execution.requestId,
    outcome: execution.outcome,
    payloadDigest: execution.payloadDigest,
    detail: execution.detail,
    exitCode: execution.exitCode,
    startedAt: execution.startedAt.toISOString(),
    finishedAt: execution.finishedAt?.toISOString() ?? null,
    secrets: execution.secrets,
    ...(Object.keys(secretEnv).length > 0 ? { secretEnv } : {}),
  };
}
