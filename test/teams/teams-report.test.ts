// The report command in a personal chat with the bot: an auditor gets the summary as a card and
// the CSV through Teams' file consent flow; anyone else is refused and the attempt is audited. The
// bot's connector calls (member look-up, replies) show in countersign_chat_api_calls_total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatApiCalls, expectedTeamsCounts, waitForCallCounts } from '../support/chat-api-call-counts.ts';
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
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const POLICY = `groups:
  auditors: [Erin@example.com]
  security: [bob@example.com]
rules:
  - name: everything
    actions: ["*"]
    approvers: [group:security]
`;

const erin = { ...fakeUser('erin'), email: 'erin@example.com' };
const bob = { ...fakeUser('bob'), email: 'bob@example.com' };

type Attachment = { contentType: string; name?: string; content: Record<string, unknown> };

function attachmentsOf(activity: Record<string, unknown>): Attachment[] {
  return (activity['attachments'] as Attachment[] | undefined) ?? [];
}

describe('the report command in Teams', () => {
  let s: TeamsServer;
  beforeAll(async () => {
    s = await startTeamsServer({ policyYaml: POLICY });
    for (const user of [erin, bob]) {
      s.fake.channel.addMember(personalChat(user).id, {
        id: user.id,
        aadObjectId: user.aadObjectId,
        name: user.name,
        email: user.email,
        tenantId: FAKE_TENANT_ID,
      });
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  function say(user: FakeTeamsUser, text: string, where = personalChat(user)) {
    return sendActivity(s.url, s.fake.channel, teamsActivities.message(s.fake.channel, where, user, text));
  }

  async function reportEvents(type: string) {
    return s.db.prisma.auditEvent.findMany({ where: { type }, orderBy: { seq: 'asc' } });
  }

  it('gives an auditor the summary card and the CSV through file consent', async () => {
    await s.create({ action: 'db.export', title: 'something to report' });
    const chat = personalChat(erin);
    const countsBefore = await chatApiCalls(s.url);
    const callsBefore = s.fake.channel.calls.length;
    expect((await say(erin, 'report 7d')).status).toBe(200);
    const messages = await pollUntil(
      () => s.fake.channel.messages(chat.id),
      (all) => all.some((m) => attachmentsOf(m.activity).some((a) => a.contentType.includes('file.consent'))),
      { what: 'the file consent card' },
    );
    const summary = messages.find((m) =>
      attachmentsOf(m.activity).some((a) => a.contentType === 'application/vnd.microsoft.card.adaptive'),
    );
    const summaryText = JSON.stringify(summary?.activity);
    expect(summaryText).toContain('Countersign audit report');
    expect(summaryText).toContain('Audit chain intact');
    const consentMessage = messages.find((m) =>
      attachmentsOf(m.activity).some((a) => a.contentType.includes('file.consent')),
    );
    const consent = attachmentsOf(consentMessage?.activity ?? {})[0];
    expect(consent?.name).toMatch(/\.csv$/);
    const fileName = consent?.name ?? '';

    const accept = teamsActivities.fileConsent(s.fake.channel, chat, erin, {
      action: 'accept',
      context: consent?.content['acceptContext'],
      fileName,
      ...(consentMessage ? { replyToId: consentMessage.id } : {}),
    });
    expect((await sendActivity(s.url, s.fake.channel, accept)).status).toBe(200);
    const upload = await pollUntil(() => s.fake.channel.uploads.get(fileName), Boolean, {
      what: 'the upload',
    });
    const csv = upload?.bytes.toString('utf8') ?? '';
    // The report CSV opens with a `#` line naming the period, then the header.
    const [periodLine, header] = csv.split('\n');
    expect(periodLine).toMatch(/^# Countersign audit report: period /);
    expect(header).toMatch(/^id,created_at,action,/);
    expect(csv).toContain('db.export');
    const generated = await reportEvents('report.generated');
    expect(generated.at(-1)).toMatchObject({ actor: 'erin@example.com' });
    expect(generated.at(-1)?.payload).toMatchObject({ origin: { platform: 'teams', channelId: chat.id } });

    // Erin's member look-up, the summary card, the consent card and the file info card.
    await pollUntil(
      () => s.fake.channel.messages(chat.id),
      (all) => all.some((m) => attachmentsOf(m.activity).some((a) => a.contentType.includes('file.info'))),
      { what: 'the file info card' },
    );
    const least = { 'teams getConversationMember ok': 1, 'teams replyToActivity ok': 3 };
    const counted = await waitForCallCounts(s.url, countsBefore, least);
    expect(counted).toMatchObject(least);
    expect(counted).toEqual(expectedTeamsCounts(s.fake.channel.calls, callsBefore));
  });

  it('refuses a non-auditor privately and audits the attempt', async () => {
    const chat = personalChat(bob);
    const before = s.fake.channel.messages(chat.id).length;
    expect((await say(bob, 'report')).status).toBe(200);
    const reply = await pollUntil(
      () => s.fake.channel.messages(chat.id).slice(before),
      (m) => m.length > 0,
      { what: 'the refusal' },
    );
    expect(String(reply[0]?.activity['text'])).toContain('Only members of the policy group `auditors`');
    expect(reply.some((m) => attachmentsOf(m.activity).length > 0)).toBe(false);
    const refused = await reportEvents('report.refused');
    expect(refused.at(-1)).toMatchObject({ actor: 'bob@example.com' });
    expect(refused.at(-1)?.payload).toMatchObject({ reason: 'not_auditor', origin: { platform: 'teams' } });
  });

  it('shows the usage for help, and says reports come in a personal chat', async () => {
    const chat = personalChat(bob);
    const before = s.fake.channel.messages(chat.id).length;
    await say(bob, 'help');
    const [usage] = await pollUntil(
      () => s.fake.channel.messages(chat.id).slice(before),
      (m) => m.length > 0,
    );
    expect(String(usage?.activity['text'])).toContain('Usage: write `report`');
    const channel = teamChannel('19:team@thread.tacv2', '19:ops@thread.tacv2', 'Ops');
    const inChannel = await say(erin, 'report', channel);
    expect(inChannel.status).toBe(200);
    const [told] = await pollUntil(
      () => s.fake.channel.messages('19:ops@thread.tacv2'),
      (m) => m.length > 0,
    );
    expect(String(told?.activity['text'])).toContain('personal chat');
  });
});
