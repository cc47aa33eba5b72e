// Secrets outside context (issue 12): credentials in title, reason and cancel reasons are masked
// before they are stored; a callbackUrl's query string is redacted wherever it is shown while the
// full URL is delivered; the Idempotency-Key never reaches the logs.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval, withPgClient, type Approval } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { deliveryEnv, listDeliveries, waitForDelivery } from '../support/delivery-fixtures.ts';
import { capturingLogger, type CapturedLog } from '../support/logging.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const GLPAT = 'glpat-AbCdEf0123456789xYz_';
const BEARER = 'abc123def456ghi789jkl';
const HOOK_TOKEN = 'hooktok-7c1e9a55d0b24f38';
const IDEMPOTENCY_KEY = 'ci-run-token-0f6c2a9e81b7';
const CANCEL_SECRET = 'xapp-1-A0ABCDEFGH1-1234567890123-abcdef0123456789abcdef';

/** Every text column of every row of these tables, as one string. */
async function storedText(t: TestServer, tables: string[]): Promise<string> {
  return withPgClient(t.database.url, async (client) => {
    const parts: string[] = [];
    for (const table of tables) {
      const { rows } = await client.query<{ row: string }>(`SELECT r::text AS row FROM ${table} r`);
      parts.push(...rows.map((r) => r.row));
    }
    return parts.join('\n');
  });
}

describe('secrets in free text, callback URLs and idempotency keys', () => {
  let t: TestServer;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver;
  let captured: CapturedLog;
  let created: Approval;
  let hookUrl: string;

  beforeAll(async () => {
    captured = capturingLogger('info');
    t = await startTestServer({ env: deliveryEnv(), log: captured.log });
    client = await t.createKey('secrets');
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
    hookUrl = receiver.urlFor(`/hooks/done?token=${HOOK_TOKEN}&build=7`);
    created = await createApproval(
      t,
      client.key,
      {
        title: `Rotate ${GLPAT} today`,
        reason: `curl -H "Authorization: Bearer ${BEARER}" fails`,
        callbackUrl: hookUrl,
      },
      { headers: { 'idempotency-key': IDEMPOTENCY_KEY } },
    );
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  it('masks credentials in title and reason, in the response and in what is stored', async () => {
    expect(created.title).toBe('Rotate ••••xYz_ today');
    expect(created.reason).toBe('curl -H "Authorization: Bearer ••••9jkl" fails');
    const stored = await storedText(t, ['approval_requests', 'audit_events']);
    expect(stored).not.toContain(GLPAT);
    expect(stored).not.toContain(BEARER);
  });

  it('shows the callback URL with its query values redacted, on create, read and list', async () => {
    const shown = receiver.urlFor('/hooks/done?token=••••&build=••••');
    expect(created.callbackUrl).toBe(shown);
    const read = await t.call<Approval>('GET', `/v1/approvals/${created.id}`, { key: client.key });
    expect(read.body.callbackUrl).toBe(shown);
    const list = await t.call<{ items: Approval[] }>('GET', '/v1/approvals', { key: client.key });
    expect(list.body.items.find((a) => a.id === created.id)?.callbackUrl).toBe(shown);
  });

  it('masks a cancel reason in its audit event, and delivers to the full URL stored once', async () => {
    const cancelled = await t.call<Approval>('POST', `/v1/approvals/${created.id}/cancel`, {
      key: client.key,
      body: { reason: `leaked ${CANCEL_SECRET}` },
    });
    expect(cancelled.status).toBe(200);
    const [callback] = await receiver.waitForCount(1);
    expect(callback?.path).toBe(`/hooks/done?token=${HOOK_TOKEN}&build=7`);
    expect(callback?.signature.valid).toBe(true);
    // The callback body carries the redacted form, like the API.
    expect(JSON.stringify(callback?.body)).not.toContain(HOOK_TOKEN);

    await waitForDelivery(t, client.key, created.id, (d) => d.status === 'succeeded');
    const [delivery] = await listDeliveries(t, client.key, created.id);
    expect(delivery?.url).toBe(receiver.urlFor('/hooks/done?token=••••&build=••••'));

    const stored = await storedText(t, ['audit_events', 'callback_deliveries', 'callback_attempts']);
    expect(stored).not.toContain(CANCEL_SECRET);
    expect(stored).not.toContain(HOOK_TOKEN);
    // The one full copy, which the delivery reads.
    const requestRow = await storedText(t, ['approval_requests']);
    expect(requestRow.split(HOOK_TOKEN)).toHaveLength(2);
  });

  it('never logs the Idempotency-Key or the callback token', async () => {
    await vi.waitFor(() => expect(captured.text()).toContain('idempotency-key'));
    const text = captured.text();
    expect(text).not.toContain(IDEMPOTENCY_KEY);
    expect(text).not.toContain(HOOK_TOKEN);
    expect(text).not.toContain(GLPAT);
    expect(text).toContain('"idempotency-key":"[redacted]"');
  });
});
