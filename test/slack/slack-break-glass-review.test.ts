// Acknowledge and Flag on a break-glass card (issue #25 item 6): a reviewer's click through Slack
// reviews the use as the clicker's corporate email, and the card is updated without buttons; the
// requester, someone not a reviewer, an unresolved identity and a second review are refused
// privately and record nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../support/api-fixtures.ts';
import type { FakeSlackMessage } from '../support/fake-slack.ts';
import { pollUntil } from '../support/poll.ts';
import {
  CHANNEL,
  blockText,
  hasButtons,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';

const ACKNOWLEDGE = 'countersign_breakglass_acknowledge';
const FLAG = 'countersign_breakglass_flag';

const POLICY = `rules:
  - name: prod-fix
    actions: ["prod.*"]
    approvers: [bob@example.com]
    channel: slack:${CHANNEL}
    breakGlass: { allowed: true, reviewWithin: 4h, reviewers: [dave@example.com, erin@example.com] }
`;

describe('break-glass review buttons on the Slack card', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: POLICY });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A break-glass use by alice, its card posted with Acknowledge and Flag. */
  async function breakGlassCard(): Promise<{ request: Approval; card: FakeSlackMessage }> {
    const request = await h.create({ action: 'prod.restart', breakGlass: 'prod down, INC-123' });
    expect(request).toMatchObject({ status: 'approved', breakGlass: { review: 'pending' } });
    const card = await h.waitForCard(request.id);
    expect(hasButtons(card)).toBe(true);
    expect(blockText(card)).toContain('Review needed by dave@example.com, erin@example.com');
    return { request, card };
  }

  const reviewed = async (requestId: string) =>
    (await h.audit(requestId)).filter((e) => e.type === 'breakglass.reviewed');

  async function nextEphemeral(before: number, userId: string) {
    const all = await h.fake.waitForEphemerals(before + 1);
    expect(all).toHaveLength(before + 1);
    expect(all[before]).toMatchObject({ channel: CHANNEL, user: userId });
    return all[before];
  }

  it("a reviewer's Acknowledge records the review with the clicker as reviewer, and the card loses its buttons", async () => {
    const { request, card } = await breakGlassCard();
    const before = h.fake.ephemerals().length;

    expect((await h.click('U0DAVE', card, ACKNOWLEDGE)).status).toBe(200);

    const [event] = await pollUntil(
      () => reviewed(request.id),
      (events) => events.length > 0,
      { what: 'breakglass.reviewed' },
    );
    expect(event).toMatchObject({
      actor: 'dave@example.com',
      payload: { outcome: 'acknowledged', reviewer: 'dave@example.com', note: null },
    });
    expect((await h.get(request.id)).breakGlass).toMatchObject({
      review: 'acknowledged',
      reviewedBy: 'dave@example.com',
    });
    const updated = await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the card without review buttons');
    expect(blockText(updated)).toContain('Review: acknowledged by dave@example.com');
    // Nothing private was said to a reviewer whose review counted.
    expect(h.fake.ephemerals()).toHaveLength(before);

    // A second review, by the other reviewer from the same (stale) card, is refused privately.
    expect((await h.click('U0ERIN', card, FLAG)).status).toBe(200);
    const ephemeral = await nextEphemeral(before, 'U0ERIN');
    expect(ephemeral?.text).toBe(
      'This break-glass use was already reviewed, so your review changed nothing.',
    );
    expect(await reviewed(request.id)).toHaveLength(1);
  });

  it("a reviewer's Flag records a flag without a note", async () => {
    const { request, card } = await breakGlassCard();
    expect((await h.click('U0ERIN', card, FLAG)).status).toBe(200);
    const [event] = await pollUntil(
      () => reviewed(request.id),
      (events) => events.length > 0,
      { what: 'breakglass.reviewed' },
    );
    expect(event).toMatchObject({
      actor: 'erin@example.com',
      payload: { outcome: 'flagged', reviewer: 'erin@example.com', note: null },
    });
  });

  it.each([
    [
      'U0ALICE',
      'the requester',
      /not one of this break-glass use's reviewers \(the person who used it never is\)/,
    ],
    ['U0BOB', 'an approver who is not a reviewer', /not one of this break-glass use's reviewers/],
    ['U0NOMAIL', 'a clicker whose profile has no email', /could not read your email from your Slack profile/],
  ])('refuses %s (%s) privately and records nothing', async (userId, _who, sentence) => {
    const { request, card } = await breakGlassCard();
    const eventsBefore = await h.audit(request.id);
    const before = h.fake.ephemerals().length;
    const messagesBefore = h.fake.messages(CHANNEL).length;

    expect((await h.click(userId, card, ACKNOWLEDGE)).status).toBe(200);

    const ephemeral = await nextEphemeral(before, userId);
    expect(ephemeral?.text).toMatch(sentence);
    expect(await h.audit(request.id)).toEqual(eventsBefore);
    expect((await h.get(request.id)).breakGlass).toMatchObject({ review: 'pending', reviewedBy: null });
    expect(h.fake.message(CHANNEL, card.ts)?.blocks).toEqual(card.blocks);
    expect(h.fake.messages(CHANNEL)).toHaveLength(messagesBefore);
  });
});
