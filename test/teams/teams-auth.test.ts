// Inbound verification on POST /api/messages: every invalid channel token is a 401 problem+json,
// the bot never runs (nothing stored, no audit event), and never a 500. An error inside the bot
// logic is a 500 problem+json, logged with its stack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelTokenKnobs } from '../support/fake-teams/fake-teams-channel.ts';
import {
  fakeUser,
  sendActivity,
  teamChannel,
  teamsActivities,
} from '../support/fake-teams/teams-activities.ts';
import { pollUntil } from '../support/poll.ts';
import { startTeamsHarness, type TeamsHarness } from './teams-harness.ts';

type BadCase = [name: string, knobs: ChannelTokenKnobs & { token?: string | null }];

const BAD_TOKENS: BadCase[] = [
  ['no token at all', { token: null }],
  ['a token that is not a JWT', { token: 'not-a-jwt' }],
  ['a bad signature', { key: 'forged' }],
  ['an unknown key id', { key: 'unknown-kid' }],
  ['the wrong audience', { audience: '00000000-0000-4000-8000-000000000bad' }],
  ['the wrong issuer', { issuer: 'https://api.botframework.evil' }],
  ['expiry beyond the 5 minute tolerance', { expiresInSeconds: -6 * 60 }],
  ['nbf in the future', { notBeforeSeconds: 10 * 60 }],
  ['a serviceurl claim for another service URL', { serviceUrl: 'https://smba.trafficmanager.net/evil/' }],
  ['no serviceurl claim', { serviceUrl: null }],
  ['a key not endorsed for msteams', { key: 'other-channel' }],
  ['a key without endorsements', { key: 'unendorsed' }],
];

describe('Teams inbound authentication', { timeout: 120_000 }, () => {
  let h: TeamsHarness;
  const admin = fakeUser('admin');
  beforeAll(async () => {
    h = await startTeamsHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const stored = async () => ({
    conversations: await h.db.prisma.teamsConversation.count(),
    events: await h.db.prisma.auditEvent.count(),
  });

  it.each(BAD_TOKENS)('refuses %s with 401 problem+json and runs nothing', async (_name, knobs) => {
    const where = teamChannel(`19:auth-${Math.random().toString(36).slice(2)}@thread.tacv2`);
    const before = await stored();
    const install = await sendActivity(
      h.host.url,
      h.fake.channel,
      teamsActivities.botAdded(h.fake.channel, where, admin),
      knobs,
    );
    expect(install.status).toBe(401);
    expect(install.contentType).toContain('application/problem+json');
    expect(install.body).toMatchObject({
      status: 401,
      code: 'BOT_AUTH_FAILED',
      requestId: expect.any(String) as string,
    });
    const click = await sendActivity(
      h.host.url,
      h.fake.channel,
      teamsActivities.cardAction(h.fake.channel, where, admin, { verb: 'approve', cardActivityId: '1' }),
      knobs,
    );
    expect(click.status).toBe(401);
    expect(await stored()).toEqual(before);
  });

  it('refuses an activity for another channel id even with a good token', async () => {
    const where = teamChannel('19:auth-webchat@thread.tacv2');
    const activity = { ...teamsActivities.botAdded(h.fake.channel, where, admin), channelId: 'webchat' };
    const answer = await sendActivity(h.host.url, h.fake.channel, activity);
    expect(answer.status).toBe(401);
    const noChannel = { ...teamsActivities.botAdded(h.fake.channel, where, admin), channelId: '' };
    expect((await sendActivity(h.host.url, h.fake.channel, noChannel)).status).toBe(401);
    expect(await h.db.prisma.teamsConversation.count({ where: { conversationId: where.id } })).toBe(0);
  });

  it('accepts a token within the clock tolerance (2 minutes past exp)', async () => {
    const where = teamChannel('19:auth-tolerance@thread.tacv2');
    const answer = await sendActivity(
      h.host.url,
      h.fake.channel,
      teamsActivities.botAdded(h.fake.channel, where, admin),
      {
        expiresInSeconds: -120,
      },
    );
    expect(answer.status).toBe(200);
    expect(await h.db.prisma.teamsConversation.count({ where: { conversationId: where.id } })).toBe(1);
  });

  it('answers a body that is not an activity with a problem, before the bot runs', async () => {
    const response = await fetch(`${h.host.url}/api/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await h.fake.channel.mintChannelToken()}`,
      },
      body: JSON.stringify({ text: 'no type' }),
    });
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('turns an error inside the bot logic into a 500 problem+json logged with its stack', async () => {
    const where = teamChannel('19:auth-boom@thread.tacv2');
    const click = teamsActivities.cardAction(h.fake.channel, where, admin, {
      verb: 'boom',
      cardActivityId: '7',
    });
    const answer = await sendActivity(h.host.url, h.fake.channel, click);
    expect(answer.status).toBe(500);
    expect(answer.contentType).toContain('application/problem+json');
    expect(answer.body).toMatchObject({ code: 'INTERNAL' });
    expect(JSON.stringify(answer.body)).not.toContain('on purpose');
    const logged = await pollUntil(
      () => h.host.logLines().find((l) => l['msg'] === 'request failed'),
      (line) => line !== undefined,
      { what: 'the error log line' },
    );
    const err = logged?.['err'] as { message?: string; stack?: string } | undefined;
    expect(err?.message).toContain('failed on purpose');
    expect(err?.stack).toContain('teams-bot-host.ts');
  });
});
