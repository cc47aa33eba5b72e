// Callback workers wake when a job is sent: the verdict's transaction NOTIFYs the queue at commit,
// so with a poll interval far longer than the test each callback still arrives. The workers' only
// poll happened at start-up, before any job existed; nothing but the wake-up can find these jobs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { decide, deliveryEnv } from '../support/delivery-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/** Ten minutes between polls: longer than the test may run. */
const LONG_POLL_S = '600';

describe('job workers woken by NOTIFY', () => {
  let t: TestServer;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    t = await startTestServer({ env: deliveryEnv({ COUNTERSIGN_JOB_POLL_S: LONG_POLL_S }) });
    client = await t.createKey('wake-client');
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  it('delivers each verdict callback long before the next poll, one after another', async () => {
    for (const round of [1, 2, 3]) {
      const created = await createApproval(t, client.key, {
        callbackUrl: receiver.urlFor(`/hooks/${round}`),
      });
      const decided = await decide(t.server.db, created.id, 'approve');
      expect(decided.verdict).toBe('approved');
      const received = await receiver.waitForCount(round, { timeoutMs: 30_000, intervalMs: 20 });
      expect(received.at(-1)).toMatchObject({ path: `/hooks/${round}`, signature: { valid: true } });
      expect((received.at(-1)?.body as { approval: { id: string } }).approval.id).toBe(created.id);
    }
    expect(new Set(receiver.received().map((r) => r.deliveryId)).size).toBe(3);
  });
});
