// Installs and removals: the conversation reference is stored in Postgres (keyed without the
// ";messageid=" suffix), removal marks it, and each change is audited in the same transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTeamsConversation } from '../../apps/server/src/chat/teams/find-teams-conversation.ts';
import {
  FAKE_TENANT_ID,
  fakeUser,
  personalChat,
  sendActivity,
  teamChannel,
  teamsActivities,
} from '../support/fake-teams/teams-activities.ts';
import { startTeamsHarness, type TeamsHarness } from './teams-harness.ts';

describe('Teams installs', { timeout: 120_000 }, () => {
  let h: TeamsHarness;
  const admin = fakeUser('admin');
  beforeAll(async () => {
    h = await startTeamsHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const auditEvents = (type: string) =>
    h.db.prisma.auditEvent.findMany({ where: { type }, orderBy: { seq: 'asc' } });

  it('stores the reference when the bot is added to a team channel, once per install', async () => {
    const where = teamChannel('19:team-a@thread.tacv2');
    const added = await sendActivity(
      h.host.url,
      h.fake.channel,
      teamsActivities.botAdded(h.fake.channel, where, admin),
    );
    expect(added.status).toBe(200);
    // Teams also sends installationUpdate for the same install: refreshed, not audited twice.
    const install = teamsActivities.installationUpdate(h.fake.channel, where, admin, 'add');
    expect((await sendActivity(h.host.url, h.fake.channel, install)).status).toBe(200);

    const row = await findTeamsConversation(h.db, where.id);
    expect(row).toMatchObject({
      conversationId: where.id,
      conversationType: 'channel',
      teamId: where.teamId,
      tenantId: FAKE_TENANT_ID,
      removedAt: null,
    });
    expect(row?.reference).toMatchObject({
      serviceUrl: h.fake.channel.serviceUrl,
      conversation: { id: where.id },
      bot: { id: h.fake.channel.botId },
      channelId: 'msteams',
    });
    expect(row?.reference).not.toHaveProperty('activityId');
    const events = await auditEvents('teams.installed');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: `teams:${admin.aadObjectId}`,
      payload: { conversationId: where.id, conversationType: 'channel', via: 'conversationUpdate' },
    });
  });

  it('maps a conversation id with a ;messageid= suffix to the same row', async () => {
    const where = teamChannel('19:team-b@thread.tacv2');
    const activity = teamsActivities.botAdded(h.fake.channel, where, admin);
    (activity['conversation'] as { id: string }).id = `${where.id};messageid=1700000000999`;
    expect((await sendActivity(h.host.url, h.fake.channel, activity)).status).toBe(200);
    const row = await findTeamsConversation(h.db, `${where.id};messageid=42`);
    expect(row?.conversationId).toBe(where.id);
    expect(row?.reference).toMatchObject({ conversation: { id: where.id } });
    expect(
      await h.db.prisma.teamsConversation.count({ where: { conversationId: { startsWith: '19:team-b' } } }),
    ).toBe(1);
  });

  it('stores a personal chat from installationUpdate, and marks removal with an audit event', async () => {
    const user = fakeUser('dana');
    const where = personalChat(user);
    const add = teamsActivities.installationUpdate(h.fake.channel, where, user, 'add');
    expect((await sendActivity(h.host.url, h.fake.channel, add)).status).toBe(200);
    expect(await findTeamsConversation(h.db, where.id)).toMatchObject({
      conversationType: 'personal',
      removedAt: null,
    });

    const remove = teamsActivities.installationUpdate(h.fake.channel, where, user, 'remove');
    expect((await sendActivity(h.host.url, h.fake.channel, remove)).status).toBe(200);
    const removed = await findTeamsConversation(h.db, where.id);
    expect(removed?.removedAt).toBeInstanceOf(Date);
    const events = await auditEvents('teams.removed');
    expect(events.map((e) => e.payload)).toContainEqual(
      expect.objectContaining({ conversationId: where.id, via: 'installationUpdate' }),
    );
  });

  it('marks a team channel removed when the bot leaves the team, and a re-add installs it again', async () => {
    const where = teamChannel('19:team-c@thread.tacv2');
    await sendActivity(h.host.url, h.fake.channel, teamsActivities.botAdded(h.fake.channel, where, admin));
    await sendActivity(h.host.url, h.fake.channel, teamsActivities.botRemoved(h.fake.channel, where, admin));
    const removed = await findTeamsConversation(h.db, where.id);
    expect(removed?.removedAt).toBeInstanceOf(Date);

    await sendActivity(h.host.url, h.fake.channel, teamsActivities.botAdded(h.fake.channel, where, admin));
    const again = await findTeamsConversation(h.db, where.id);
    expect(again?.removedAt).toBeNull();
    expect(again!.installedAt.getTime()).toBeGreaterThanOrEqual(removed!.removedAt!.getTime());
    const installs = (await auditEvents('teams.installed')).filter(
      (e) => (e.payload as { conversationId: string }).conversationId === where.id,
    );
    expect(installs).toHaveLength(2);
  });

  it('ignores members other than the bot joining or leaving', async () => {
    const where = teamChannel('19:team-d@thread.tacv2');
    const activity = teamsActivities.botAdded(h.fake.channel, where, admin);
    activity['membersAdded'] = [{ id: fakeUser('eve').id }];
    expect((await sendActivity(h.host.url, h.fake.channel, activity)).status).toBe(200);
    expect(await findTeamsConversation(h.db, where.id)).toBeNull();
  });
});
