// What the Teams bot hands to the chat core: card actions, messages and file consent answers
// parsed into platform-neutral inputs; the clicker resolved to an email (email, else UPN, else
// nothing; fail closed on 404/403); invoke answers in the HTTP body; the file consent upload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAKE_TENANT_ID,
  fakeUser,
  personalChat,
  sendActivity,
  teamChannel,
  teamsActivities,
  type FakeTeamsUser,
} from '../support/fake-teams/teams-activities.ts';
import { pollUntil } from '../support/poll.ts';
import { startTeamsHarness, type TeamsHarness } from './teams-harness.ts';

interface EchoedAction {
  action: Record<string, unknown>;
  identity: Record<string, unknown> | null;
}

function echoed(body: unknown): EchoedAction {
  const answer = body as { value: { body: { text: string }[] } };
  return JSON.parse(answer.value.body[0]!.text) as EchoedAction;
}

describe('Teams turns', { timeout: 120_000 }, () => {
  let h: TeamsHarness;
  const admin = fakeUser('admin');
  const bob = fakeUser('bob');
  const guest = fakeUser('guest');
  const nameless = fakeUser('nameless');
  const stranger = fakeUser('stranger');
  const teamId = '19:team-turns@thread.tacv2';
  const general = teamChannel(teamId);
  const other = teamChannel(teamId, '19:other-channel@thread.tacv2', 'Deployments');

  beforeAll(async () => {
    h = await startTeamsHarness();
    h.fake.channel.addMember(teamId, {
      id: bob.id,
      aadObjectId: bob.aadObjectId,
      name: 'Bob Builder',
      email: 'Bob.Builder@Example.COM',
      userPrincipalName: 'bob.b@corp.example.com',
      tenantId: FAKE_TENANT_ID,
    });
    h.fake.channel.addMember(teamId, {
      id: guest.id,
      aadObjectId: guest.aadObjectId,
      name: 'Guest User',
      userPrincipalName: 'Guest_Partner.example#EXT#@Contoso.onmicrosoft.com',
      tenantId: FAKE_TENANT_ID,
    });
    h.fake.channel.addMember(teamId, { id: nameless.id, aadObjectId: nameless.aadObjectId, name: 'No Mail' });
    await sendActivity(h.host.url, h.fake.channel, teamsActivities.botAdded(h.fake.channel, general, admin));
  });
  afterAll(async () => {
    await h?.close();
  });

  const click = (
    from: FakeTeamsUser,
    verb = 'approve',
    where = general,
    data: Record<string, unknown> = {},
  ) =>
    sendActivity(
      h.host.url,
      h.fake.channel,
      teamsActivities.cardAction(h.fake.channel, where, from, {
        verb,
        data,
        cardActivityId: '1700000000123',
      }),
    );

  it('parses a card action and answers it in the HTTP body with the adaptive card', async () => {
    const answer = await click(bob, 'approve', other, { requestId: 'r-1', reason: 'ok' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    const { action } = echoed(answer.body);
    expect(action).toEqual({
      verb: 'approve',
      data: { requestId: 'r-1', reason: 'ok' },
      clicker: { id: bob.id, aadObjectId: bob.aadObjectId, name: bob.name },
      conversationId: other.id,
      rawConversationId: `${other.id};messageid=1700000000123`,
      conversationType: 'channel',
      tenantId: FAKE_TENANT_ID,
      teamId,
      cardActivityId: '1700000000123',
      activityId: expect.any(String) as string,
    });
  });

  it('resolves the clicker from the team roster (also in another channel of the team): email first', async () => {
    const { identity } = echoed((await click(bob, 'approve', other)).body);
    expect(identity).toEqual({
      email: 'bob.builder@example.com',
      emailSource: 'email',
      tenantId: FAKE_TENANT_ID,
      displayName: 'Bob Builder',
      aadObjectId: bob.aadObjectId,
    });
    const lookups = h.fake.channel.calls.filter((c) => c.path.includes('/members/'));
    expect(lookups.at(-1)).toMatchObject({ conversationId: teamId, tokenIssued: true, status: 200 });
  });

  it('falls back to the lower-cased UPN, kept apart from an email', async () => {
    const { identity } = echoed((await click(guest)).body);
    expect(identity).toMatchObject({
      email: 'guest_partner.example#ext#@contoso.onmicrosoft.com',
      emailSource: 'upn',
    });
  });

  it('gives a member with neither email nor UPN no address', async () => {
    const { identity } = echoed((await click(nameless)).body);
    expect(identity).toMatchObject({ email: null, emailSource: null, displayName: 'No Mail' });
  });

  it('fails closed for someone not in the roster (404) and after the bot was removed (403)', async () => {
    expect(echoed((await click(stranger)).body).identity).toBeNull();
    const kicked = teamChannel('19:team-kicked@thread.tacv2');
    h.fake.channel.addMember(kicked.teamId!, { id: bob.id, email: 'bob@example.com' });
    h.fake.channel.removeBot(kicked.teamId!);
    expect(echoed((await click(bob, 'approve', kicked)).body).identity).toBeNull();
  });

  it('answers with a message when the handler says so, and with an error for a non-Execute action', async () => {
    const said = await click(bob, 'say', general, { n: 1 });
    expect(said.body).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.activity.message',
      value: 'you said {"n":1}',
    });
    const submit = teamsActivities.cardAction(h.fake.channel, general, bob, {
      verb: 'approve',
      cardActivityId: '9',
    });
    (submit['value'] as { action: { type: string } }).action.type = 'Action.Submit';
    const refused = await sendActivity(h.host.url, h.fake.channel, submit);
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' });
  });

  it('hands a message over without the bot mention', async () => {
    const message = teamsActivities.message(h.fake.channel, general, bob, '<at>Countersign</at> report 7d');
    message['entities'] = [
      {
        type: 'mention',
        text: '<at>Countersign</at>',
        mentioned: { id: h.fake.channel.botId, name: 'Countersign' },
      },
    ];
    expect((await sendActivity(h.host.url, h.fake.channel, message)).status).toBe(200);
    const reply = h.fake.channel.messages(general.id).at(-1);
    const echoedMessage = JSON.parse(String(reply?.activity['text'])) as { message: Record<string, unknown> };
    expect(echoedMessage.message).toMatchObject({
      text: 'report 7d',
      conversationId: general.id,
      conversationType: 'channel',
      from: { id: bob.id, aadObjectId: bob.aadObjectId },
    });
  });

  describe('file consent in a personal chat', () => {
    const dana = fakeUser('dana');
    const chat = personalChat(dana);
    const offered = async () => {
      expect(
        (
          await sendActivity(
            h.host.url,
            h.fake.channel,
            teamsActivities.message(h.fake.channel, chat, dana, 'file'),
          )
        ).status,
      ).toBe(200);
      const consent = h.fake.channel.messages(chat.id).at(-1);
      const attachment = (consent?.activity['attachments'] as Record<string, unknown>[])[0] as {
        contentType: string;
        name: string;
        content: {
          sizeInBytes: number;
          acceptContext: { offerId: string };
          declineContext: { offerId: string };
        };
      };
      expect(attachment.contentType).toBe('application/vnd.microsoft.teams.card.file.consent');
      return { attachment, cardId: consent!.id };
    };
    const lastEcho = () =>
      JSON.parse(String(h.fake.channel.messages(chat.id).at(-1)?.activity['text'])) as {
        fileConsent: Record<string, unknown>;
      };

    it('uploads the bytes on accept and shows a file info card', async () => {
      const { attachment, cardId } = await offered();
      expect(attachment).toMatchObject({ name: 'report.csv', content: { sizeInBytes: 22 } });
      const accept = teamsActivities.fileConsent(h.fake.channel, chat, dana, {
        action: 'accept',
        context: attachment.content.acceptContext,
        fileName: 'report.csv',
        replyToId: cardId,
      });
      expect((await sendActivity(h.host.url, h.fake.channel, accept)).status).toBe(200);
      const upload = await pollUntil(() => h.fake.channel.uploads.get('report.csv'), Boolean, {
        what: 'the upload',
      });
      expect(upload?.bytes.toString('utf8')).toBe('id,status\nr1,approved\n');
      expect(upload?.contentRange).toBe('bytes 0-21/22');
      const info = h.fake.channel
        .messages(chat.id)
        .find((m) =>
          (m.activity['attachments'] as { contentType: string }[] | undefined)?.some(
            (a) => a.contentType === 'application/vnd.microsoft.teams.card.file.info',
          ),
        );
      expect(info?.activity['attachments']).toMatchObject([
        { name: 'report.csv', content: { fileType: 'csv' } },
      ]);
      expect(lastEcho().fileConsent).toMatchObject({
        action: 'accept',
        outcome: 'uploaded',
        fileName: 'report.csv',
      });
      expect(await h.db.prisma.teamsFileOffer.count()).toBe(0);
    });

    it('uploads nothing on decline, and ignores an answer from someone else', async () => {
      h.fake.channel.uploads.clear();
      const { attachment } = await offered();
      const intruder = teamsActivities.fileConsent(h.fake.channel, chat, fakeUser('mallory'), {
        action: 'accept',
        context: attachment.content.acceptContext,
        fileName: 'stolen.csv',
      });
      expect((await sendActivity(h.host.url, h.fake.channel, intruder)).status).toBe(200);
      expect(lastEcho().fileConsent).toMatchObject({ outcome: 'unknown_offer' });
      const decline = teamsActivities.fileConsent(h.fake.channel, chat, dana, {
        action: 'decline',
        context: attachment.content.declineContext,
        fileName: 'report.csv',
      });
      expect((await sendActivity(h.host.url, h.fake.channel, decline)).status).toBe(200);
      expect(lastEcho().fileConsent).toMatchObject({ action: 'decline', outcome: 'declined' });
      expect(h.fake.channel.uploads.size).toBe(0);
      expect(await h.db.prisma.teamsFileOffer.count()).toBe(0);
    });
  });
});
