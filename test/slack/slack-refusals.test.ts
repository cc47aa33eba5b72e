// Clicks that must not count: self-approval (also by email case and by agent ownership),
// unresolved identity, ineligible users, buttons that do not belong to their message, and requests
// that fail Slack's signature or timestamp checks. Each is refused privately (or with a 401) and
// leaves the request, its decisions and its card as they were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlackMessage } from '../support/fake-slack.ts';
import {
  APPROVE,
  CHANNEL,
  DENY,
  DENY_MODAL,
  DENY_REASON_BLOCK,
  DENY_REASON_INPUT,
  TEAM_POLICY_YAML,
  hasButtons,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';

describe('Slack clicks that are refused', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: TEAM_POLICY_YAML });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Nothing happened to the request: pending, no decision, only refusals in the audit trail, card as posted. */
  async function expectUntouched(requestId: string, card: FakeSlackMessage): Promise<void> {
    expect((await h.get(requestId)).status).toBe('pending');
    expect(await h.decisions(requestId)).toEqual([]);
    const types = (await h.audit(requestId)).map((e) => e.type);
    expect(types.filter((t) => t !== 'decision.refused')).toEqual(['request.created']);
    const row = await h.cardRow(requestId);
    expect(row).toMatchObject({ messageId: card.ts, version: 1, shownVersion: 1 });
    expect(h.fake.updates(CHANNEL).filter((u) => u.ts === card.ts)).toEqual([]);
    const now = h.fake.message(CHANNEL, card.ts);
    expect(now?.updateCount).toBe(0);
    expect(now?.blocks).toEqual(card.blocks);
    expect(hasButtons(now ?? card)).toBe(true);
  }

  /** Waits for the next private message and checks it went to `userId` alone. */
  async function nextEphemeral(before: number, userId: string, channel = CHANNEL) {
    const all = await h.fake.waitForEphemerals(before + 1);
    expect(all).toHaveLength(before + 1);
    const ephemeral = all[before];
    expect(ephemeral).toMatchObject({ channel, user: userId });
    return ephemeral;
  }

  describe('self-approval', () => {
    it.each([
      ['U0ALICE', 'alice@example.com'],
      ['U0ALICE2', 'Alice@EXAMPLE.com (the same email in other case)'],
    ])('refuses a click by the requester (%s, %s), privately, audited', async (userId) => {
      const created = await h.create({ action: 'db.export', requester: { email: 'alice@example.com' } });
      const card = await h.waitForCard(created.id);
      const messagesBefore = h.fake.messages(CHANNEL).length;
      const before = h.fake.ephemerals().length;

      expect((await h.click(userId, card, APPROVE)).status).toBe(200);

      const ephemeral = await nextEphemeral(before, userId);
      expect(ephemeral?.text).toBe(
        'You asked for this action, or you own the agent that asked for it, so you cannot approve or deny it.',
      );
      const [refusal] = await h.waitForRefusals(created.id, 1);
      expect(refusal).toMatchObject({
        actor: 'alice@example.com',
        payload: {
          reason: 'self_approval',
          verdict: 'approve',
          status: 'pending',
          approver: { email: 'alice@example.com', platform: 'slack', platformUserId: userId },
        },
      });
      await expectUntouched(created.id, card);
      // Private means private: nothing was posted to the channel.
      expect(h.fake.messages(CHANNEL)).toHaveLength(messagesBefore);
    });

    it('refuses a Deny by the requester too (the modal opens, the submission is refused)', async () => {
      const created = await h.create({ action: 'db.export', requester: { email: 'ALICE@example.com' } });
      const card = await h.waitForCard(created.id);
      const viewsBefore = h.fake.views().length;
      const before = h.fake.ephemerals().length;
      expect((await h.click('U0ALICE', card, DENY)).status).toBe(200);
      const views = await h.fake.waitForViews(viewsBefore + 1);
      const submitted = await h.driver.send(
        h.driver.viewSubmission({
          userId: 'U0ALICE',
          callbackId: DENY_MODAL,
          privateMetadata: views.at(-1)?.view.private_metadata ?? '',
          values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'I changed my mind' } },
        }),
      );
      expect(submitted.status).toBe(200);
      await nextEphemeral(before, 'U0ALICE');
      const [refusal] = await h.waitForRefusals(created.id, 1);
      expect(refusal?.payload).toMatchObject({ reason: 'self_approval', verdict: 'deny' });
      await expectUntouched(created.id, card);
    });

    it('refuses the owner of the requesting agent (carol owns deploy-bot)', async () => {
      const created = await h.create({ action: 'db.export', agent: { name: 'deploy-bot' } });
      const card = await h.waitForCard(created.id);
      const before = h.fake.ephemerals().length;
      expect((await h.click('U0CAROL', card, APPROVE)).status).toBe(200);
      await nextEphemeral(before, 'U0CAROL');
      const [refusal] = await h.waitForRefusals(created.id, 1);
      expect(refusal).toMatchObject({ actor: 'carol@example.com', payload: { reason: 'self_approval' } });
      await expectUntouched(created.id, card);
    });
  });

  describe('identity and eligibility', () => {
    it('refuses a clicker whose Slack profile has no email (identity_unresolved)', async () => {
      const created = await h.create({ action: 'db.export' });
      const card = await h.waitForCard(created.id);
      const before = h.fake.ephemerals().length;
      expect((await h.click('U0NOMAIL', card, APPROVE)).status).toBe(200);
      const ephemeral = await nextEphemeral(before, 'U0NOMAIL');
      expect(ephemeral?.text).toMatch(/could not read your email from your Slack profile/);
      const [refusal] = await h.waitForRefusals(created.id, 1);
      expect(refusal).toMatchObject({
        actor: 'slack:U0NOMAIL',
        payload: { reason: 'identity_unresolved', approver: { email: null, platformUserId: 'U0NOMAIL' } },
      });
      await expectUntouched(created.id, card);
    });

    it('refuses a clicker Slack does not know, and one it cannot look up just now (fail closed)', async () => {
      const created = await h.create({ action: 'db.export' });
      const card = await h.waitForCard(created.id);
      const before = h.fake.ephemerals().length;
      expect((await h.click('U0GHOST', card, APPROVE)).status).toBe(200);
      await nextEphemeral(before, 'U0GHOST');

      // users.info fails for an eligible approver: the click cannot count.
      h.fake.failNext('users.info', { status: 500 });
      expect((await h.click('U0DAVE', card, APPROVE)).status).toBe(200);
      await nextEphemeral(before + 1, 'U0DAVE');
      expect(h.fake.pendingFaults()).toEqual({});
      expect(
        h.fake
          .calls('users.info')
          .filter((c) => c.args['user'] === 'U0DAVE')
          .at(-1)?.status,
      ).toBe(500);

      const refusals = await h.waitForRefusals(created.id, 2);
      expect(refusals.map((e) => [e.actor, e.payload['reason']])).toEqual([
        ['slack:U0GHOST', 'identity_unresolved'],
        ['slack:U0DAVE', 'identity_unresolved'],
      ]);
      await expectUntouched(created.id, card);
    });

    it('refuses a clicker the policy does not allow (not_eligible)', async () => {
      const created = await h.create({ action: 'db.export' });
      const card = await h.waitForCard(created.id);
      const before = h.fake.ephemerals().length;
      expect((await h.click('U0ERIN', card, APPROVE)).status).toBe(200);
      const ephemeral = await nextEphemeral(before, 'U0ERIN');
      expect(ephemeral?.text).toBe(
        "You are not one of the approvers this request's policy allows, so your decision was not recorded.",
      );
      const [refusal] = await h.waitForRefusals(created.id, 1);
      expect(refusal).toMatchObject({ actor: 'erin@example.com', payload: { reason: 'not_eligible' } });
      await expectUntouched(created.id, card);
    });
  });

  describe('buttons that do not belong to their message', () => {
    let a: { id: string; card: FakeSlackMessage };
    let b: { id: string; card: FakeSlackMessage };
    beforeAll(async () => {
      const first = await h.create({ action: 'db.export', title: 'Request A' });
      const second = await h.create({ action: 'db.export', title: 'Request B' });
      a = { id: first.id, card: await h.waitForCard(first.id) };
      b = { id: second.id, card: await h.waitForCard(second.id) };
    });

    const MISMATCH = 'This button does not belong to this message, so the click was ignored.';

    it.each([
      ["A's button sent from B's message ts", () => ({ messageTs: b.card.ts })],
      ["A's request id under B's block id", () => ({ blockId: `countersign_actions:${b.id}` })],
      ["B's request id on A's button", () => ({ value: b.id })],
      ['a value that is no request id', () => ({ value: 'not-a-request-id' })],
      ['a block id that is no card block', () => ({ blockId: 'actions' })],
      ['the right message ts in another channel', () => ({ channelId: 'C0ELSEWHERE' })],
    ])('refuses %s, privately, recording nothing', async (_name, overrides) => {
      const extra = overrides();
      const before = h.fake.ephemerals().length;
      expect((await h.click('U0BOB', a.card, APPROVE, extra)).status).toBe(200);
      const channel = 'channelId' in extra ? extra.channelId : CHANNEL;
      const ephemeral = await nextEphemeral(before, 'U0BOB', channel);
      expect(ephemeral?.text).toBe(MISMATCH);
      for (const request of [a, b]) {
        await expectUntouched(request.id, request.card);
        expect((await h.audit(request.id)).map((e) => e.type)).toEqual(['request.created']);
      }
    });

    it('refuses a Deny whose button does not belong to the message without opening the modal', async () => {
      const viewsBefore = h.fake.views().length;
      const before = h.fake.ephemerals().length;
      expect((await h.click('U0BOB', a.card, DENY, { messageTs: b.card.ts })).status).toBe(200);
      const ephemeral = await nextEphemeral(before, 'U0BOB');
      expect(ephemeral?.text).toBe(MISMATCH);
      expect(h.fake.views()).toHaveLength(viewsBefore);
      await expectUntouched(a.id, a.card);
    });
  });

  describe('signature and timestamp checks', () => {
    it('answers 401 to a bad signature, a stale or a future timestamp, and records nothing', async () => {
      const created = await h.create({ action: 'db.export' });
      const card = await h.waitForCard(created.id);
      const ephemeralsBefore = h.fake.ephemerals().length;
      const viewsBefore = h.fake.views().length;
      const lookupsBefore = h.fake.calls('users.info').length;

      const approve = h.driver.blockAction({
        userId: 'U0BOB',
        channelId: CHANNEL,
        messageTs: card.ts,
        actionId: APPROVE,
        message: card,
      });
      const deny = h.driver.blockAction({
        userId: 'U0BOB',
        channelId: CHANNEL,
        messageTs: card.ts,
        actionId: DENY,
        message: card,
      });
      const submission = h.driver.viewSubmission({
        userId: 'U0BOB',
        callbackId: DENY_MODAL,
        privateMetadata: JSON.stringify({ requestId: created.id, channelId: CHANNEL, messageTs: card.ts }),
        values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'forged' } },
      });
      const bad = [
        { corruptSignature: true },
        { secret: 'not-the-signing-secret' },
        { omitSignature: true },
        { skewSeconds: -6 * 60 },
        { skewSeconds: 6 * 60 },
        { omitTimestamp: true },
      ];
      for (const request of [approve, deny, submission]) {
        for (const options of bad) {
          const response = await h.driver.send(request, options);
          expect(response.status, `${request.payload.type} ${JSON.stringify(options)}`).toBe(401);
        }
      }

      expect(await h.decisions(created.id)).toEqual([]);
      expect((await h.audit(created.id)).map((e) => e.type)).toEqual(['request.created']);
      expect(h.fake.ephemerals()).toHaveLength(ephemeralsBefore);
      expect(h.fake.views()).toHaveLength(viewsBefore);
      expect(h.fake.calls('users.info')).toHaveLength(lookupsBefore);
      await expectUntouched(created.id, card);

      // The very same click, correctly signed and timely, is accepted: only the checks refused it.
      expect((await h.driver.send(approve)).status).toBe(200);
      await h.waitForStatus(created.id, 'approved');
      expect((await h.decisions(created.id)).map((d) => d.approverEmail)).toEqual(['bob@example.com']);
    });
  });
});
