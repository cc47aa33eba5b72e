// Deny through the modal: the Deny click opens a modal with the click's trigger_id, its submission
// records the denial with the reason and the card shows it; a rule with `denyReason: required`
// answers an empty reason with Slack's inline validation error and records nothing. The handlers'
// Slack calls (views.open, users.info, chat.postEphemeral) show in countersign_chat_api_calls_total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatApiCalls, expectedSlackCounts, waitForCallCounts } from '../support/chat-api-call-counts.ts';
import type { FakeSlackViewOpen } from '../support/fake-slack.ts';
import {
  CHANNEL,
  DENY,
  DENY_MODAL,
  DENY_REASON_BLOCK,
  DENY_REASON_INPUT,
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

describe('Slack deny modal', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: TEAM_POLICY_YAML });
  });
  afterAll(async () => {
    await h?.close();
  });

  function inputBlock(opened: FakeSlackViewOpen) {
    return opened.view.blocks?.find((b) => b.block_id === DENY_REASON_BLOCK);
  }

  function submit(userId: string, opened: FakeSlackViewOpen, reason: string | null) {
    return h.driver.send<Record<string, unknown> | string>(
      h.driver.viewSubmission({
        userId,
        callbackId: opened.view.callback_id ?? '',
        privateMetadata: opened.view.private_metadata ?? '',
        values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: reason } },
        viewId: opened.id,
        ...(opened.view.blocks ? { blocks: opened.view.blocks } : {}),
      }),
    );
  }

  it('opens the modal with the trigger id, then denies with the reason and updates the card', async () => {
    const created = await h.create({ action: 'db.export', title: 'Export invoices' });
    const card = await h.waitForCard(created.id);

    const triggerId = h.driver.newTriggerId();
    const viewsBefore = h.fake.views().length;
    expect((await h.click('U0BOB', card, DENY, { triggerId })).status).toBe(200);
    const opened = (await h.fake.waitForViews(viewsBefore + 1)).at(-1);
    if (!opened) throw new Error('no modal opened');
    expect(opened.triggerId).toBe(triggerId);
    expect(opened.view.type).toBe('modal');
    expect(opened.view.callback_id).toBe(DENY_MODAL);
    expect(JSON.parse(opened.view.private_metadata ?? '')).toEqual({
      requestId: created.id,
      channelId: CHANNEL,
      messageTs: card.ts,
    });
    expect(inputBlock(opened)).toMatchObject({ type: 'input', optional: true });
    expect(blockText(opened.view.blocks)).toContain(created.id);
    // Opening the modal decides nothing.
    expect((await h.get(created.id)).status).toBe('pending');
    expect(await h.decisions(created.id)).toEqual([]);

    const submitted = await submit('U0BOB', opened, 'Not during the quarter close');
    expect(submitted.status).toBe(200);
    expect(submitted.text).toBe('');

    const denied = await h.waitForStatus(created.id, 'denied');
    expect(denied.decisions).toMatchObject([
      {
        approver: { email: 'bob@example.com', platform: 'slack', platformUserId: 'U0BOB' },
        verdict: 'deny',
        reason: 'Not during the quarter close',
      },
    ]);
    expect(denied.decisions).toHaveLength(1);
    const updated = await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the denied card without buttons');
    expect(blockText(updated)).toContain(
      '*⛔ Denied* by *Bob (bob@example.com)* — Not during the quarter close',
    );
    expect(updated.text).toContain(
      'Denied: Export invoices — by Bob (bob@example.com): Not during the quarter close',
    );

    const audit = await auditOnceNotified(h, created.id);
    expect(audit.map((e) => e.type)).toEqual([
      'request.created',
      'decision.recorded',
      'request.denied',
      'requester.notified',
    ]);
    expect(audit[1]?.payload).toMatchObject({ verdict: 'deny', reason: 'Not during the quarter close' });
    expect(h.fake.ephemerals()).toEqual([]);
  });

  it('denies without a reason when the rule leaves it optional', async () => {
    const created = await h.create({ action: 'db.export', title: 'Export refunds' });
    const card = await h.waitForCard(created.id);
    const viewsBefore = h.fake.views().length;
    expect((await h.click('U0CAROL', card, DENY)).status).toBe(200);
    const opened = (await h.fake.waitForViews(viewsBefore + 1)).at(-1);
    if (!opened) throw new Error('no modal opened');
    expect((await submit('U0CAROL', opened, null)).status).toBe(200);
    const denied = await h.waitForStatus(created.id, 'denied');
    expect(denied.decisions.map((d) => [d.approver.email, d.verdict, d.reason])).toEqual([
      ['carol@example.com', 'deny', null],
    ]);
    await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the denied card without buttons');
  });

  it('with denyReason: required, answers an empty reason with response_action errors and records nothing', async () => {
    const created = await h.create({ action: 'db.drop', title: 'Drop the legacy_users table' });
    const card = await h.waitForCard(created.id);
    expect(blockText(card)).toContain('Denying asks for a reason (required by policy).');

    const triggerId = h.driver.newTriggerId();
    const viewsBefore = h.fake.views().length;
    expect((await h.click('U0DAVE', card, DENY, { triggerId })).status).toBe(200);
    const opened = (await h.fake.waitForViews(viewsBefore + 1)).at(-1);
    if (!opened) throw new Error('no modal opened');
    expect(opened.triggerId).toBe(triggerId);
    expect(inputBlock(opened)).toMatchObject({
      type: 'input',
      optional: false,
      label: { type: 'plain_text', text: 'Reason (required)' },
    });

    for (const empty of [null, '', '   \n ']) {
      const answer = await submit('U0DAVE', opened, empty);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        response_action: 'errors',
        errors: {
          [DENY_REASON_BLOCK]: "This request's policy requires a reason to deny it; please give one.",
        },
      });
    }
    expect((await h.get(created.id)).status).toBe('pending');
    expect(await h.decisions(created.id)).toEqual([]);
    expect((await h.audit(created.id)).map((e) => e.type)).toEqual(['request.created']);
    expect(await h.cardRow(created.id)).toMatchObject({ version: 1, shownVersion: 1 });
    expect(h.fake.updates(CHANNEL).filter((u) => u.ts === card.ts)).toEqual([]);

    // With a reason the same modal goes through.
    const accepted = await submit('U0DAVE', opened, 'Still read by the billing job');
    expect(accepted.status).toBe(200);
    expect(accepted.text).toBe('');
    const denied = await h.waitForStatus(created.id, 'denied');
    expect(denied.decisions.map((d) => [d.approver.email, d.reason])).toEqual([
      ['dave@example.com', 'Still read by the billing job'],
    ]);
    const updated = await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the denied card without buttons');
    expect(blockText(updated)).toContain('— Still read by the billing job');
  });

  it('refuses a reason over 2,000 characters as typed with an inline error naming both lengths, and records nothing', async () => {
    const created = await h.create({ action: 'db.export', title: 'Export credit notes' });
    const card = await h.waitForCard(created.id);
    const viewsBefore = h.fake.views().length;
    expect((await h.click('U0CAROL', card, DENY)).status).toBe(200);
    const opened = (await h.fake.waitForViews(viewsBefore + 1)).at(-1);
    if (!opened) throw new Error('no modal opened');
    // 1,990 characters and 20 line breaks sent as CRLF: 2,030 UTF-16 units, 2,010 as typed.
    const tooLong = 'x'.repeat(1970) + '\r\ny'.repeat(20);
    const answer = await submit('U0CAROL', opened, tooLong);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      response_action: 'errors',
      errors: {
        [DENY_REASON_BLOCK]:
          'The reason is 2,010 characters long (line breaks count once); the limit is 2,000. Shorten it and send again.',
      },
    });
    expect((await h.get(created.id)).status).toBe('pending');
    expect(await h.decisions(created.id)).toEqual([]);

    // Exactly the limit as typed goes through whole, although CRLF makes it 2,020 units.
    const atLimit = 'x'.repeat(1960) + '\r\ny'.repeat(20);
    expect((await submit('U0CAROL', opened, atLimit)).status).toBe(200);
    const denied = await h.waitForStatus(created.id, 'denied');
    expect(denied.decisions.map((d) => d.reason)).toEqual([atLimit]);
  });

  it("counts the handlers' Slack calls in countersign_chat_api_calls_total as Slack saw them", async () => {
    const created = await h.create({ action: 'db.export', title: 'Export payouts' });
    const card = await h.waitForCard(created.id);
    const countsBefore = await chatApiCalls(h.t.url);
    const from = h.fake.calls().length;
    const ephemeralsBefore = h.fake.ephemerals().length;
    const viewsBefore = h.fake.views().length;

    // Throttled views.open: the clicker is told privately that nothing happened.
    h.fake.failNext('views.open', { status: 429, retryAfterSeconds: 1 });
    expect((await h.click('U0DAVE', card, DENY)).status).toBe(200);
    await h.fake.waitForEphemerals(ephemeralsBefore + 1);
    // Clicked again, the modal opens.
    expect((await h.click('U0DAVE', card, DENY)).status).toBe(200);
    const opened = (await h.fake.waitForViews(viewsBefore + 1)).at(-1);
    if (!opened) throw new Error('no modal opened');
    // Erin may decide nothing: her submission is refused privately, after her users.info.
    expect((await submit('U0ERIN', opened, 'Not mine to deny')).status).toBe(200);
    await h.fake.waitForEphemerals(ephemeralsBefore + 2);
    // Dave's goes through (his identity is cached from the test above, so no users.info); the
    // flush loop's chat.update is counted beside the handlers' calls.
    expect((await submit('U0DAVE', opened, 'Not during the close')).status).toBe(200);
    await h.waitForStatus(created.id, 'denied');
    await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the denied card without buttons');

    const least = {
      'slack views.open rate_limited': 1,
      'slack views.open ok': 1,
      'slack users.info ok': 1,
      'slack chat.postEphemeral ok': 2,
      'slack chat.update ok': 1,
    };
    const counted = await waitForCallCounts(h.t.url, countsBefore, least);
    expect(counted).toMatchObject(least);
    expect(
      h.fake
        .calls('views.open')
        .filter((c) => c.seq >= from)
        .map((c) => c.status),
    ).toEqual([429, 200]);
    expect(counted).toEqual(expectedSlackCounts(h.fake, from));
  });
});
