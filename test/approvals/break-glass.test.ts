// Break-glass (issue #25 item 6): where a rule allows it the requester proceeds at once; the
// verdict and its receipt say so, the cards say BREAK-GLASS first, a reviewer acknowledges or flags
// it, a review nobody made is announced again when due (through the job queue), and a requester or
// key over the rule's maxPerDay is refused with nothing stored.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRequest } from '../../apps/server/src/approvals/create-request.ts';
import {
  markReviewOverdue,
  reviewBreakGlass,
  startBreakGlassWorkers,
} from '../../apps/server/src/approvals/break-glass/review-break-glass.ts';
import { buildCardView } from '../../apps/server/src/chat/card-view.ts';
import { renderSlackCard } from '../../apps/server/src/chat/slack/cards.ts';
import { renderTeamsCard } from '../../apps/server/src/chat/teams/cards.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { presentWithReceipt } from '../../apps/server/src/approvals/view/present-with-receipt.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import { pollUntil } from '../support/poll.ts';
import { SettableClock } from '../support/settable-clock.ts';
import {
  auditEvents,
  createTestRequest,
  expectAppError,
  openMigratedDatabase,
  policyFromYaml,
  storedRequest,
  testClientId,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const POLICY = `
groups:
  security: [dave@example.com, erin@example.com]
  leads: [frank@example.com, alice@example.com]
rules:
  - name: prod-fix
    actions: ["prod.*"]
    approvers: [bob@example.com]
    channel: slack:C0OPS
    breakGlass: { allowed: true, reviewWithin: 1s, reviewers: [group:security], maxPerDay: 2 }
  - name: prod-db
    actions: ["db.prod.*"]
    approvers: [bob@example.com]
    channel: slack:C0OPS
    escalate: { after: 30m, approvers: [group:leads], channel: slack:C0LEADS }
    breakGlass: { allowed: true, reviewWithin: 1h, reviewers: [group:security] }
  - name: everything-else
    actions: ["*"]
    approvers: [bob@example.com]
`;

describe('break-glass', () => {
  let m: MigratedDatabase;
  let clock: SettableClock;
  let deps: Deps;
  const keyA = '6f0c9a57-0000-4000-8000-00000000000a';
  const keyB = '6f0c9a57-0000-4000-8000-00000000000b';

  beforeAll(async () => {
    m = await openMigratedDatabase();
    clock = new SettableClock();
    deps = {
      ...testDeps(m.db, { policy: policyFromYaml(POLICY), clock }),
      chatPlatforms: new Set(['slack']),
    };
    await deps.jobs.start();
  });
  afterAll(async () => {
    await deps.jobs.stop();
    await m.close();
  });
  beforeEach(() => {
    // Every test is a day after the one before: budgets do not carry over.
    clock.set(new Date(clock.now().getTime() + 2 * 86_400_000));
  });

  const review = (requestId: string) => m.db.prisma.breakGlassReview.findUnique({ where: { requestId } });

  async function breakGlass(requester: string, keyId = keyA, reason = 'prod down, INC-123') {
    const clientId = await testClientId(m.db);
    const caller = { clientId, keyName: 'pipeline', keyId, requesters: [], actions: [] };
    return createRequest(deps, caller, {
      action: 'prod.restart',
      requester: { email: requester },
      breakGlass: reason,
    });
  }

  it('is approved at once, marked break-glass, with a receipt and cards that say so', async () => {
    const { request } = await breakGlass('alice@example.com');
    expect(request.status).toBe('approved');
    expect(request.breakGlass).toBe('prod down, INC-123');
    expect(request.decisions).toMatchObject([
      { approverEmail: 'alice@example.com', platform: 'break-glass', verdict: 'approve' },
    ]);
    const stored = await storedRequest(m.db, request.id);
    expect(await review(request.id)).toMatchObject({
      policyRule: 'prod-fix',
      reviewers: ['dave@example.com', 'erin@example.com'],
      outcome: null,
      overdueAt: null,
      dueAt: new Date(clock.now().getTime() + 1000),
    });
    expect(stored.chatCards.map((c) => c.channel)).toEqual(['slack:C0OPS']);

    const approval = await presentWithReceipt(deps, stored);
    expect(approval.breakGlass).toMatchObject({ reason: 'prod down, INC-123', review: 'pending' });
    expect(approval.receipt).toBeDefined();
    const receipt = decodeJwt(approval.receipt ?? '');
    expect(receipt).toMatchObject({
      status: 'approved',
      breakGlass: { reason: 'prod down, INC-123', reviewers: ['dave@example.com', 'erin@example.com'] },
      decisions: [{ approver: 'alice@example.com', platform: 'break-glass', verdict: 'approve' }],
    });

    const view = buildCardView(approval, { denyReasonRequired: false });
    expect(view.heading).toMatch(/^BREAK-GLASS: /);
    expect(view.summary).toMatch(/^BREAK-GLASS/);
    const slack = renderSlackCard(view);
    expect(slack.text).toMatch(/^BREAK-GLASS/);
    expect(JSON.stringify(slack.blocks[0])).toContain('BREAK-GLASS: prod.restart');
    expect(JSON.stringify(slack.blocks)).toContain('Review needed by dave@example.com, erin@example.com');
    const teams = renderTeamsCard(view);
    expect(JSON.stringify(teams).slice(0, 400)).toContain('BREAK-GLASS: prod.restart');

    const types = (await auditEvents(m.db, request.id)).map((e) => e.type);
    expect(types).toEqual(['request.created', 'decision.recorded', 'request.approved']);
    expect(await verifyChain(m.db)).toMatchObject({ intact: true });
  });

  it('is refused where the rule does not allow it, with nothing stored', async () => {
    const before = await m.db.prisma.approvalRequest.count();
    const error = await expectAppError(
      createTestRequest(deps, { action: 'db.export', breakGlass: 'urgent' }),
      'BREAK_GLASS_NOT_ALLOWED',
    );
    expect(error.status).toBe(403);
    expect(error.detail).toContain('rule "everything-else" does not allow break-glass');
    expect(await m.db.prisma.approvalRequest.count()).toBe(before);
    const refused = (await auditEvents(m.db)).filter((e) => e.type === 'request.refused').at(-1);
    expect(refused?.payload).toMatchObject({ code: 'BREAK_GLASS_NOT_ALLOWED', action: 'db.export' });
  });

  it("refuses a requester, and a key, over the rule's maxPerDay, until the day has passed", async () => {
    await breakGlass('carol@example.com', keyA);
    await breakGlass('carol@example.com', keyB);
    const before = await m.db.prisma.approvalRequest.count();
    const error = await expectAppError(breakGlass('carol@example.com', keyB), 'BREAK_GLASS_BUDGET_EXCEEDED');
    expect(error.status).toBe(429);
    expect(error.detail).toContain('requester carol@example.com already used break-glass 2 time(s)');
    expect(error.errors).toEqual([{ pointer: '/breakGlass', message: "over the rule's maxPerDay (2)" }]);
    expect(await m.db.prisma.approvalRequest.count()).toBe(before);

    // Another requester through a key that already used its two.
    await breakGlass('frank@example.com', keyA);
    await expectAppError(breakGlass('gina@example.com', keyA), 'BREAK_GLASS_BUDGET_EXCEEDED');

    clock.set(new Date(clock.now().getTime() + 86_400_000 + 1));
    await expect(breakGlass('carol@example.com', keyB)).resolves.toMatchObject({
      request: { status: 'approved' },
    });
  });

  it('is reviewed by a named reviewer only, once, never by the requester', async () => {
    const { request } = await breakGlass('alice@example.com');
    await expectAppError(
      reviewBreakGlass(deps, {
        requestId: request.id,
        reviewer: 'alice@example.com',
        outcome: 'acknowledged',
      }),
      'NOT_A_REVIEWER',
    );
    await expectAppError(
      reviewBreakGlass(deps, { requestId: request.id, reviewer: 'bob@example.com', outcome: 'acknowledged' }),
      'NOT_A_REVIEWER',
    );
    const review = await reviewBreakGlass(deps, {
      requestId: request.id,
      reviewer: 'Erin@Example.com',
      outcome: 'flagged',
      note: 'should have paged the DBA first',
    });
    expect(review).toMatchObject({ outcome: 'flagged', reviewedBy: 'erin@example.com' });
    await expectAppError(
      reviewBreakGlass(deps, {
        requestId: request.id,
        reviewer: 'dave@example.com',
        outcome: 'acknowledged',
      }),
      'ALREADY_REVIEWED',
    );
    // Reviewed in time: the due-time job finds nothing to announce.
    expect(await markReviewOverdue(deps, request.id)).toBe(false);
    const events = (await auditEvents(m.db, request.id)).filter((e) => e.type.startsWith('breakglass.'));
    expect(events).toMatchObject([
      {
        type: 'breakglass.reviewed',
        actor: 'erin@example.com',
        payload: { outcome: 'flagged', note: 'should have paged the DBA first' },
      },
    ]);
    const stored = await storedRequest(m.db, request.id);
    expect(stored.chatCards[0]?.version).toBe(2);
    const view = buildCardView(await presentWithReceipt(deps, stored), { denyReasonRequired: false });
    expect(view.breakGlass?.reviewLine).toBe(
      'Review: flagged by erin@example.com — should have paged the DBA first',
    );
  });

  it('refuses a reviewer the identity provider deactivated, on every door, with nothing recorded', async () => {
    const { request } = await breakGlass('alice@example.com');
    await m.db.prisma.directoryUser.create({
      data: {
        userName: 'dave@example.com',
        userNameKey: 'dave@example.com',
        email: 'dave@example.com',
        active: false,
      },
    });
    try {
      await expectAppError(
        reviewBreakGlass(deps, {
          requestId: request.id,
          reviewer: 'dave@example.com',
          outcome: 'acknowledged',
        }),
        'DEPROVISIONED',
      );
      expect((await review(request.id))?.outcome).toBeNull();
      const events = (await auditEvents(m.db, request.id)).filter((e) => e.type.startsWith('breakglass.'));
      expect(events).toEqual([]);
    } finally {
      await m.db.prisma.directoryUser.deleteMany({ where: { userNameKey: 'dave@example.com' } });
    }
  });

  it('is announced again, once, when nobody reviewed it within reviewWithin (job queue)', async () => {
    await startBreakGlassWorkers(deps);
    const { request } = await breakGlass('alice@example.com');
    const overdue = await pollUntil(
      () => auditEvents(m.db, request.id),
      (events) => events.some((e) => e.type === 'breakglass.review_overdue'),
      { what: 'the breakglass.review_overdue event' },
    );
    expect(overdue.filter((e) => e.type === 'breakglass.review_overdue')).toMatchObject([
      {
        actor: 'countersign',
        payload: { reviewers: ['dave@example.com', 'erin@example.com'], channels: ['slack:C0OPS'] },
      },
    ]);
    const stored = await storedRequest(m.db, request.id);
    expect((await review(request.id))?.overdueAt).not.toBeNull();
    // The card is bumped, so its channel's flusher posts the overdue state.
    expect(stored.chatCards[0]?.version).toBe(2);
    const view = buildCardView(await presentWithReceipt(deps, stored), { denyReasonRequired: false });
    expect(view.breakGlass?.reviewLine).toMatch(/^REVIEW OVERDUE: nobody acknowledged or flagged it by /);
    expect(await markReviewOverdue(deps, request.id)).toBe(false);
    // A late review still counts, and says how it ended.
    await reviewBreakGlass(deps, {
      requestId: request.id,
      reviewer: 'dave@example.com',
      outcome: 'acknowledged',
    });
    expect((await review(request.id))?.outcome).toBe('acknowledged');
  });

  it('is escalated when overdue where the rule has escalate: its approvers review, a card goes to its channel', async () => {
    const clientId = await testClientId(m.db);
    const caller = { clientId, keyName: 'pipeline', keyId: keyA, requesters: [], actions: [] };
    const { request } = await createRequest(deps, caller, {
      action: 'db.prod.migrate',
      requester: { email: 'alice@example.com' },
      breakGlass: 'migration stuck, INC-9',
    });
    // Before it is overdue, the escalation approvers are not reviewers.
    await expectAppError(
      reviewBreakGlass(deps, {
        requestId: request.id,
        reviewer: 'frank@example.com',
        outcome: 'acknowledged',
      }),
      'NOT_A_REVIEWER',
    );
    expect(await markReviewOverdue(deps, request.id)).toBe(true);
    expect((await review(request.id))?.reviewers).toEqual([
      'dave@example.com',
      'erin@example.com',
      'frank@example.com',
      'alice@example.com',
    ]);
    const overdue = (await auditEvents(m.db, request.id)).filter(
      (e) => e.type === 'breakglass.review_overdue',
    );
    expect(overdue.map((e) => e.payload)).toEqual([
      {
        dueAt: expect.any(String) as string,
        reviewers: ['dave@example.com', 'erin@example.com', 'frank@example.com', 'alice@example.com'],
        channels: ['slack:C0OPS'],
        escalatedTo: { approvers: ['frank@example.com', 'alice@example.com'], channel: 'slack:C0LEADS' },
      },
    ]);
    const stored = await storedRequest(m.db, request.id);
    expect(stored.chatCards.map((card) => card.channel).sort()).toEqual(['slack:C0LEADS', 'slack:C0OPS']);
    // The requester stays out, escalation approver or not; an escalation approver reviews.
    await expectAppError(
      reviewBreakGlass(deps, {
        requestId: request.id,
        reviewer: 'alice@example.com',
        outcome: 'acknowledged',
      }),
      'NOT_A_REVIEWER',
    );
    await reviewBreakGlass(deps, {
      requestId: request.id,
      reviewer: 'frank@example.com',
      outcome: 'flagged',
    });
    expect((await review(request.id))?.reviewedBy).toBe('frank@example.com');
    expect(await verifyChain(m.db)).toMatchObject({ intact: true });
  });
});
