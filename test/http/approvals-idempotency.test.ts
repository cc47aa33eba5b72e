// Idempotency-Key on POST /v1/approvals: replay, conflict, concurrent duplicates, per-client scope.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectProblem,
  snapshotData,
  specExampleBody,
  withPgClient,
  type Approval,
} from '../support/api-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { hashIdempotencyKey } from '../../apps/server/src/approvals/create-request.ts';

describe('POST /v1/approvals with Idempotency-Key', () => {
  let t: TestServer;
  let key: string;
  let clientId: string;
  beforeAll(async () => {
    t = await startTestServer();
    ({ key, clientId } = await t.createKey());
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (idempotencyKey: string, body: unknown, apiKey = key) =>
    t.call<Approval>('POST', '/v1/approvals', {
      key: apiKey,
      body,
      headers: { 'idempotency-key': idempotencyKey },
    });

  const rowsWithKey = (idempotencyKey: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ id: string; client_id: string }>(
        'SELECT id, client_id FROM approval_requests WHERE idempotency_key = $1',
        [hashIdempotencyKey(idempotencyKey)],
      );
      return rows;
    });

  it('replays the same key and body as 200 with the same request, stored once', async () => {
    const first = await post('replay-1', specExampleBody());
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const again = await post('replay-1', specExampleBody());
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/v1/approvals/${first.body.id}`);
    expect(again.body).toEqual(first.body);
    expect(await rowsWithKey('replay-1')).toHaveLength(1);
  });

  it('treats the same body with members in another order as the same body', async () => {
    const first = await post('replay-order', {
      action: 'a.b',
      requester: { name: 'A', email: 'a@example.com' },
    });
    const again = await post('replay-order', {
      requester: { email: 'a@example.com', name: 'A' },
      action: 'a.b',
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
  });

  it('stores only the SHA-256 of the key, and the conflict detail does not echo it', async () => {
    const secretKey = 'run-token-5f2b9c0e7d1a4b3c';
    expect((await post(secretKey, specExampleBody())).status).toBe(201);
    const stored = await withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ row: string }>('SELECT r::text AS row FROM approval_requests r');
      return rows.map((r) => r.row).join('\n');
    });
    expect(stored).not.toContain(secretKey);
    expect(stored).toContain(createHash('sha256').update(secretKey).digest('hex'));
    const conflict = await post(secretKey, { ...specExampleBody(), reason: 'other' });
    expect(expectProblem(conflict, 'IDEMPOTENCY_CONFLICT').detail).not.toContain(secretKey);
  });

  it('refuses the same key with a different body with 409 and changes nothing', async () => {
    const first = await post('conflict-1', specExampleBody());
    expect(first.status).toBe(201);
    const before = await snapshotData(t);

    const changed = { ...specExampleBody(), reason: 'something else' };
    const conflict = await post('conflict-1', changed);
    expectProblem(conflict, 'IDEMPOTENCY_CONFLICT');

    expect(await snapshotData(t)).toEqual(before);
    const read = await t.call<Approval>('GET', `/v1/approvals/${first.body.id}`, { key });
    expect(read.body).toEqual(first.body);
  });

  it('still conflicts after the first request was cancelled, and still replays it unchanged', async () => {
    const first = await post('after-cancel', { action: 'x.y', requester: { email: 'a@example.com' } });
    const cancelled = await t.call<Approval>('POST', `/v1/approvals/${first.body.id}/cancel`, { key });
    expect(cancelled.body.status).toBe('cancelled');
    const replay = await post('after-cancel', { action: 'x.y', requester: { email: 'a@example.com' } });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(cancelled.body);
    expectProblem(
      await post('after-cancel', { action: 'x.z', requester: { email: 'a@example.com' } }),
      'IDEMPOTENCY_CONFLICT',
    );
  });

  it('stores one request for 10 concurrent POSTs with the same key and body', async () => {
    const before = await snapshotData(t);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => post('concurrent-1', specExampleBody())),
    );

    const statuses = responses.map((r) => r.status).sort();
    expect(statuses, JSON.stringify(responses.map((r) => r.body))).toEqual([
      200, 200, 200, 200, 200, 200, 200, 200, 200, 201,
    ]);
    const ids = new Set(responses.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    for (const r of responses.filter((r) => r.status === 200)) {
      expect(r.headers.get('idempotent-replayed')).toBe('true');
    }
    expect(await rowsWithKey('concurrent-1')).toHaveLength(1);
    const after = await snapshotData(t);
    expect(after.requests).toBe(before.requests + 1);
    expect(after.auditEvents).toBe(before.auditEvents + 1);
  });

  it('scopes keys per client: the same key from two clients creates two requests', async () => {
    const other = await t.createKey('second-client');
    const mine = await post('shared-key', specExampleBody());
    const theirs = await post('shared-key', specExampleBody(), other.key);
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
    const rows = await rowsWithKey('shared-key');
    expect(rows.map((r) => r.client_id).sort()).toEqual([clientId, other.clientId].sort());
    expect(rows.map((r) => r.id).sort()).toEqual([mine.body.id, theirs.body.id].sort());
  });
});
