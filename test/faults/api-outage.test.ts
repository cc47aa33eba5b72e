// The API while Postgres is away, against a cluster of the test's own: every route that needs the
// database answers 503 DATABASE_UNAVAILABLE (problem+json, Retry-After) instead of 500 INTERNAL,
// /readyz says not ready, /healthz stays up, recordDecision throws DATABASE_UNAVAILABLE (what the
// chat adapters tell the clicker), a long-poll in flight ends cleanly, and once Postgres is back
// everything recovers by itself, long-poll wake-ups included (the feed LISTENs again). Nothing
// is logged at error: an outage is expected now and then.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { createApproval, expectProblem, type Approval } from '../support/api-fixtures.ts';
import { capturingLogger, type CapturedLog } from '../support/logging.ts';
import { pollUntil } from '../support/poll.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import {
  createClusterDatabase,
  findPostgresBin,
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '../support/throwaway-postgres.ts';
import { approver, expectAppError, testDeps } from '../support/use-case-fixtures.ts';

const bin = findPostgresBin();

describe.skipIf(!bin)('the API while the database is away (throwaway Postgres cluster)', () => {
  let cluster: ThrowawayPostgres;
  let t: TestServer;
  let captured: CapturedLog;
  let db: Database;
  let key: string;

  beforeAll(async () => {
    if (!bin) return;
    cluster = await startThrowawayPostgres(bin);
    const url = await createClusterDatabase(cluster, 'countersign');
    captured = capturingLogger('info');
    t = await startTestServer({
      database: { url, kind: 'postgres', drop: () => Promise.resolve() },
      log: captured.log,
      env: { COUNTERSIGN_JOB_POLL_S: '0.5', COUNTERSIGN_EXPIRY_SWEEP_MS: '300' },
    });
    key = (await t.createKey()).key;
    db = createDatabase(url);
  });

  afterAll(async () => {
    await t?.close();
    await db?.close();
    await cluster?.destroy();
  });

  const decide = (id: string) =>
    recordDecision(testDeps(db, { clock: systemClock }), {
      requestId: id,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });

  it('answers 503 DATABASE_UNAVAILABLE while Postgres is stopped and recovers by itself', async () => {
    const pending = await createApproval(t, key);
    const inFlight = t.call<Approval>('GET', `/v1/approvals/${pending.id}?wait=6`, { key });
    await sleep(300);

    await cluster.stop();
    try {
      for (const [method, path, body] of [
        ['GET', '/v1/approvals', undefined],
        ['GET', `/v1/approvals/${pending.id}`, undefined],
        ['POST', '/v1/approvals', { action: 'db.export', requester: { email: 'alice@example.com' } }],
        ['POST', `/v1/approvals/${pending.id}/cancel`, {}],
        ['GET', '/v1/audit/verify', undefined],
      ] as const) {
        const response = await t.call(method, path, { key, ...(body ? { body } : {}) });
        expectProblem(response, 'DATABASE_UNAVAILABLE');
        expect(response.headers.get('retry-after'), `${method} ${path}`).toMatch(/^\d+$/);
      }
      expectProblem(await t.call('GET', '/readyz'), 'NOT_READY');
      expect((await t.call('GET', '/healthz')).status).toBe(200);
      await expectAppError(decide(pending.id), 'DATABASE_UNAVAILABLE');

      // The long-poll that was waiting when Postgres went away ends with an answer, not a hang or a 500.
      const ended = await inFlight;
      if (ended.status === 503) expectProblem(ended, 'DATABASE_UNAVAILABLE');
      else expect(ended).toMatchObject({ status: 200, body: { status: 'pending' } });
      await sleep(1500); // job workers and the sweeper meet the outage too
    } finally {
      await cluster.start();
    }

    await pollUntil(
      async () => (await t.call('GET', '/readyz')).status,
      (status) => status === 200,
      { what: '/readyz to be ready again', timeoutMs: 20_000 },
    );
    expect((await t.call('GET', `/v1/approvals/${pending.id}`, { key })).status).toBe(200);

    // Wake-ups work again: a long-poll answers within moments of the decision, long before its wait.
    const waiting = t.call<Approval>('GET', `/v1/approvals/${pending.id}?wait=30`, { key });
    await sleep(300);
    const decidedAt = performance.now();
    expect((await decide(pending.id)).request.status).toBe('approved');
    const woken = await waiting;
    expect(woken).toMatchObject({ status: 200, body: { status: 'approved' } });
    expect(performance.now() - decidedAt).toBeLessThan(10_000);

    const created = await createApproval(t, key);
    expect(created.status).toBe('pending');
    const errors = captured.lines().filter((line) => Number(line['level']) >= 50);
    expect(errors.map((line) => line['msg'])).toEqual([]);
    expect(captured.lines().some((line) => line['msg'] === 'request refused')).toBe(true);
  });
});
