// Cases 2 and 3: a callback answered with 500, 500 and a hang past the timeout is retried until it
// succeeds, every attempt recorded under one delivery id; 410 Gone stops retrying, and the retry
// endpoint sends a gone delivery again (but not a succeeded one, nor an unknown one).
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval, expectProblem } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { deliveryEnv, quietPeriod, waitForDelivery, type Delivery } from '../support/delivery-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe('callback retries', () => {
  let t: TestServer;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    t = await startTestServer({ env: deliveryEnv({ COUNTERSIGN_CALLBACK_RETRY_LIMIT: '3' }) });
    client = await t.createKey('retry-client');
  });
  beforeEach(async () => {
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
  });
  afterEach(async () => {
    await receiver?.close();
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Creates a request calling back to the receiver and cancels it through the API. */
  async function cancelledWithCallback(): Promise<string> {
    const created = await createApproval(t, client.key, { callbackUrl: receiver.urlFor() });
    const cancel = await t.call('POST', `/v1/approvals/${created.id}/cancel`, { key: client.key, body: {} });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    return created.id;
  }

  const retry = (requestId: string, deliveryId: string) =>
    t.call<Delivery>('POST', `/v1/approvals/${requestId}/deliveries/${deliveryId}/retry`, {
      key: client.key,
    });

  it('retries after 500, 500 and a timeout, then succeeds; every attempt is recorded under one delivery id', async () => {
    receiver.script(500, 500, 'hang', 200);
    const id = await cancelledWithCallback();

    const delivery = await waitForDelivery(t, client.key, id, (d) => d.status === 'succeeded', {
      timeoutMs: 60_000,
    });
    await quietPeriod();
    expect(delivery).toMatchObject({ verdict: 'cancelled', attemptCount: 4, lastError: null });
    expect(delivery.attempts.map((a) => a.statusCode)).toEqual([500, 500, null, 200]);
    expect(delivery.attempts.map((a) => a.error)).toEqual([
      'HTTP 500',
      'HTTP 500',
      expect.stringMatching(/timed out/) as string,
      null,
    ]);
    const times = delivery.attempts.map((a) => Date.parse(a.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(delivery.attempts.every((a) => Number.isInteger(a.durationMs) && a.durationMs >= 0)).toBe(true);

    const received = receiver.received();
    expect(received.map((r) => r.answer)).toEqual([500, 500, 'hang', 200]);
    expect(new Set(received.map((r) => r.deliveryId))).toEqual(new Set([delivery.id]));
    for (const r of received) expect(r.signature, r.signatureHeader).toMatchObject({ valid: true });
    // Each attempt carries the same announcement.
    expect(new Set(received.map((r) => r.rawBody)).size).toBe(1);
    expect(received[0]?.body).toMatchObject({
      type: 'approval.decided',
      approval: { id, status: 'cancelled' },
    });
  });

  it('stops at 410 Gone; the retry endpoint sends it again under the same id, and only when retryable', async () => {
    receiver.script(410);
    const id = await cancelledWithCallback();

    const gone = await waitForDelivery(t, client.key, id, (d) => d.status !== 'pending');
    expect(gone).toMatchObject({ status: 'gone', attemptCount: 1, lastError: 'HTTP 410' });
    expect(gone.attempts).toEqual([
      {
        at: expect.any(String) as string,
        statusCode: 410,
        error: 'HTTP 410',
        durationMs: expect.any(Number) as number,
      },
    ]);
    await quietPeriod(6); // past the first retry delay: nothing more is sent
    expect(receiver.received()).toHaveLength(1);
    expect((await waitForDelivery(t, client.key, id, () => true)).attemptCount).toBe(1);

    const requeued = await retry(id, gone.id);
    expect(requeued.status, JSON.stringify(requeued.body)).toBe(202);
    expect(requeued.body).toMatchObject({
      id: gone.id,
      status: 'pending',
      completedAt: null,
      attemptCount: 1,
    });

    const delivered = await waitForDelivery(t, client.key, id, (d) => d.status === 'succeeded');
    expect(delivered.id).toBe(gone.id);
    expect(delivered.attempts.map((a) => a.statusCode)).toEqual([410, 200]);
    const received = receiver.received();
    expect(received.map((r) => r.answer)).toEqual([410, 200]);
    expect(received.map((r) => r.deliveryId)).toEqual([gone.id, gone.id]);
    expect(received.every((r) => r.signature.valid)).toBe(true);

    expectProblem(await retry(id, gone.id), 'DELIVERY_NOT_RETRYABLE');
    expectProblem(await retry(id, randomUUID()), 'NOT_FOUND');
    expectProblem(await retry(id, 'not-a-uuid'), 'NOT_FOUND');
    expectProblem(await retry(randomUUID(), gone.id), 'NOT_FOUND');
    // A delivery id is only found under its own request.
    const otherRequest = await createApproval(t, client.key, {});
    expectProblem(await retry(otherRequest.id, gone.id), 'NOT_FOUND');
    const stranger = await t.createKey('stranger');
    const foreign = await t.call('POST', `/v1/approvals/${id}/deliveries/${gone.id}/retry`, {
      key: stranger.key,
    });
    expectProblem(foreign, 'NOT_FOUND');

    await quietPeriod();
    expect(receiver.received()).toHaveLength(2);
  });
});
