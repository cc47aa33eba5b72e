// Case 1: an approved request with a callback URL is POSTed exactly once to a receiver that checks
// the signature with the client's callback secret; the body is the GET representation (receipt
// included) and the Countersign-Delivery header is the delivery listed by the API.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCallbackSignature } from '../../apps/server/src/delivery/callback-signature.ts';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval, expectProblem, type Approval } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import {
  decide,
  deliveryEnv,
  listDeliveries,
  quietPeriod,
  waitForDelivery,
} from '../support/delivery-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe('verdict callback on approval', () => {
  let t: TestServer;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    t = await startTestServer({ env: deliveryEnv() });
    client = await t.createKey('callback-client');
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  it('POSTs one signed callback whose body is the GET representation, under the listed delivery id', async () => {
    const url = receiver.urlFor('/hooks/approved?pipeline=42');
    const created = await createApproval(t, client.key, { callbackUrl: url });
    expect(await listDeliveries(t, client.key, created.id)).toEqual([]); // nothing before the verdict
    const decided = await decide(t.server.db, created.id, 'approve');
    expect(decided.verdict).toBe('approved');

    const delivery = await waitForDelivery(t, client.key, created.id, (d) => d.status !== 'pending');
    await receiver.waitForCount(1);
    await quietPeriod();
    const received = receiver.received();
    expect(received).toHaveLength(1);
    const [call] = received;
    if (!call) throw new Error('unreachable');

    expect(call.method).toBe('POST');
    expect(call.path).toBe('/hooks/approved?pipeline=42');
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.signature, call.signatureHeader).toEqual({
      valid: true,
      timestamp: expect.any(Number) as number,
    });
    // The signature is bound to the client's secret: another secret does not verify it.
    expect(
      verifyCallbackSignature({
        rawBody: call.rawBody,
        header: call.signatureHeader,
        secret: 'other',
      }),
    ).toMatchObject({ valid: false });

    const get = await t.call<Approval>('GET', `/v1/approvals/${created.id}`, { key: client.key });
    expect(get.status).toBe(200);
    // The full URL went out (call.path above); everywhere it is shown, its query values are masked.
    const shown = receiver.urlFor('/hooks/approved?pipeline=••••');
    expect(get.body).toMatchObject({ id: created.id, status: 'approved', callbackUrl: shown });
    expect(get.body.receipt).toEqual(expect.any(String));
    expect(call.body).toEqual({ type: 'approval.decided', approval: get.body });

    expect(call.deliveryId).toBe(delivery.id);
    expect(delivery).toMatchObject({
      url: shown,
      verdict: 'approved',
      status: 'succeeded',
      attemptCount: 1,
      lastError: null,
      completedAt: expect.any(String) as string,
    });
    expect(delivery.attempts).toEqual([
      {
        at: expect.any(String) as string,
        statusCode: 200,
        error: null,
        durationMs: expect.any(Number) as number,
      },
    ]);
    expect(delivery.attempts[0]?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("hides a request's deliveries from other clients and refuses unknown requests", async () => {
    const created = await createApproval(t, client.key, { callbackUrl: receiver.urlFor('/hooks/other') });
    const other = await t.createKey('someone-else');
    const foreign = await t.call('GET', `/v1/approvals/${created.id}/deliveries`, { key: other.key });
    expectProblem(foreign, 'NOT_FOUND');
    const unknown = await t.call('GET', `/v1/approvals/${randomUUID()}/deliveries`, { key: client.key });
    expectProblem(unknown, 'NOT_FOUND');
  });
});
