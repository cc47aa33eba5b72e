// Slack and Teams in one server: a request posted to both keeps every card in step, quorum counts
// distinct people across the two platforms, Teams conversations the bot was never added to are
// refused at creation, a removed bot's card is failed and visible, other tenants are refused.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TENANT_ID, fakeUser, teamChannel } from '../support/fake-teams/teams-activities.ts';
import { startFakeSlack, type FakeSlack, type FakeSlackMessage } from '../support/fake-slack.ts';
import { blockText, hasButtons, SLACK_USERS } from '../support/slack-harness.ts';
import { createSlackDriver, type SlackDriver } from '../support/slack-driver.ts';
import { pollUntil } from '../support/poll.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:platform-team@thread.tacv2';
const CHANNEL = '19:security-approvals@thread.tacv2';
const SLACK_CHANNEL = 'C0SEC';
const where = teamChannel(TEAM, CHANNEL, 'Security approvals');

const POLICY = `groups:
  security: [bob@example.com, carol@example.com, dave@example.com]
rules:
  - name: privilege-escalation
    actions: ["iam.*"]
    approvers: [group:security]
    quorum: 2
    channel: [slack:${SLACK_CHANNEL}, "teams:${CHANNEL}"]
  - name: everything-else
    actions: ["*"]
    approvers: [group:security]
    channels: ["teams:${CHANNEL}", "teams:19:never-added@thread.tacv2", "teams:19:removed@thread.tacv2"]
`;

const bob = { ...fakeUser('bob'), email: 'bob@example.com' };
const carol = { ...fakeUser('carol'), email: 'carol@example.com' };
const stranger = { ...fakeUser('mallory'), email: 'dave@example.com' };

function teamsText(version: Record<string, unknown> | undefined): string {
  return JSON.stringify(version ?? {});
}

