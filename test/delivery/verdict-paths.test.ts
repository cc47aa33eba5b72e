// Case 5: every path to a verdict enqueues exactly one delivery announcing it — cancelled (API),
// denied (recordDecision), expired (the sweeper) and auto-approved (a policy rule) — and a request
// without a callback URL gets none.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval, type Approval } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import {
  decide,
  deliveryEnv,
  listDeliveries,
  quietPeriod,
  waitForDelivery,
} from '../support/delivery-fixtures.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { pollUntil } from '../support/poll.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `rules:
  - name: reads
    actions: ["*.read"]
    autoApprove: true
    when: { context: /rows, lte: 1000 }
  - name: everything-else
    actions: ["*"]
    approvers: [bob@example.com]
`;

describe('every verdict path enqueues one callback', () => {
  let policy: TempPolicyFile;
  let t: TestServer;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    policy = await writeTempPolicy(POLICY);
    t = await startTestServer({
      env: deliveryEnv({ COUNTERSIGN_POLICY: policy.path, COUNTERSIGN_EXPIRY_SWEEP_MS: '200' }),
    });
    client = await t.createKey('verdict-paths');
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
    await policy?.remove();
  });

  const cancel = async (id: string) => {
    const response = await t.call('POST', `/v1/approvals/${id}/cancel`, { key: client.key, body: {} });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  };
  const get = async (id: string) =>
    (await t.call<Approval>('GET', `/v1/approvals/${id}`, { key: client.key })).body;

  it('sends cancelled, denied, expired and auto-approved verdicts once each; none without a callback URL', async () => {
    const hook = (verdict: string) => ({ callbackUrl: receiver.urlFor(`/hooks/${verdict}`) });

    const cancelled = await createApproval(t, client.key, hook('cancelled'));
    await cancel(cancelled.id);

    const denied = await createApproval(t, client.key, hook('denied'));
    expect((await decide(t.server.db, denied.id, 'deny')).verdict).toBe('denied');

    const expired = await createApproval(t, client.key, { ...hook('expired'), expiresIn: 1 });

    const autoApproved = await createApproval(t, client.key, {
      action: 'db.read',
      context: { rows: 1 },
      ...hook('approved'),
    });
    expect(autoApproved.status).toBe('approved');

    // Verdicts without a callback URL: cancelled, denied, auto-approved, expired.
    const silent = [
      await createApproval(t, client.key, {}),
      await createApproval(t, client.key, {}),
      await createApproval(t, client.key, { action: 'db.read', context: { rows: 1 } }),
      await createApproval(t, client.key, { expiresIn: 1 }),
    ];
    await cancel(silent[0]!.id);
    await decide(t.server.db, silent[1]!.id, 'deny');

    const expectations = [
      [cancelled.id, 'cancelled'],
      [denied.id, 'denied'],
      [expired.id, 'expired'],
      [autoApproved.id, 'approved'],
    ] as const;
    for (const [id, verdict] of expectations) {
      const delivery = await waitForDelivery(t, client.key, id, (d) => d.status === 'succeeded');
      expect(delivery).toMatchObject({ verdict, url: receiver.urlFor(`/hooks/${verdict}`), attemptCount: 1 });
      const calls = receiver.forDelivery(delivery.id);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.path).toBe(`/hooks/${verdict}`);
      expect(calls[0]?.signature.valid).toBe(true);
      expect(calls[0]?.body).toEqual({ type: 'approval.decided', approval: await get(id) });
      expect(calls[0]?.body).toMatchObject({ approval: { id, status: verdict } });
    }

    await pollUntil(
      () => get(silent[3]!.id),
      (a) => a.status === 'expired',
      { what: 'the silent request to expire' },
    );
    await quietPeriod();
    expect(receiver.received()).toHaveLength(4);
    for (const request of silent) {
      expect((await get(request.id)).status).not.toBe('pending');
      expect(await listDeliveries(t, client.key, request.id)).toEqual([]);
    }
    expect(await t.server.db.prisma.callbackDelivery.count()).toBe(4);
  });
});
