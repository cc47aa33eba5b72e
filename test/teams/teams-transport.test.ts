// The card outbox's transport: proactive posts and updates through the stored reference reach the
// channel with a bearer token the https token service issued (client credentials, the configured
// scope), and failures are classified for the outbox: throttled, refused for good, or transient.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_OAUTH_SCOPE } from '../support/fake-teams/start-fake-teams.ts';
import {
  fakeUser,
  sendActivity,
  teamChannel,
  teamsActivities,
} from '../support/fake-teams/teams-activities.ts';
import { startTeamsHarness, type TeamsHarness } from './teams-harness.ts';

const card = (text: string) => ({
  type: 'AdaptiveCard',
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
  version: '1.5',
  body: [{ type: 'TextBlock', text }],
});

describe('Teams card transport', { timeout: 180_000 }, () => {
  let h: TeamsHarness;
  const admin = fakeUser('admin');
  const where = teamChannel('19:transport@thread.tacv2');
  beforeAll(async () => {
    h = await startTeamsHarness();
    const added = await sendActivity(
      h.host.url,
      h.fake.channel,
      teamsActivities.botAdded(h.fake.channel, where, admin),
    );
    expect(added.status).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('posts a card as a new message and updates it in place, with tokens from the token service', async () => {
    const posted = await h.host.postCard(where.id, card('pending'));
    if (!posted.ok) throw new Error(`post failed: ${posted.message}`);
    const activityId = String(posted.result);
    const message = h.fake.channel.message(activityId);
    expect(message).toMatchObject({ conversationId: where.id, postedTo: where.id, replyToId: undefined });
    expect(message?.activity).toMatchObject({
      type: 'message',
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card('pending') }],
    });

    const updated = await h.host.updateCard(
      `${where.id};messageid=${activityId}`,
      activityId,
      card('approved'),
    );
    expect(updated).toEqual({ ok: true, result: null });
    expect(message?.versions).toHaveLength(2);
    expect(message?.activity).toMatchObject({ attachments: [{ content: card('approved') }] });

    const calls = h.fake.channel.calls.filter((c) => c.conversationId === where.id);
    expect(calls.map((c) => [c.method, c.status])).toEqual([
      ['POST', 201],
      ['PUT', 200],
    ]);
    expect(calls.every((c) => c.tokenIssued)).toBe(true);
    const grants = h.fake.tokenService.requests.filter((r) => r.outcome === 'issued');
    expect(grants.length).toBeGreaterThanOrEqual(1);
    expect(grants[0]?.form).toMatchObject({
      grant_type: 'client_credentials',
      client_id: h.fake.appId,
      scope: `${FAKE_OAUTH_SCOPE}/.default`,
    });
  });

  it.each([
    [429, 7, { kind: 'rate_limited', retryAfterSeconds: 7 }],
    [429, undefined, { kind: 'rate_limited', retryAfterSeconds: 1 }],
    [412, undefined, { kind: 'rate_limited', retryAfterSeconds: 1 }],
    [502, 3, { kind: 'rate_limited', retryAfterSeconds: 3 }],
    [504, undefined, { kind: 'rate_limited', retryAfterSeconds: 2 }],
    [500, undefined, { kind: 'transient' }],
  ] as const)(
    'classifies a %i (Retry-After %s) as %j, after one attempt',
    async (status, retryAfter, expected) => {
      h.fake.channel.failNext(1, { status, ...(retryAfter !== undefined ? { retryAfter } : {}) });
      const before = h.fake.channel.messages(where.id).length;
      const attemptsBefore = h.fake.channel.calls.length;
      const posted = await h.host.postCard(where.id, card(`throttled ${status}`));
      expect(posted.ok).toBe(false);
      if (!posted.ok) expect(posted.classified).toEqual(expected);
      // The outbox decides when to retry: the client itself made exactly one attempt.
      expect(h.fake.channel.calls.length - attemptsBefore).toBe(1);
      expect(h.fake.channel.messages(where.id)).toHaveLength(before);
      const retried = await h.host.postCard(where.id, card(`after ${status}`));
      expect(retried.ok).toBe(true);
    },
  );

  it('classifies an update of a message that is gone (404) as refused', async () => {
    const updated = await h.host.updateCard(where.id, '1699999999999', card('nowhere'));
    expect(updated).toMatchObject({
      ok: false,
      classified: { kind: 'refused', error: 'ActivityNotFoundInConversation' },
    });
  });

  it('refuses for good without a stored reference, and once the bot is removed', async () => {
    const never = await h.host.postCard('19:never-installed@thread.tacv2', card('x'));
    expect(never).toMatchObject({
      ok: false,
      classified: { kind: 'refused', error: 'conversation_not_installed' },
    });

    const other = teamChannel('19:kicked@thread.tacv2');
    await sendActivity(h.host.url, h.fake.channel, teamsActivities.botAdded(h.fake.channel, other, admin));
    const posted = await h.host.postCard(other.id, card('before removal'));
    expect(posted.ok).toBe(true);
    // Removed on Teams' side but the removal activity has not arrived: Teams answers 403.
    h.fake.channel.removeBot(other.id);
    const refused = await h.host.updateCard(other.id, String(posted.ok && posted.result), card('after'));
    expect(refused).toMatchObject({
      ok: false,
      classified: { kind: 'refused', error: 'BotNotInConversationRoster' },
    });
    // Once the removal arrives, nothing is even attempted.
    await sendActivity(h.host.url, h.fake.channel, teamsActivities.botRemoved(h.fake.channel, other, admin));
    const callsBefore = h.fake.channel.calls.length;
    const gone = await h.host.postCard(other.id, card('after removal'));
    expect(gone).toMatchObject({ ok: false, classified: { kind: 'refused', error: 'conversation_removed' } });
    expect(h.fake.channel.calls.length).toBe(callsBefore);
  });
});
