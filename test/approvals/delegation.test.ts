// Delegation while away (issue #25 item 5): a delegate decides where the delegator is eligible,
// recorded as "carol for bob"; an expired or removed delegation no longer counts and its end is
// audited; a delegation from the requester, or a chain through them, never lets anyone decide.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  addDelegation,
  listDelegations,
  recordDelegationExpiry,
  removeDelegation,
} from '../../apps/server/src/approvals/delegation/delegations.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { buildCardView, deciderOf, deciderPlain } from '../../apps/server/src/chat/card-view.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { presentWithReceipt } from '../../apps/server/src/approvals/view/present-with-receipt.ts';
import { SettableClock } from '../support/settable-clock.ts';
import {
  approver,
  auditEvents,
  createTestRequest,
  expectAppError,
  openMigratedDatabase,
  policyFromYaml,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const POLICY = `
rules:
  - name: exports
    actions: ["db.export"]
    approvers: [bob@example.com, erin@example.com]
  - name: pair
    actions: ["db.drop"]
    approvers: [bob@example.com, erin@example.com]
    quorum: 2
`;
const DAY = 86_400_000;

describe('delegation', () => {
  let m: MigratedDatabase;
  let clock: SettableClock;
  let deps: Deps;

  beforeAll(async () => {
    m = await openMigratedDatabase();
    clock = new SettableClock();
    deps = testDeps(m.db, { policy: policyFromYaml(POLICY), clock });
    await deps.jobs.start();
  });
  afterAll(async () => {
    await deps.jobs.stop();
    await m.close();
  });
  beforeEach(async () => {
    // Each test starts with no active delegation, a month after the one before.
    clock.set(new Date(clock.now().getTime() + 30 * DAY));
    await m.db.pool.query('UPDATE delegations SET removed_at = now() WHERE removed_at IS NULL');
  });

  const delegate = (from: string, to: string, days = 7) =>
    addDelegation(deps, { from, to, until: new Date(clock.now().getTime() + days * DAY), actor: 'cli' });

  it('lets the delegate decide where the delegator is eligible, recorded as "carol for bob"', async () => {
    const delegation = await delegate('Bob@Example.com', 'carol@example.com');
    expect(delegation).toMatchObject({ fromEmail: 'bob@example.com', toEmail: 'carol@example.com' });
    const request = await createTestRequest(deps);
    const result = await recordDecision(deps, {
      requestId: request.id,
      verdict: 'approve',
      approver: approver('carol@example.com'),
    });
    expect(result.verdict).toBe('approved');
    expect(result.request.decisions).toMatchObject([
      { approverEmail: 'carol@example.com', onBehalfOf: 'bob@example.com' },
    ]);
    const events = await auditEvents(m.db, request.id);
    expect(events.find((e) => e.type === 'decision.recorded')?.payload).toMatchObject({
      onBehalfOf: 'bob@example.com',
    });
    expect(events.find((e) => e.type === 'delegation.used')).toMatchObject({
      actor: 'carol@example.com',
      payload: {
        delegationId: delegation.id,
        from: 'bob@example.com',
        to: 'carol@example.com',
        verdict: 'approve',
      },
    });
    const approval = await presentWithReceipt(deps, result.request);
    expect(approval.decisions[0]?.onBehalfOf).toBe('bob@example.com');
    const view = buildCardView(approval, { denyReasonRequired: false });
    expect(deciderPlain(view.outcome?.deciders[0] ?? deciderOf(approval.decisions[0]!))).toBe(
      'carol@example.com (carol@example.com) for bob@example.com',
    );
    const created = (await auditEvents(m.db)).filter((e) => e.type === 'delegation.created').at(-1);
    expect(created).toMatchObject({
      actor: 'cli',
      payload: { from: 'bob@example.com', to: 'carol@example.com' },
    });
  });

  it("takes the delegator's place, not a second one: bob cannot also count", async () => {
    await delegate('bob@example.com', 'carol@example.com');
    const request = await createTestRequest(deps, { action: 'db.drop' });
    await recordDecision(deps, {
      requestId: request.id,
      verdict: 'approve',
      approver: approver('carol@example.com'),
    });
    const bob = await recordDecision(deps, {
      requestId: request.id,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });
    expect(bob.recorded).toBe(false);
    expect(bob.request.status).toBe('pending');
    const erin = await recordDecision(deps, {
      requestId: request.id,
      verdict: 'approve',
      approver: approver('erin@example.com'),
    });
    expect(erin.verdict).toBe('approved');
  });

  it('no longer counts once expired; the expiry is audited once, and a job is queued for it', async () => {
    const delegation = await delegate('bob@example.com', 'carol@example.com', 1);
    const { rows } = await m.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'delegation-expiry' AND data->>'delegationId' = $1`,
      [delegation.id],
    );
    expect(rows[0]?.n).toBe(1);
    clock.set(new Date(clock.now().getTime() + DAY + 1));
    const request = await createTestRequest(deps);
    await expectAppError(
      recordDecision(deps, {
        requestId: request.id,
        verdict: 'approve',
        approver: approver('carol@example.com'),
      }),
      'NOT_ELIGIBLE',
    );
    expect(await listDelegations(deps)).toEqual([]);
    expect(await recordDelegationExpiry(deps, delegation.id)).toBe(true);
    expect(await recordDelegationExpiry(deps, delegation.id)).toBe(false);
    const expired = (await auditEvents(m.db)).filter(
      (e) => e.type === 'delegation.expired' && e.payload['delegationId'] === delegation.id,
    );
    expect(expired).toHaveLength(1);
  });

  it('no longer counts once removed, and the removal is audited', async () => {
    const delegation = await delegate('bob@example.com', 'carol@example.com');
    await removeDelegation(deps, delegation.id, 'cli');
    const request = await createTestRequest(deps);
    await expectAppError(
      recordDecision(deps, {
        requestId: request.id,
        verdict: 'approve',
        approver: approver('carol@example.com'),
      }),
      'NOT_ELIGIBLE',
    );
    expect((await auditEvents(m.db)).filter((e) => e.type === 'delegation.removed').at(-1)).toMatchObject({
      payload: { delegationId: delegation.id },
    });
  });

  it('refuses the requester as a delegate, and a chain that runs through the requester', async () => {
    // bob delegated to alice, who asks: she still cannot decide her own request.
    await delegate('bob@example.com', 'alice@example.com');
    const request = await createTestRequest(deps);
    await expectAppError(
      recordDecision(deps, {
        requestId: request.id,
        verdict: 'approve',
        approver: approver('alice@example.com'),
      }),
      'SELF_APPROVAL_FORBIDDEN',
    );
    // alice passed bob's delegation on to carol: carol for alice for bob is a chain back to the requester.
    await delegate('alice@example.com', 'carol@example.com');
    const error = await expectAppError(
      recordDecision(deps, {
        requestId: request.id,
        verdict: 'approve',
        approver: approver('carol@example.com'),
      }),
      'SELF_APPROVAL_FORBIDDEN',
    );
    expect(error.detail).toContain('carol@example.com ← alice@example.com');
    const refused = (await auditEvents(m.db, request.id)).filter((e) => e.type === 'decision.refused');
    expect(refused.map((e) => e.payload['reason'])).toEqual(['self_approval', 'self_approval']);
    expect((await auditEvents(m.db, request.id)).some((e) => e.type === 'delegation.used')).toBe(false);
  });

  it('follows a chain that does not run through the requester (carol for dave for bob)', async () => {
    await delegate('bob@example.com', 'dave@example.com');
    await delegate('dave@example.com', 'carol@example.com');
    const request = await createTestRequest(deps);
    const result = await recordDecision(deps, {
      requestId: request.id,
      verdict: 'deny',
      reason: 'not now',
      approver: approver('carol@example.com'),
    });
    expect(result.request.decisions[0]).toMatchObject({
      approverEmail: 'carol@example.com',
      onBehalfOf: 'bob@example.com',
    });
  });

  it('refuses a delegation to oneself and one that would close a loop, with nothing stored', async () => {
    await expectAppError(delegate('bob@example.com', 'bob@example.com'), 'DELEGATION_REFUSED');
    await delegate('bob@example.com', 'carol@example.com');
    await delegate('carol@example.com', 'dave@example.com');
    const before = await m.db.prisma.delegation.count();
    const error = await expectAppError(delegate('dave@example.com', 'bob@example.com'), 'DELEGATION_REFUSED');
    expect(error.status).toBe(422);
    expect(await m.db.prisma.delegation.count()).toBe(before);
  });
});
