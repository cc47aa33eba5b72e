// Nobody left waiting, on Slack: reminders in the card's thread mention only the approvers who have
// not decided (an email Slack does not know is skipped and counted), none after the verdict; the
// escalation adds approvers, posts a second card and its approver's click counts (the requester
// still cannot decide); the requester gets a DM at every verdict; and the jobs survive a restart
// and fire once with three servers on one database. Short durations and event waits, no sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { startFakeSlack, type FakeSlack, type FakeSlackMessage } from '../support/fake-slack.ts';
import { pollUntil } from '../support/poll.ts';
import {
  APPROVE,
  CHANNEL,
  DENY,
  DENY_REASON_BLOCK,
  DENY_REASON_INPUT,
  SLACK_USERS,
  blockText,
  hasButtons,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const ESCALATION_CHANNEL = 'C0ESCALATE';

const POLICY = `defaults:
  channel: slack:${CHANNEL}
groups:
  security-leads: [dave@example.com, erin@example.com]
rules:
  - name: reminded
    actions: ["deploy.*"]
    approvers: [bob@example.com, carol@example.com, nobody@example.com]
    quorum: 2
    remind: [3s, 6s]
  - name: escalated
    actions: ["iam.*"]
    approvers: [bob@example.com]
    escalate: { after: 2s, approvers: [group:security-leads], channel: slack:${ESCALATION_CHANNEL} }
  - name: quiet
    actions: ["quiet.*"]
    approvers: [bob@example.com]
    notifyRequester: false
  - name: once
    actions: ["once.*"]
    approvers: [bob@example.com]
    remind: [2s]
  - name: everything-else
    actions: ["*"]
    approvers: [bob@example.com, carol@example.com]
`;

/** The state of the follow-up job with this singleton key (pg-boss's own table). */
async function jobState(url: string, singletonKey: string): Promise<string | undefined> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<{ state: string }>(
      `SELECT state::text AS state FROM pgboss.job WHERE name = 'request-follow-up' AND singleton_key = $1`,
      [singletonKey],
    );
    return rows[0]?.state;
  });
}

const waitForJobDone = (url: string, key: string) =>
  pollUntil(
    () => jobState(url, key),
    (state) => state === 'completed',
    { what: `follow-up job ${key} to complete`, timeoutMs: 30_000 },
  );

const threadReplies = (fake: FakeSlack, channel: string, ts: string): FakeSlackMessage[] =>
  fake.messages(channel).filter((m) => m.threadTs === ts);

const dmsTo = (fake: FakeSlack, userId: string): FakeSlackMessage[] => {
  const channel = fake.dmChannel(userId);
  return channel ? fake.messages(channel) : [];
};

