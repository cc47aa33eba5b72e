// The migration that hashes stored Idempotency-Keys and strips query strings from delivery rows:
// rows written before it (simulated by writing them raw and re-running just that migration) come
// out converted, and a replay with the original key still finds its request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashIdempotencyKey } from '../../apps/server/src/approvals/create-request.ts';
import { migrate } from '../../apps/server/src/db/migrate.ts';
import { createApproval, withPgClient } from '../support/api-fixtures.ts';
import { silentLogger } from '../support/logging.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const MIGRATION = '20261201221500_hash_idempotency_keys';

describe(`migration ${MIGRATION}`, () => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer();
    key = (await t.createKey()).key;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('hashes keys stored raw and keeps only the redacted URL on deliveries', async () => {
    const created = await createApproval(t, key, {}, { headers: { 'idempotency-key': 'legacy-key-1' } });
    await withPgClient(t.database.url, async (client) => {
      // As an older version stored them: the raw key, and a delivery with the full URL.
      await client.query(`UPDATE approval_requests SET idempotency_key = 'legacy-key-1' WHERE id = $1`, [
        created.id,
      ]);
      await client.query(
        `INSERT INTO callback_deliveries (id, request_id, url, verdict)
         VALUES (gen_random_uuid(), $1, 'https://ci.example.com/hook?token=s3cr3t#x', 'approved')`,
        [created.id],
      );
      await client.query(`DELETE FROM "_prisma_migrations" WHERE migration_name = $1`, [MIGRATION]);
    });
    await migrate(t.database.url, silentLogger());
    const row = await withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ key: string; url: string }>(
        `SELECT r.idempotency_key AS key, d.url FROM approval_requests r
           JOIN callback_deliveries d ON d.request_id = r.id WHERE r.id = $1`,
        [created.id],
      );
      return rows[0];
    });
    expect(row).toEqual({ key: hashIdempotencyKey('legacy-key-1'), url: 'https://ci.example.com/hook?••••' });
    const replay = await t.call('POST', '/v1/approvals', {
      key,
      body: { action: 'db.export', requester: { email: 'alice@example.com' } },
      headers: { 'idempotency-key': 'legacy-key-1' },
    });
    expect(replay.status).toBe(200);
    expect(replay.body['id']).toBe(created.id);
  });
});
