// POST /v1/approvals/{id}/cancel: pending → cancelled once, audited; other verdicts are final.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApproval,
  expectProblem,
  snapshotData,
  withPgClient,
  type Approval,
} from '../support/api-fixtures.ts';
import { expireOverdueRequests } from '../../apps/server/src/approvals/expire-requests.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { SettableClock } from '../support/settable-clock.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

interface AuditRow {
  type: string;
  actor: string;
  payload: Record<string, unknown>;
}

describe('POST /v1/approvals/{id}/cancel', () => {
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

  const cancel = (id: string, body?: unknown) =>
    t.call<Approval>('POST', `/v1/approvals/${id}/cancel`, { key, ...(body === undefined ? {} : { body }) });

  const auditOf = (id: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<AuditRow>(
        'SELECT type, actor, payload FROM audit_events WHERE request_id = $1 ORDER BY seq',
        [id],
      );
      return rows;
    });

  it('cancels a pending request, sets decidedAt and returns it as GET does', async () => {
    const created = await createApproval(t, key);
    const before = Date.now();
    const response = await cancel(created.id);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: created.id, status: 'cancelled', decisions: [] });
    expect(response.body.decidedAt).not.toBeNull();
    expect(Date.parse(String(response.body.decidedAt))).toBeGreaterThanOrEqual(before - 1000);
    const read = await t.call<Approval>('GET', `/v1/approvals/${created.id}`, { key });
    expect(read.body).toEqual(response.body);
  });

  it('writes request.created and request.cancelled audit events, with the reason', async () => {
    const created = await createApproval(t, key);
    expect((await cancel(created.id, { reason: 'pipeline aborted' })).status).toBe(200);
    const events = await auditOf(created.id);
    expect(events.map((e) => e.type)).toEqual(['request.created', 'request.cancelled']);
    expect(events[1]).toMatchObject({
      actor: `client:${clientId}`,
      payload: { clientId, reason: 'pipeline aborted' },
    });
  });

  it('answers a second cancel with 200 and the request unchanged, writing nothing', async () => {
    const created = await createApproval(t, key);
    const first = await cancel(created.id);
    const before = await snapshotData(t);
    const second = await cancel(created.id, { reason: 'again' });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(await snapshotData(t)).toEqual(before);
    expect((await auditOf(created.id)).filter((e) => e.type === 'request.cancelled')).toHaveLength(1);
  });

  it.each(['approved', 'denied', 'expired'] as const)(
    'refuses to cancel a request that is already %s with 409 ALREADY_DECIDED',
    async (status) => {
      const created = await createApproval(t, key);
      // Decided through the service (a row flipped in SQL is refused on read: test/audit/row-rewrite.test.ts).
      if (status === 'expired') {
        const clock = new SettableClock(new Date(Date.parse(created.expiresAt) + 1000));
        expect(await expireOverdueRequests(testDeps(t.server.db, { clock }))).toContain(created.id);
      } else {
        await recordDecision(testDeps(t.server.db, { clock: systemClock }), {
          requestId: created.id,
          verdict: status === 'approved' ? 'approve' : 'deny',
          approver: approver('bob@example.com'),
        });
      }
      const before = await snapshotData(t);
      const problem = expectProblem(await cancel(created.id), 'ALREADY_DECIDED');
      expect(problem.detail).toContain(status);
      expect(await snapshotData(t)).toEqual(before);
      const read = await t.call<Approval>('GET', `/v1/approvals/${created.id}`, { key });
      expect(read.body.status).toBe(status);
    },
  );

  it('lets exactly one of several concurrent cancels write the audit event', async () => {
    const created = await createApproval(t, key);
    const responses = await Promise.all(Array.from({ length: 5 }, () => cancel(created.id)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(responses.map((r) => r.body.decidedAt)).size).toBe(1);
    expect((await auditOf(created.id)).filter((e) => e.type === 'request.cancelled')).toHaveLength(1);
  });

  it('accepts an empty body, and refuses unknown fields or a non-JSON body without changing anything', async () => {
    const created = await createApproval(t, key);
    const before = await snapshotData(t);
    expectProblem(await cancel(created.id, { reason: 'x', bogus: true }), 'VALIDATION_FAILED', ['/bogus']);
    expectProblem(await cancel(created.id, { reason: 42 }), 'VALIDATION_FAILED', ['/reason']);
    expectProblem(
      await t.call('POST', `/v1/approvals/${created.id}/cancel`, {
        key,
        rawBody: 'please cancel',
        headers: { 'content-type': 'text/plain' },
      }),
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect(await snapshotData(t)).toEqual(before);
    expect((await cancel(created.id, {})).body.status).toBe('cancelled');
  });

  it('answers 404 for an unknown or malformed id', async () => {
    const before = await snapshotData(t);
    expectProblem(await cancel('7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10'), 'NOT_FOUND');
    expectProblem(await cancel('not-a-uuid'), 'NOT_FOUND');
    expect(await snapshotData(t)).toEqual(before);
  });
});
