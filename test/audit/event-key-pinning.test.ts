// Checkpoints pin the event keys registered when they were signed. A superuser who registers a key
// of their own and re-signs history with it passes `audit verify` (the key is registered), but
// `audit verify --checkpoints` names the event signed with a key the checkpoint did not pin.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerEventKey } from '../../apps/server/src/audit/chain-store.ts';
import { storedEventInput } from '../../apps/server/src/audit/verify-event-hash.ts';
import { receiptKeyFromPrivateKey } from '../../apps/server/src/receipts/receipt-key.ts';
import { createApproval, withPgClient } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { TEST_EVENT_KEY } from '../support/test-event-key.ts';
import { usingRealPostgres } from '../support/test-database.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe.skipIf(!usingRealPostgres)('event keys pinned in checkpoints', { timeout: 120_000 }, () => {
  let t: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-pinning-'));
    t = await startTestServer();
  });
  afterAll(async () => {
    await killRunningClis();
    await t?.close();
    await t?.database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes the registered event keys as a JWKS, without their private part', async () => {
    const response = await t.call<{ keys: Record<string, unknown>[] }>('GET', '/v1/keys/events');
    expect(response.status).toBe(200);
    expect(response.body.keys).toEqual([
      { ...TEST_EVENT_KEY.publicJwk, kid: TEST_EVENT_KEY.kid, alg: 'EdDSA', use: 'sig' },
    ]);
    expect(JSON.stringify(response.body)).not.toContain('"d"');
  });

  it('names an event re-signed with a key registered after the checkpoint', async () => {
    const { key } = await t.createKey();
    const request = await createApproval(t, key);
    await t.call('POST', `/v1/approvals/${request.id}/cancel`, { key, body: {} });
    const env = cliEnv({ DATABASE_URL: t.database.url });
    expect((await runCli(['audit', 'checkpoint'], env)).code).toBe(0);
    const exported = await runCli(['audit', 'checkpoint', 'export'], env);
    expect(exported.code, describeRun(exported)).toBe(0);
    expect(JSON.parse(exported.stdout.trim().split('\n')[0] ?? '{}')).toMatchObject({
      eventKeys: [TEST_EVENT_KEY.kid],
    });
    const file = join(dir, 'checkpoints.jsonl');
    await writeFile(file, exported.stdout);

    // The superuser's own key, registered, and the request.created event re-signed with it.
    const own = receiptKeyFromPrivateKey(generateKeyPairSync('ed25519').privateKey);
    await withPgClient(t.database.url, async (client) => {
      await registerEventKey(client, own);
      const { rows } = await client.query<{
        seq: string;
        type: string;
        request_id: string;
        actor: string;
        payload: unknown;
        occurred_at: Date;
      }>(
        `SELECT seq::text AS seq, type, request_id, actor, payload, occurred_at FROM audit_events
           WHERE request_id = $1 AND type = 'request.created'`,
        [request.id],
      );
      const event = rows[0];
      if (!event) throw new Error('no request.created event');
      const input = storedEventInput({
        type: event.type,
        requestId: event.request_id,
        actor: event.actor,
        payload: event.payload,
        occurredAt: event.occurred_at.toISOString(),
      });
      const signature = `${own.kid}.${sign(null, Buffer.from(input), own.privateKey).toString('base64url')}`;
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await client.query('UPDATE audit_events SET signature = $2 WHERE seq = $1::bigint', [
        event.seq,
        signature,
      ]);
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    });

    const plain = await runCli(['audit', 'verify'], env);
    expect(plain.code, describeRun(plain)).toBe(0);
    const held = await runCli(['audit', 'verify', '--checkpoints', file], env);
    expect(held.code, describeRun(held)).toBe(1);
    expect(held.stdout).toMatch(/unpinned_event_key/);
    expect(held.stdout).toContain(own.kid);
  });
});