describe('reminders, escalation and the requester told, on Slack', () => {
  let h: SlackHarness;

  beforeAll(async () => {
    h = await startSlackHarness({
      policyYaml: POLICY,
      env: { COUNTERSIGN_PUBLIC_URL: 'https://countersign.example.com' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reminds only the approvers who have not decided, counts an unknown email, and stops at the verdict', async () => {
    const created = await h.create({ action: 'deploy.production', title: 'Ship 1.2' });
    const card = await h.waitForCard(created.id);
    expect((await h.click('U0BOB', card, APPROVE)).status).toBe(200);
    await pollUntil(
      () => h.decisions(created.id),
      (rows) => rows.length === 1,
      { what: "bob's approval" },
    );

    const [first] = await pollUntil(
      () => Promise.resolve(threadReplies(h.fake, CHANNEL, card.ts)),
      (replies) => replies.length >= 1,
      { what: 'the first reminder', timeoutMs: 30_000 },
    );
    expect(first?.text).toContain('<@U0CAROL>');
    expect(first?.text).not.toContain('<@U0BOB>');
    expect(first?.text).toMatch(/Reminder/);
    // The reply is posted inside the step's transaction: its event is visible once that commits.
    const reminded = await pollUntil(
      async () => (await h.audit(created.id)).filter((e) => e.type === 'request.reminded'),
      (events) => events.length >= 1,
      { what: 'the request.reminded event' },
    );
    expect(reminded).toHaveLength(1);
    expect(reminded[0]?.payload).toEqual({
      step: 1,
      channels: [{ channel: `slack:${CHANNEL}`, mentioned: ['carol@example.com'] }],
      unresolved: ['nobody@example.com'],
    });

    // Carol approves before the second step: the verdict cancels it (the job finds nothing to do).
    expect((await h.click('U0CAROL', card, APPROVE)).status).toBe(200);
    await h.waitForStatus(created.id, 'approved');
    await waitForJobDone(h.t.database.url, `${created.id}:remind:2`);
    expect(threadReplies(h.fake, CHANNEL, card.ts)).toHaveLength(1);
    expect((await h.audit(created.id)).filter((e) => e.type === 'request.reminded')).toHaveLength(1);

    // The requester hears the outcome directly, with who decided and the console link.
    const [dm] = await pollUntil(
      () => Promise.resolve(dmsTo(h.fake, 'U0ALICE')),
      (messages) => messages.some((m) => m.text?.includes(created.id)),
      { what: "alice's DM about the approval" },
    ).then((messages) => messages.filter((m) => m.text?.includes(created.id)));
    expect(dm?.text).toContain('approved by bob@example.com, carol@example.com');
    expect(dm?.text).toContain(`https://countersign.example.com/requests/${created.id}`);
    const notified = (await h.audit(created.id)).filter((e) => e.type === 'requester.notified');
    expect(notified.map((e) => e.payload)).toEqual([
      { status: 'approved', via: 'direct_message', platform: 'slack', detail: null },
    ]);
  });

  it('escalates: adds the approvers, posts the second card, marks the first, and the new approver decides', async () => {
    const created = await h.create({ action: 'iam.grant', title: 'Grant admin' });
    const card = await h.waitForCard(created.id);
    // Dave may not decide before the escalation.
    expect((await h.click('U0DAVE', card, APPROVE)).status).toBe(200);
    await h.waitForRefusals(created.id, 1);

    const second = await h.waitForCard(created.id, ESCALATION_CHANNEL, { timeoutMs: 30_000 });
    expect(hasButtons(second)).toBe(true);
    await h.waitForMessage(
      card.ts,
      (m) => blockText(m).includes('Escalated'),
      'the first card to say escalated',
    );
    const escalated = (await h.audit(created.id)).filter((e) => e.type === 'request.escalated');
    expect(escalated.map((e) => e.payload)).toEqual([
      {
        approvers: ['dave@example.com', 'erin@example.com'],
        channel: `slack:${ESCALATION_CHANNEL}`,
        afterSeconds: 2,
      },
    ]);

    expect((await h.click('U0DAVE', second, APPROVE)).status).toBe(200);
    await h.waitForStatus(created.id, 'approved');
    expect((await h.decisions(created.id)).map((d) => d.approverEmail)).toEqual(['dave@example.com']);
  });

  it('holds the self-approval rule for an escalation approver who asked', async () => {
    const created = await h.create({ action: 'iam.grant', requester: { email: 'erin@example.com' } });
    const card = await h.waitForCard(created.id);
    await h.waitForCard(created.id, ESCALATION_CHANNEL, { timeoutMs: 30_000 });
    await pollUntil(
      () => h.audit(created.id),
      (events) => events.some((e) => e.type === 'request.escalated'),
      { what: 'the escalation' },
    );
    expect((await h.click('U0ERIN', card, APPROVE)).status).toBe(200);
    const [refused] = await h.waitForRefusals(created.id, 1);
    expect(refused?.payload['reason']).toBe('self_approval');
    expect((await h.get(created.id)).status).toBe('pending');
  });

  it('tells the requester about a denial with its reason, an expiry and a cancellation; not when the rule says no', async () => {
    const denied = await h.create({ action: 'db.drop', title: 'Drop staging' });
    const card = await h.waitForCard(denied.id);
    const triggerId = h.driver.newTriggerId();
    const viewsBefore = h.fake.views().length;
    expect((await h.click('U0BOB', card, DENY, { triggerId })).status).toBe(200);
    const opened = (await h.fake.waitForViews(viewsBefore + 1)).at(-1);
    if (!opened) throw new Error('no modal opened');
    await h.driver.send(
      h.driver.viewSubmission({
        userId: 'U0BOB',
        callbackId: opened.view.callback_id ?? '',
        privateMetadata: opened.view.private_metadata ?? '',
        values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'not during the freeze' } },
        viewId: opened.id,
        ...(opened.view.blocks ? { blocks: opened.view.blocks } : {}),
      }),
    );
    await h.waitForStatus(denied.id, 'denied');

    const expired = await h.create({ action: 'db.export', expiresIn: 1 });
    await h.waitForStatus(expired.id, 'expired');

    const cancelled = await h.create({ action: 'db.export', title: 'Changed my mind' });
    const response = await h.t.call('POST', `/v1/approvals/${cancelled.id}/cancel`, { key: h.key });
    expect(response.status).toBe(200);

    const quiet = await h.create({ action: 'quiet.thing' });
    await h.t.call('POST', `/v1/approvals/${quiet.id}/cancel`, { key: h.key });

    const about = (id: string) => (messages: FakeSlackMessage[]) =>
      messages.find((m) => m.text?.includes(id));
    const dms = await pollUntil(
      () => Promise.resolve(dmsTo(h.fake, 'U0ALICE')),
      (messages) => [denied.id, expired.id, cancelled.id].every((id) => about(id)(messages)),
      { what: 'DMs about the denial, the expiry and the cancellation', timeoutMs: 30_000 },
    );
    expect(about(denied.id)(dms)?.text).toMatch(
      /denied by bob@example\.com\.\nReason: not during the freeze/,
    );
    expect(about(expired.id)(dms)?.text).toContain('expired');
    expect(about(cancelled.id)(dms)?.text).toContain('cancelled');

    await waitForJobDone(h.t.database.url, `${quiet.id}:notify-requester`);
    expect(about(quiet.id)(dmsTo(h.fake, 'U0ALICE'))).toBeUndefined();
    expect((await h.audit(quiet.id)).filter((e) => e.type === 'requester.notified')).toEqual([]);
  });
});

describe('follow-ups are durable and fire once', () => {
  let database: TestDatabase;
  let fake: FakeSlack;
  const signingSecret = 'follow-up-signing-secret';
  let apiKey: { key: string; clientId: string } | undefined;
  const running = new Set<SlackHarness>();

  beforeAll(async () => {
    database = await createTestDatabase();
    fake = await startFakeSlack({ users: SLACK_USERS });
  });
  afterAll(async () => {
    for (const server of running) await server.close();
    await fake?.close();
    await database?.drop();
  });

  async function start(workers: boolean): Promise<SlackHarness> {
    const server = await startSlackHarness({
      fake,
      database,
      signingSecret,
      policyYaml: POLICY,
      env: workers ? {} : { COUNTERSIGN_CHAT_WORKERS: '0' },
      ...(apiKey ? { apiKey } : {}),
    });
    apiKey ??= { key: server.key, clientId: server.clientId };
    running.add(server);
    return server;
  }

  async function stop(server: SlackHarness): Promise<void> {
    running.delete(server);
    await server.close();
  }

  it('fires a reminder scheduled by a server that stopped before it was due', async () => {
    const first = await start(false);
    const created = await first.create({ action: 'once.restart' });
    await stop(first);

    const second = await start(true);
    const card = await second.waitForCard(created.id);
    await pollUntil(
      () => Promise.resolve(threadReplies(fake, CHANNEL, card.ts)),
      (replies) => replies.length === 1,
      { what: 'the reminder after the restart', timeoutMs: 30_000 },
    );
    expect(threadReplies(fake, CHANNEL, card.ts)[0]?.text).toContain('<@U0BOB>');
    await stop(second);
  });

  it('posts each reminder once with three servers on one database', async () => {
    const servers = [await start(true), await start(true), await start(true)];
    const [one] = servers;
    if (!one) throw new Error('no server');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await one.create({ action: `once.replica${i}` })).id);
    for (const id of ids) await waitForJobDone(database.url, `${id}:remind:1`);
    for (const id of ids) {
      const card = await one.waitForCard(id);
      expect(threadReplies(fake, CHANNEL, card.ts)).toHaveLength(1);
      expect((await one.audit(id)).filter((e) => e.type === 'request.reminded')).toHaveLength(1);
    }
  });
});
