// A callback delivery as the API shows it, with every attempt.
import { z } from 'zod';
import { redactCallbackUrl } from '../../approvals/masking.ts';
import type { DeliveryWithAttempts } from '../../approvals/outbox/list-deliveries.ts';
import { approvalStatusSchema } from '../../approvals/view/approval.ts';

export const deliverySchema = z
  .object({
    id: z
      .uuid()
      .meta({ description: 'also sent as the Countersign-Delivery header, the same on every attempt' }),
    url: z.string(),
    verdict: approvalStatusSchema.meta({ description: 'the verdict this delivery announces' }),
    status: z.enum(['pending', 'succeeded', 'failed', 'gone']),
    attemptCount: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: z.iso.datetime(),
    completedAt: z.iso.datetime().nullable(),
    attempts: z.array(
      z.object({
        at: z.iso.datetime(),
        statusCode: z.number().int().nullable(),
        error: z.string().nullable(),
        durationMs: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'CallbackDelivery' });

export type DeliveryRepresentation = z.infer<typeof deliverySchema>;

export function presentDelivery(delivery: DeliveryWithAttempts): DeliveryRepresentation {
  return {
    id: delivery.id,
    url: redactCallbackUrl(delivery.url),
    verdict: delivery.verdict,
    status: delivery.status,
    attemptCount: delivery.attemptCount,
    lastError: delivery.lastError,
    createdAt: delivery.createdAt.toISOString(),
    completedAt: delivery.completedAt?.toISOString() ?? null,
    attempts: delivery.attempts.map((a) => ({
      at: a.attemptedAt.toISOString(),
      statusCode: a.statusCode,
      error: a.error,
      durationMs: a.durationMs,
    })),
  };
}
