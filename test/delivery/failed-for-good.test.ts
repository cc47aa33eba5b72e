// Case 4: with a retry limit of 1, a receiver that always answers 500 gets two attempts and the
// delivery ends as failed; the retry endpoint queues it again and it is then delivered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval, expectProblem } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { deliveryEnv, quietPeriod, waitForDelivery, type Delivery } from '../support/delivery-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe('a delivery that fails for good', () => {
  let t: TestServer;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    t = await startTestServer({ env: deliveryEnv({ COUNTERSIGN_CALLBACK_RETRY_LIMIT: '1' }) });
    client = await t.createKey('failing-client');
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  it('ends as failed after the last retry, and the retry endpoint sends it again', async () => {
    receiver.setFallback(500);
    const created = await createApproval(t, client.key, { callbackUrl: receiver.urlFor() });
    const cancel = await t.call('POST', `/v1/approvals/${created.id}/cancel`, { key: client.key, body: {} });
    expect(cancel.status).toBe(200);

    const failed = await waitForDelivery(t, client.key, created.id, (d) => d.status === 'failed');
    expect(failed).toMatchObject({
      verdict: 'cancelled',
      attemptCount: 2,
      lastError: 'HTTP 500',
      completedAt: expect.any(String) as string,
    });
    expect(failed.attempts.map((a) => [a.statusCode, a.error])).toEqual([
      [500, 'HTTP 500'],
      [500, 'HTTP 500'],
    ]);
    await quietPeriod(6); // no third attempt
    expect(receiver.received()).toHaveLength(2);

    receiver.setFallback(200);
    const path = `/v1/approvals/${created.id}/deliveries/${failed.id}/retry`;
    const requeued = await t.call<Delivery>('POST', path, { key: client.key });
    expect(requeued.status, JSON.stringify(requeued.body)).toBe(202);
    expect(requeued.body).toMatchObject({ id: failed.id, status: 'pending', completedAt: null });

    const delivered = await waitForDelivery(t, client.key, created.id, (d) => d.status === 'succeeded');
    expect(delivered).toMatchObject({ id: failed.id, attemptCount: 3, lastError: null });
    expect(delivered.attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    const received = receiver.received();
    expect(received.map((r) => r.answer)).toEqual([500, 500, 200]);
    expect(received.map((r) => r.deliveryId)).toEqual([failed.id, failed.id, failed.id]);
    expect(received.every((r) => r.signature.valid)).toBe(true);

    // Succeeded now: not retryable. A read-only key may not retry at all.
    expectProblem(await t.call('POST', path, { key: client.key }), 'DELIVERY_NOT_RETRYABLE');
  });
});
