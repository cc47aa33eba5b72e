// GET /v1/approvals/{id}?wait=N: woken by a status change from any connection, bounded, validated.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireOverdueRequests } from '../../apps/server/src/approvals/expire-requests.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { createApproval, expectProblem, type Approval } from '../support/api-fixtures.ts';
import { SettableClock } from '../support/settable-clock.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

describe('GET /v1/approvals/{id}?wait=N', () => {
  let t: TestServer;
  let key: string;
  let outsider: Database;
  beforeAll(async () => {
    t = await startTestServer();
    ({ key } = await t.createKey());
    // A pool of its own, like another replica. (A status written in SQL past the service is
    // refused on read: test/audit/row-rewrite.test.ts.)
    outsider = createDatabase(t.database.url);
  });
  afterAll(async () => {
    await outsider?.close();
    await t?.close();
  });

  /** Decides the request through the service on the other pool. */
  const decideElsewhere = async (request: Approval, status: 'approved' | 'denied' | 'expired') => {
    if (status === 'expired') {
      const clock = new SettableClock(new Date(Date.parse(request.expiresAt) + 1000));
      expect(await expireOverdueRequests(testDeps(outsider, { clock }))).toContain(request.id);
      return;
    }
    await recordDecision(testDeps(outsider, { clock: systemClock }), {
      requestId: request.id,
      verdict: status === 'approved' ? 'approve' : 'deny',
      approver: approver('bob@example.com'),
    });
  };

  const read = (id: string, wait?: number | string) =>
    t.call<Approval>('GET', `/v1/approvals/${id}${wait === undefined ? '' : `?wait=${wait}`}`, { key });

  /** Resolves once the server holds the read: a fixed pause is enough here, it only orders the test. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

  it('returns the verdict written by another database connection, woken rather than timed out', async () => {
    const request = await createApproval(t, key);
    const { id } = request;
    const started = Date.now();
    const waiting = read(id, 30);
    await settle();
    await decideElsewhere(request, 'approved');
    const response = await waiting;
    const elapsedMs = Date.now() - started;
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('approved');
    expect(response.body.decidedAt).not.toBeNull();
    // Only "woken, not timed out": the wait was 30 s.
    expect(elapsedMs).toBeLessThan(20_000);
  });

  it('returns pending when nothing happens within the wait', async () => {
    const { id } = await createApproval(t, key);
    const response = await read(id, 1);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('pending');
    expect(response.body.decidedAt).toBeNull();
  });

  it('ignores a change to another request', async () => {
    const watched = await createApproval(t, key);
    const other = await createApproval(t, key);
    const waiting = read(watched.id, 2);
    await settle();
    await decideElsewhere(other, 'denied');
    const response = await waiting;
    expect(response.body.id).toBe(watched.id);
    expect(response.body.status).toBe('pending');
  });

  it('is not fooled by a change another connection rolls back, even by disconnecting mid-transaction', async () => {
    const { id } = await createApproval(t, key);
    const waiting = read(id, 2);
    await settle();
    const abandoning = new pg.Client({ connectionString: t.database.url });
    await abandoning.connect();
    await abandoning.query('BEGIN');
    await abandoning.query(
      `UPDATE approval_requests SET status = 'approved', decided_at = now() WHERE id = $1`,
      [id],
    );
    await abandoning.end();
    const response = await waiting;
    expect(response.body.status).toBe('pending');
    expect((await read(id)).body.status).toBe('pending');
    expect((await createApproval(t, key)).status).toBe('pending');
  });

  it('returns a request that is already decided at once', async () => {
    const request = await createApproval(t, key);
    const { id } = request;
    await decideElsewhere(request, 'denied');
    const started = Date.now();
    const response = await read(id, 30);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('denied');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('is woken by a cancel through the API', async () => {
    const { id } = await createApproval(t, key);
    const started = Date.now();
    const waiting = read(id, 30);
    await settle();
    const cancelled = await t.call<Approval>('POST', `/v1/approvals/${id}/cancel`, { key });
    expect(cancelled.status).toBe(200);
    const response = await waiting;
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('cancelled');
    expect(response.body).toEqual(cancelled.body);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('wakes every waiter on the same request', async () => {
    const request = await createApproval(t, key);
    const { id } = request;
    const waiters = [read(id, 30), read(id, 30), read(id, 30)];
    await settle();
    await decideElsewhere(request, 'approved');
    const responses = await Promise.all(waiters);
    expect(responses.map((r) => r.body.status)).toEqual(['approved', 'approved', 'approved']);
  });

  it('accepts wait=0 and wait=60 as bounds', async () => {
    const request = await createApproval(t, key);
    const { id } = request;
    expect((await read(id, 0)).status).toBe(200);
    await decideElsewhere(request, 'expired');
    const response = await read(id, 60);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('expired');
  });

  it.each(['61', '-1', '1.5', 'abc'])('refuses wait=%s with 422 and a pointer to /wait', async (wait) => {
    const { id } = await createApproval(t, key);
    expectProblem(await read(id, wait), 'VALIDATION_FAILED', ['/wait']);
  });

  it('answers 404 at once for an unknown id, whatever the wait', async () => {
    const started = Date.now();
    expectProblem(await read('7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10', 30), 'NOT_FOUND');
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