describe('Slack and Teams together', () => {
  let s: TeamsServer;
  let slack: FakeSlack;
  let driver: SlackDriver;
  beforeAll(async () => {
    slack = await startFakeSlack({ users: SLACK_USERS });
    const signingSecret = randomBytes(16).toString('hex');
    s = await startTeamsServer({
      policyYaml: POLICY,
      teams: { tenantId: FAKE_TENANT_ID },
      env: {
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: slack.url,
        SLACK_POST_INTERVAL_MS: '100',
      },
    });
    driver = createSlackDriver({ url: s.url, signingSecret });
    for (const m of [bob, carol, stranger]) {
      s.fake.channel.addMember(TEAM, {
        id: m.id,
        aadObjectId: m.aadObjectId,
        name: m.name,
        email: m.email,
        tenantId: FAKE_TENANT_ID,
      });
    }
    expect((await s.install(where, bob)).status).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
    await slack?.close();
  });

  async function slackCard(requestId: string): Promise<FakeSlackMessage> {
    const row = await pollUntil(
      () =>
        s.db.prisma.chatCard.findUnique({
          where: { requestId_channel: { requestId, channel: `slack:${SLACK_CHANNEL}` } },
        }),
      (card) => Boolean(card?.messageId),
      { what: 'the Slack card' },
    );
    const message = slack.message(SLACK_CHANNEL, row?.messageId ?? '');
    if (!message) throw new Error('no Slack message');
    return message;
  }

  it('posts to both, counts bob once across Slack and Teams, and keeps both cards in step', async () => {
    const created = await s.create({ action: 'iam.role.grant', title: 'Grant admin' });
    expect(created.channels).toEqual([`slack:${SLACK_CHANNEL}`, `teams:${CHANNEL}`]);
    const teamsCard = await s.waitForCard(created.id, CHANNEL);
    const slackMessage = await slackCard(created.id);
    expect(blockText(slackMessage)).toContain('Grant admin');
    expect((await s.get(created.id)).cards.map((c) => [c.channel, c.status])).toEqual([
      [`slack:${SLACK_CHANNEL}`, 'posted'],
      [`teams:${CHANNEL}`, 'posted'],
    ]);

    // bob approves in Slack: the Teams card shows the progress too.
    const click = driver.blockAction({
      userId: 'U0BOB',
      channelId: SLACK_CHANNEL,
      messageTs: slackMessage.ts,
      actionId: 'countersign_approve',
      message: slackMessage,
    });
    expect((await driver.send(click)).status).toBe(200);
    await pollUntil(
      () => s.fake.channel.message(teamsCard.id),
      (m) => teamsText(m?.versions.at(-1)).includes('1 of 2 approvals'),
      { what: 'the Teams card at 1 of 2' },
    );

    // bob again, now in Teams: the same person, still one approval.
    const again = await s.click(where, bob, teamsCard, 'approve', { requestId: created.id });
    expect(JSON.stringify(again.body)).toContain('1 of 2 approvals');
    expect((await s.get(created.id)).status).toBe('pending');

    // carol in Teams: the verdict; the Slack card loses its buttons.
    await s.click(where, carol, teamsCard, 'approve', { requestId: created.id });
    const approved = await s.waitForStatus(created.id, 'approved');
    expect(approved.decisions.map((d) => [d.approver.email, d.approver.platform])).toEqual([
      ['bob@example.com', 'slack'],
      ['carol@example.com', 'teams'],
    ]);
    await pollUntil(
      () => slack.message(SLACK_CHANNEL, slackMessage.ts),
      (m) => m !== undefined && !hasButtons(m) && blockText(m).includes('Approved'),
      { what: 'the Slack card approved' },
    );
  });

  it('warns at start-up about policy channels the bot is not in', () => {
    const warnings = s.serve
      .logLines()
      .filter((l) => String(l['msg']).startsWith('the policy names a Teams conversation'));
    expect(warnings.map((l) => l['channel']).sort()).toEqual(
      [`teams:${CHANNEL}`, 'teams:19:never-added@thread.tacv2', 'teams:19:removed@thread.tacv2'].sort(),
    );
  });

  it('refuses a request for a Teams conversation the bot was never added to (422, nothing stored)', async () => {
    const response = await fetch(`${s.url}/v1/approvals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.apiKey.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        action: 'db.export',
        requester: { email: 'alice@example.com' },
        channel: 'teams:19:never-added@thread.tacv2',
      }),
    });
    expect(response.status).toBe(422);
    const problem = (await response.json()) as { code: string; errors: { pointer: string }[] };
    expect(problem.code).toBe('CHANNEL_NOT_CONNECTED');
    expect(problem.errors.map((e) => e.pointer)).toEqual(['/channel']);
    const count = await s.db.prisma.approvalRequest.count({
      where: { action: 'db.export', channel: 'teams:19:never-added@thread.tacv2' },
    });
    expect(count).toBe(0);
  });

  it('shows the card as failed when the bot was removed from the team after the request', async () => {
    const removedChannel = '19:removed@thread.tacv2';
    const removedWhere = teamChannel('19:other-team@thread.tacv2', removedChannel, 'Other');
    expect((await s.install(removedWhere, bob)).status).toBe(200);
    // The bot is dropped from the roster without Teams telling us (no conversationUpdate yet).
    s.fake.channel.removeBot(removedChannel);
    const created = await s.create({ action: 'db.export', channel: `teams:${removedChannel}` });
    const approval = await pollUntil(
      () => s.get(created.id),
      (a) => a.cards[0]?.status === 'failed',
      { what: 'the card failed' },
    );
    expect(approval.cards[0]).toMatchObject({ channel: `teams:${removedChannel}`, status: 'failed' });
    expect(approval.cards[0]?.error).toMatch(/BotNotInConversationRoster|403/);
    const metrics = await fetch(`${s.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^countersign_chat_cards\{platform="teams",status="failed"\} [1-9]/m);
  });

  it('refuses a clicker from another tenant, whatever their email, and audits it', async () => {
    const created = await s.create({ action: 'db.export', channel: `teams:${CHANNEL}` });
    const card = await s.waitForCard(created.id, CHANNEL);
    const foreignWhere = { ...where, tenantId: '00000000-0000-4000-8000-0000000f0e19' };
    const answer = await s.click(foreignWhere, stranger, card, 'approve', { requestId: created.id });
    expect(JSON.stringify(answer.body)).toContain('belongs to another organisation');
    expect((await s.get(created.id)).decisions).toEqual([]);
    const events = await s.db.prisma.auditEvent.findMany({
      where: { requestId: created.id, type: 'decision.refused' },
    });
    expect(events.map((e) => (e.payload as { reason: string }).reason)).toEqual(['foreign_tenant']);
  });
});
