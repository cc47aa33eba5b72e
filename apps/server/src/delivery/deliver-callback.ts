// One delivery attempt of a verdict callback, run by the job queue. Every attempt is recorded
// (time, status code or error, duration). 2xx ends the delivery as succeeded and 410 Gone as gone;
// anything else throws so the queue retries with backoff, until the last attempt marks it failed.
import { z } from 'zod';
import { retryWhileDatabaseUnavailable } from '../db/database-outage.ts';
import type { Deps } from '../deps.ts';
import { presentView } from '../approvals/view/present-with-receipt.ts';
import { deriveWebhookSecret } from '../keys/key-material.ts';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signCallback } from './callback-signature.ts';
import { readDeliveryToAttempt, recordDeliveryAttempt } from './delivery-store.ts';
import { postCallback } from './post-callback.ts';
import { standardWebhookHeaders } from './standard-webhooks.ts';

export type AttemptOutcome = 'succeeded' | 'gone' | 'retry' | 'failed' | 'skipped';

const deliveryColumns = z.object({
  delivery_id: z.string(),
  delivery_status: z.string(),
  callback_secret: z.string(),
});

export class RetryableDeliveryError extends Error {
  override name = 'RetryableDeliveryError';
}

export interface AttemptInput {
  deliveryId: string;
  /** True on the queue's last try: a failure then ends the delivery as failed. */
  isLastAttempt: boolean;
  /**
   * performance.now() instant until which the attempt's record is retried while the database is
   * away: the POST already happened, and running the job again would send it a second time.
   */
  recordDeadline?: number;
}

export async function attemptDelivery(
  deps: Pick<Deps, 'db' | 'clock' | 'log' | 'receipts' | 'callbacks'>,
  input: AttemptInput,
): Promise<AttemptOutcome> {
  // The delivery, its client's secret, and the request with its chain record in one statement.
  const read = await readDeliveryToAttempt(deps.db, input.deliveryId);
  const delivery = read ? deliveryColumns.parse(read.row) : null;
  // Finished already (a retry of a job whose attempt succeeded, or a delivery re-sent by hand).
  if (!read || !delivery || delivery.delivery_status !== 'pending') return 'skipped';

  const { request } = read.view;
  const client = { callbackSecret: delivery.callback_secret };
  // The full URL lives on the request only; the delivery row holds the redacted form.
  if (!request.callbackUrl) return 'skipped';
  const body = JSON.stringify({
    type: 'approval.decided',
    approval: await presentView(deps, read.view),
  });
  const attemptedAt = deps.clock.now();
  const started = performance.now();
  const result = await postCallback({
    url: request.callbackUrl,
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Countersign-Callback/1',
      [SIGNATURE_HEADER]: signCallback(client.callbackSecret, body, attemptedAt),
      [DELIVERY_HEADER]: delivery.delivery_id,
      ...standardWebhookHeaders({
        id: delivery.delivery_id,
        secret: deriveWebhookSecret(client.callbackSecret),
        body,
        now: attemptedAt,
        signAsymmetric: (content) => deps.receipts.signWebhook(content),
      }),
    },
    timeoutMs: deps.callbacks.timeoutMs,
    allow: deps.callbacks.allow,
    lookupAll: deps.callbacks.lookupAll,
  });
  const durationMs = Math.round(performance.now() - started);

  const statusCode = 'statusCode' in result ? result.statusCode : null;
  const error =
    'error' in result
      ? result.error
      : statusCode && (statusCode < 200 || statusCode >= 300)
        ? `HTTP ${statusCode}`
        : null;
  const outcome: AttemptOutcome =
    statusCode !== null && statusCode >= 200 && statusCode < 300
      ? 'succeeded'
      : statusCode === 410
        ? 'gone'
        : input.isLastAttempt
          ? 'failed'
          : 'retry';

  // The attempt and the delivery's new state in one statement (delivery-store.ts).
  const finished = outcome === 'retry' ? null : outcome;
  const record = () =>
    recordDeliveryAttempt(deps.db, {
      deliveryId: delivery.delivery_id,
      attemptedAt,
      statusCode,
      error,
      durationMs,
      finished,
      completedAt: deps.clock.now(),
    });
  await retryWhileDatabaseUnavailable(record, {
    deadline: input.recordDeadline ?? performance.now(),
    onRetry: (_error, delayMs) =>
      deps.log.warn(
        { deliveryId: delivery.delivery_id, delayMs },
        'database unavailable: callback attempt not yet recorded',
      ),
  });
  deps.log.info(
    { deliveryId: delivery.delivery_id, requestId: request.id, statusCode, error, durationMs, outcome },
    'callback attempt',
  );
  if (outcome === 'retry')
    throw new RetryableDeliveryError(`callback attempt failed: ${error ?? 'unknown error'}`);
  return outcome;
}
