// Verdict callbacks verify with the official `standardwebhooks` package: webhook-id is the
// delivery id on every attempt (a retry carries the same id), webhook-timestamp the attempt's
// second, and webhook-signature checks out with the `whsec_` secret `keys create` returns, and
// with no other. Countersign-Signature still comes along.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { decide, deliveryEnv, quietPeriod, waitForDelivery } from '../support/delivery-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/** The headers as a receiver's framework hands them over: plain strings. */
function stringHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value]] : [])),
  );
}

describe('Standard Webhooks headers on verdict callbacks', () => {
  let t: TestServer;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    t = await startTestServer({ env: deliveryEnv({ COUNTERSIGN_CALLBACK_RETRY_LIMIT: '3' }) });
    client = await t.createKey('standard-webhooks');
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

  it('every attempt of a retried delivery verifies with the standardwebhooks package under one webhook-id', async () => {
    receiver.script(500, 200);
    const created = await createApproval(t, client.key, { callbackUrl: receiver.urlFor() });
    expect((await decide(t.server.db, created.id, 'approve')).verdict).toBe('approved');

    const delivery = await waitForDelivery(t, client.key, created.id, (d) => d.status === 'succeeded');
    await quietPeriod();
    const received = receiver.received();
    expect(received.map((r) => r.answer)).toEqual([500, 200]);

    const webhook = new Webhook(client.webhookSecret);
    for (const call of received) {
      const headers = stringHeaders(call.headers);
      expect(headers['webhook-id']).toBe(delivery.id);
      expect(headers['webhook-timestamp']).toMatch(/^\d+$/);
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      // The timestamp is the attempt's own second, not the delivery's creation.
      const sentAt = Number(headers['webhook-timestamp']) * 1000;
      expect(Math.abs(sentAt - call.receivedAt.getTime())).toBeLessThan(5_000);
      expect(webhook.verify(call.rawBody, headers)).toEqual(call.body);
      expect(call.body).toMatchObject({ type: 'approval.decided', approval: { id: created.id } });
      // The existing signature stays beside the new headers.
      expect(call.signature, call.signatureHeader).toMatchObject({ valid: true });
    }
    const timestamps = received.map((r) => Number(r.headers['webhook-timestamp']));
    expect([...timestamps].sort((a, b) => a - b)).toEqual(timestamps);
  });

  it("refuses a changed body, another id, and another client's secret", async () => {
    const created = await createApproval(t, client.key, { callbackUrl: receiver.urlFor() });
    expect((await decide(t.server.db, created.id, 'deny')).verdict).toBe('denied');
    const [call] = await receiver.waitForCount(1);
    if (!call) throw new Error('unreachable');
    const headers = stringHeaders(call.headers);
    const webhook = new Webhook(client.webhookSecret);
    expect(webhook.verify(call.rawBody, headers)).toMatchObject({ approval: { status: 'denied' } });

    expect(() => webhook.verify(call.rawBody.replace('denied', 'approved'), headers)).toThrow(
      WebhookVerificationError,
    );
    expect(() =>
      webhook.verify(call.rawBody, { ...headers, 'webhook-id': '00000000-0000-4000-8000-000000000000' }),
    ).toThrow(WebhookVerificationError);
    const other = await t.createKey('someone-else');
    expect(other.webhookSecret).not.toBe(client.webhookSecret);
    expect(() => new Webhook(other.webhookSecret).verify(call.rawBody, headers)).toThrow(
      WebhookVerificationError,
    );
  });
});
