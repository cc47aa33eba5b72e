// Verdict callbacks verify with the official `standardwebhooks` package: webhook-id is the
// delivery id on every attempt (a retry carries the same id), webhook-timestamp the attempt's
// second, and webhook-signature checks out with the `whsec_` secret `keys create` returns, and
// with no other. Beside `v1` each carries `v1a`, Ed25519 with the receipt key, which node:crypto
// verifies with the public key GET /v1/keys/receipt publishes. Countersign-Signature still comes along.
import { createPublicKey, generateKeyPairSync, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
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

/** The receipt key's public half, as any receiver gets it: from the published JWKS. */
async function publishedReceiptKey(t: TestServer): Promise<KeyObject> {
  const jwks = (await t.call('GET', '/v1/keys/receipt')).body as { keys: JsonWebKey[] };
  const [jwk, ...more] = jwks.keys;
  if (!jwk || more.length > 0) throw new Error(`expected one receipt key, got ${jwks.keys.length}`);
  return createPublicKey({ key: jwk, format: 'jwk' });
}

/** Whether the `v1a,` signature in `header` is Ed25519 by `key` over `id.timestamp.body`. */
function v1aVerifies(key: KeyObject, headers: Record<string, string>, rawBody: string): boolean {
  const v1a = (headers['webhook-signature'] ?? '').split(' ').find((part) => part.startsWith('v1a,'));
  if (!v1a) return false;
  const content = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${rawBody}`;
  return verify(null, Buffer.from(content), key, Buffer.from(v1a.slice('v1a,'.length), 'base64'));
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
    const receiptKey = await publishedReceiptKey(t);
    for (const call of received) {
      const headers = stringHeaders(call.headers);
      expect(headers['webhook-id']).toBe(delivery.id);
      expect(headers['webhook-timestamp']).toMatch(/^\d+$/);
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1a,[A-Za-z0-9+/]{86}==$/);
      expect(v1aVerifies(receiptKey, headers, call.rawBody)).toBe(true);
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

    // v1a: the published receipt key verifies it, not for a changed body or id, and no other key does.
    const receiptKey = await publishedReceiptKey(t);
    expect(v1aVerifies(receiptKey, headers, call.rawBody)).toBe(true);
    expect(v1aVerifies(receiptKey, headers, call.rawBody.replace('denied', 'approved'))).toBe(false);
    expect(v1aVerifies(receiptKey, { ...headers, 'webhook-id': 'another' }, call.rawBody)).toBe(false);
    const stranger = createPublicKey(generateKeyPairSync('ed25519').privateKey);
    expect(v1aVerifies(stranger, headers, call.rawBody)).toBe(false);
  });
});
