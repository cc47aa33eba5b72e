// Signed clicks that count: an eligible approver decides from the card, a quorum of two fills up
// across two people, and duplicate or retried deliveries of one click record it once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVE,
  CHANNEL,
  TEAM_POLICY_YAML,
  blockText,
  hasButtons,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';
import { pollUntil } from '../support/poll.ts';

/** The request's audit trail once the requester's notice (sent after the verdict, by a job) is in. */
const auditOnceNotified = (h: SlackHarness, requestId: string) =>
  pollUntil(
    () => h.audit(requestId),
    (events) => events.some((e) => e.type === 'requester.notified'),
    { what: `the requester's notice of ${requestId}` },
  );

describe('Slack clicks that decide', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: TEAM_POLICY_YAML });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('approves on an eligible click: request approved, card updated with who decided, no buttons, audited', async () => {
    const created = await h.create({ action: 'db.export', title: 'Export the users table' });
    const card = await h.waitForCard(created.id);

    const response = await h.click('U0BOB', card, APPROVE);
    expect(response.status).toBe(200);

    const approved = await h.waitForStatus(created.id, 'approved');
    expect(approved.decidedAt).not.toBeNull();
    expect(approved.decisions).toEqual([
      {
        approver: {
          email: 'bob@example.com',
          platform: 'slack',
          platformUserId: 'U0BOB',
          displayName: 'Bob',
        },
        verdict: 'approve',
        reason: null,
        at: approved.decisions[0]?.at,
      },
    ]);
    expect(Date.parse(approved.decisions[0]?.at ?? '')).not.toBeNaN();
    expect(approved.receipt).toEqual(expect.any(String));

    const updated = await h.waitForMessage(
      card.ts,
      (m) => !hasButtons(m),
      'the approved card without buttons',
    );
    const text = blockText(updated);
    expect(text).toContain('*✅ Approved* by *Bob (bob@example.com)*');
    expect(text).toMatch(/Decided <!date\^\d+\^/);
    expect(text).toContain('*Quorum*\n1 of 1 approval');
    expect(updated.text).toContain('Approved: Export the users table — by Bob (bob@example.com)');
    expect(updated.blocks?.some((b) => b.type === 'actions')).toBe(false);
    const updates = h.fake.updates(CHANNEL).filter((u) => u.ts === card.ts);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(h.fake.messages(CHANNEL).filter((m) => m.ts === card.ts)).toHaveLength(1);

    const audit = await auditOnceNotified(h, created.id);
    expect(audit.map((e) => e.type)).toEqual([
      'request.created',
      'decision.recorded',
      'request.approved',
      'requester.notified',
    ]);
    expect(audit[1]).toMatchObject({
      actor: 'bob@example.com',
      payload: {
        verdict: 'approve',
        approver: { email: 'bob@example.com', platform: 'slack', platformUserId: 'U0BOB' },
      },
    });
    expect(audit[2]?.payload).toMatchObject({ approvals: ['bob@example.com'], quorum: 1 });
    // The clicker was resolved through users.info, and nobody was told anything privately.
    expect(h.fake.calls('users.info').some((c) => c.args['user'] === 'U0BOB')).toBe(true);
    expect(h.fake.ephemerals()).toEqual([]);
  });

  it('fills a quorum of two across two approvers: 1 of 2 with buttons, then approved without', async () => {
    const created = await h.create({ action: 'deploy.production', title: 'Ship 2.4 to production' });
    expect(created.quorum).toBe(2);
    const card = await h.waitForCard(created.id);
    expect(blockText(card)).toContain('*Quorum*\n0 of 2 approvals');
    expect(blockText(card)).toContain('*Policy rule*\n`two-person-deploys`');

    expect((await h.click('U0BOB', card, APPROVE)).status).toBe(200);
    const halfway = await h.waitForMessage(
      card.ts,
      (m) => blockText(m).includes('*Quorum*\n1 of 2 approvals'),
      'the card to show 1 of 2 approvals',
    );
    expect(hasButtons(halfway)).toBe(true);
    expect(blockText(halfway)).toMatch(/• \*Bob \(bob@example\.com\)\* ✅ approved <!date\^/);
    expect(blockText(halfway)).not.toContain('*✅ Approved*');
    expect((await h.get(created.id)).status).toBe('pending');

    // Carol clicks the card as it now stands.
    expect((await h.click('U0CAROL', halfway, APPROVE)).status).toBe(200);
    const approved = await h.waitForStatus(created.id, 'approved');
    expect(approved.decisions.map((d) => d.approver.email)).toEqual(['bob@example.com', 'carol@example.com']);
    const done = await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the approved card without buttons');
    expect(blockText(done)).toContain(
      '*✅ Approved* by *Bob (bob@example.com)*, *Carol (carol@example.com)*',
    );
    expect(blockText(done)).toContain('*Quorum*\n2 of 2 approvals');

    const audit = await auditOnceNotified(h, created.id);
    expect(audit.map((e) => e.type)).toEqual([
      'request.created',
      'decision.recorded',
      'decision.recorded',
      'request.approved',
      'requester.notified',
    ]);
    expect(h.fake.messages(CHANNEL).filter((m) => m.ts === card.ts)).toHaveLength(1);
  });

  it('records a click delivered twice and then retried (X-Slack-Retry-Num: 1) once', async () => {
    const created = await h.create({ action: 'db.export', title: 'Export orders' });
    const card = await h.waitForCard(created.id);

    // One click, byte for byte the same body three times, as Slack redelivers it.
    const click = h.driver.blockAction({
      userId: 'U0DAVE',
      channelId: CHANNEL,
      messageTs: card.ts,
      actionId: APPROVE,
      message: card,
    });
    const responses = await Promise.all([h.driver.send(click), h.driver.send(click)]);
    const retried = await h.driver.send(click, { retryNum: 1, retryReason: 'http_timeout' });
    expect([...responses, retried].map((r) => r.status)).toEqual([200, 200, 200]);

    await h.waitForStatus(created.id, 'approved');
    // Whichever delivery ran first decided; each later one found the verdict already reached.
    const refusals = await h.waitForRefusals(created.id, 2);
    expect(refusals.map((e) => e.payload['reason'])).toEqual(['already_decided', 'already_decided']);

    expect(await h.decisions(created.id)).toEqual([
      {
        approverEmail: 'dave@example.com',
        verdict: 'approve',
        reason: null,
        platform: 'slack',
        platformUserId: 'U0DAVE',
      },
    ]);
    const audit = await h.audit(created.id);
    expect(audit.filter((e) => e.type === 'decision.recorded')).toHaveLength(1);
    expect(audit.filter((e) => e.type === 'request.approved')).toHaveLength(1);
    expect(h.fake.messages(CHANNEL).filter((m) => m.ts === card.ts)).toHaveLength(1);
  });

  it('records a repeated click while a quorum is still open once, and the quorum needs a second person', async () => {
    const created = await h.create({ action: 'deploy.production', title: 'Ship 2.5 to production' });
    const card = await h.waitForCard(created.id);

    const click = h.driver.blockAction({
      userId: 'U0BOB',
      channelId: CHANNEL,
      messageTs: card.ts,
      actionId: APPROVE,
      message: card,
    });
    const responses = await Promise.all([h.driver.send(click), h.driver.send(click)]);
    const retried = await h.driver.send(click, { retryNum: 1, retryReason: 'http_timeout' });
    expect([...responses, retried].map((r) => r.status)).toEqual([200, 200, 200]);
    const halfway = await h.waitForMessage(
      card.ts,
      (m) => blockText(m).includes('*Quorum*\n1 of 2 approvals'),
      'the card to show 1 of 2 approvals',
    );
    expect(hasButtons(halfway)).toBe(true);
    // Bob's repeats did not make up the quorum on their own.
    expect((await h.get(created.id)).status).toBe('pending');

    expect((await h.click('U0DAVE', halfway, APPROVE)).status).toBe(200);
    const approved = await h.waitForStatus(created.id, 'approved');
    expect(approved.decisions.map((d) => d.approver.email)).toEqual(['bob@example.com', 'dave@example.com']);
    const decisions = await h.decisions(created.id);
    expect(decisions.filter((d) => d.approverEmail === 'bob@example.com')).toHaveLength(1);
    const recorded = (await h.audit(created.id)).filter((e) => e.type === 'decision.recorded');
    expect(recorded.map((e) => e.actor)).toEqual(['bob@example.com', 'dave@example.com']);
  });
});
