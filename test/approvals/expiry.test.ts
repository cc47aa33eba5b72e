// Expiry (spec §3.6): the sweeper expires only overdue pending requests, once each, also when
// several pools sweep at once, and a request that fell due while no server ran is expired at start-up.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expireOverdueRequests } from '../../apps/server/src/approvals/expire-requests.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import { createDatabase } from '../../apps/server/src/db/client.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { isAppError } from '../../apps/server/src/errors.ts';
import { createApproval, type Approval } from '../support/api-fixtures.ts';
import { SettableClock } from '../support/settable-clock.ts';
import { createTestDatabase, usingRealPostgres } from '../support/test-database.ts';
import { startTestServer } from '../support/test-server.ts';
import {
  approver,
  auditEvents,
  createTestRequest,
  openMigratedDatabase,
  storedRequest,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const MINUTE = 60_000;
const BASE = new Date('2031-06-01T12:00:00.000Z');

describe('expireOverdueRequests', () => {
  let m: MigratedDatabase;
  let clock: SettableClock;
  let deps: Deps;
  beforeAll(async () => {
    m = await openMigratedDatabase();
    clock = new SettableClock();
    deps = testDeps(m.db, { clock });
  });
  beforeEach(async () => {
    // Each test starts with nothing pending, at BASE.
    clock.set(new Date('2100-01-01T00:00:00.000Z'));
    await expireOverdueRequests(deps);
    clock.set(BASE);
  });
  afterAll(async () => {
    await m?.close();
  });

  const expiredEvents = async (id: string) =>
    (await auditEvents(m.db, id)).filter((e) => e.type === 'request.expired');

  it('moves only overdue pending requests to expired, with one request.expired event each', async () => {
    const soon = await createTestRequest(deps, { expiresIn: 60 });
    const later = await createTestRequest(deps, { expiresIn: 600 });
    const decided = await createTestRequest(deps, { expiresIn: 60 });
    await recordDecision(deps, {
      requestId: decided.id,
      verdict: 'approve',
      approver: approver('bob@x.org'),
    });

    clock.set(new Date(BASE.getTime() + MINUTE - 1));
    expect(await expireOverdueRequests(deps)).toEqual([]);

    clock.set(new Date(BASE.getTime() + MINUTE));
    expect(await expireOverdueRequests(deps)).toEqual([soon.id]);
    expect(await storedRequest(m.db, soon.id)).toMatchObject({ status: 'expired', decidedAt: clock.now() });
    expect(await storedRequest(m.db, later.id)).toMatchObject({ status: 'pending', decidedAt: null });
    expect(await storedRequest(m.db, decided.id)).toMatchObject({ status: 'approved' });
    const [event, ...more] = await expiredEvents(soon.id);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      actor: 'countersign',
      payload: { expiresAt: soon.expiresAt.toISOString() },
    });
    expect(await expiredEvents(decided.id)).toEqual([]);

    // A second sweep finds nothing new; the later one expires in its turn.
    expect(await expireOverdueRequests(deps)).toEqual([]);
    clock.set(new Date(BASE.getTime() + 10 * MINUTE));
    expect(await expireOverdueRequests(deps)).toEqual([later.id]);
    expect(await expiredEvents(soon.id)).toHaveLength(1);
    expect(await expiredEvents(later.id)).toHaveLength(1);
    expect(await verifyChain(m.db)).toMatchObject({ intact: true });
  });

  it('sweeps more than one batch (100) in one call', async () => {
    const ids = [];
    for (let i = 0; i < 130; i += 1) ids.push((await createTestRequest(deps, { expiresIn: 60 })).id);
    clock.set(new Date(BASE.getTime() + 2 * MINUTE));
    expect((await expireOverdueRequests(deps)).sort()).toEqual(ids.sort());
  });

  it.skipIf(!usingRealPostgres)(
    'sweepers on three pools, racing decisions, never expire one request twice (real Postgres only: PGlite cannot race)',
    async () => {
      const ids: string[] = [];
      for (let i = 0; i < 150; i += 1) ids.push((await createTestRequest(deps, { expiresIn: 60 })).id);
      clock.set(new Date(BASE.getTime() + 2 * MINUTE));
      const pools = Array.from({ length: 3 }, () => createDatabase(m.database.url, { maxConnections: 4 }));
      try {
        const sweeps = pools.flatMap((db) => [0, 1].map(() => expireOverdueRequests({ ...deps, db })));
        const clicks = ids.slice(0, 30).map((id, i) =>
          recordDecision(
            { ...deps, db: pools[i % pools.length] ?? m.db },
            { requestId: id, verdict: 'approve', approver: approver('bob@x.org') },
          ).then(
            () => 'recorded',
            (error: unknown) => (isAppError(error) ? error.code : String(error)),
          ),
        );
        const swept = (await Promise.all(sweeps)).flat();
        const codes = await Promise.all(clicks);
        expect(codes.filter((c) => c !== 'REQUEST_EXPIRED' && c !== 'ALREADY_DECIDED')).toEqual([]);
        // Each request was expired exactly once: by one sweeper, or by the click that found it overdue.
        expect(new Set(swept).size).toBe(swept.length);
        expect(swept.length + codes.filter((c) => c === 'REQUEST_EXPIRED').length).toBe(ids.length);
        const { rows } = await m.db.pool.query<{ request_id: string; n: number }>(
          `SELECT request_id, count(*)::int AS n FROM audit_events
            WHERE type = 'request.expired' AND request_id = ANY($1::uuid[]) GROUP BY request_id`,
          [ids],
        );
        expect(rows).toHaveLength(ids.length);
        expect(rows.filter((r) => r.n !== 1)).toEqual([]);
        const statuses = await m.db.prisma.approvalRequest.groupBy({
          by: ['status'],
          where: { id: { in: ids } },
          _count: true,
        });
        expect(statuses).toEqual([{ status: 'expired', _count: ids.length }]);
        expect(await verifyChain(m.db)).toMatchObject({ intact: true });
      } finally {
        await Promise.all(pools.map((db) => db.close()));
      }
    },
  );
});

describe('expiry across a restart', () => {
  it('a request that fell due while no server ran is expired right after start-up', async () => {
    const database = await createTestDatabase();
    // Sweeps only at start-up: the first server must not expire it, the second must do so at once.
    const env = { COUNTERSIGN_EXPIRY_SWEEP_MS: '3600000' };
    const clock = new SettableClock(BASE);
    try {
      const first = await startTestServer({ env, clock, database });
      const { key } = await first.createKey('restart', ['approvals:write', 'approvals:read', 'audit:read']);
      const created = await createApproval(first, key, { expiresIn: 60 });
      expect(created.status).toBe('pending');
      await first.close();

      clock.set(new Date(BASE.getTime() + 5 * MINUTE)); // time passes while nothing runs
      const second = await startTestServer({ env, clock, database });
      try {
        let seen: Approval | undefined;
        for (let attempt = 0; attempt < 50 && seen?.status !== 'expired'; attempt += 1) {
          if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
          seen = (await second.call<Approval>('GET', `/v1/approvals/${created.id}`, { key })).body;
        }
        expect(seen?.status).toBe('expired');
        const db = second.server.db;
        expect((await auditEvents(db, created.id)).map((e) => e.type)).toEqual([
          'request.created',
          'request.expired',
        ]);
        const verify = await second.call('GET', '/v1/audit/verify', { key });
        expect(verify.body).toMatchObject({ intact: true });
      } finally {
        await second.close();
      }
    } finally {
      await database.drop();
    }
  });
});
