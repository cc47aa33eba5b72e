// Slack over Socket Mode, against a local socket endpoint speaking Slack's envelope protocol: the
// server opens the socket with the app token (apps.connections.open at SLACK_API_URL), acks every
// envelope, decides and refuses clicks as over HTTP, reconnects when Slack asks; and in both modes
// app_uninstalled / tokens_revoked (or a revoked token's answer) stop all card calls and show in
// /readyz.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlackMessage } from '../support/fake-slack.ts';
import { capturingLogger, type CapturedLog } from '../support/logging.ts';
import { pollUntil } from '../support/poll.ts';
import {
  APPROVE,
  CHANNEL,
  TEAM_POLICY_YAML,
  blockText,
  hasButtons,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';

interface ReadyBody {
  status: string;
  chat?: Record<string, { mode: string; connected: boolean; revoked?: { reason: string; at: string } }>;
}

interface CardsBody {
  cards: { channel: string; status: string; error: string | null }[];
}

const readyz = async (h: SlackHarness) => {
  const response = await h.t.call<ReadyBody>('GET', '/readyz');
  expect(response.status).toBe(200);
  return response.body;
};

const waitForSlackLink = (
  h: SlackHarness,
  done: (slack: NonNullable<ReadyBody['chat']>['slack']) => boolean,
) =>
  pollUntil(
    () => readyz(h),
    (body) => body.chat?.['slack'] !== undefined && done(body.chat['slack']),
    { what: 'the Slack link state in /readyz' },
  );

const waitForFailedCard = (h: SlackHarness, requestId: string) =>
  pollUntil(
    async () => (await h.t.call<CardsBody>('GET', `/v1/approvals/${requestId}`, { key: h.key })).body.cards,
    (cards) => cards.every((card) => card.status === 'failed'),
    { what: `the cards of ${requestId} to be marked failed` },
  );

/** Platform calls after `from` other than the socket's own apps.connections.open. */
const chatCallsSince = (h: SlackHarness, from: number) =>
  h.fake
    .calls()
    .filter((c) => c.seq >= from && c.method !== 'apps.connections.open')
    .map((c) => c.method);

describe('Slack over Socket Mode', () => {
  let h: SlackHarness;
  let captured: CapturedLog;
  beforeAll(async () => {
    captured = capturingLogger('debug');
    h = await startSlackHarness({ socketMode: true, policyYaml: TEAM_POLICY_YAML, log: captured.log });
  });
  afterAll(async () => {
    await h?.close();
  });

  const socket = () => {
    if (!h.socket) throw new Error('the harness runs in Socket Mode');
    return h.socket;
  };
  const clickOverSocket = (userId: string, card: FakeSlackMessage) =>
    socket().send('interactive', h.clickPayload(userId, card, APPROVE));

  it('opens the socket with the app token through SLACK_API_URL, without a signing secret or request URL', async () => {
    const [open] = h.fake.calls('apps.connections.open');
    expect(open).toMatchObject({ token: h.fake.appToken, ok: true });
    expect(await waitForSlackLink(h, (slack) => slack.connected)).toEqual({
      status: 'ready',
      chat: { slack: { mode: 'socket', connected: true } },
    });
    expect(socket().openConnections()).toBe(1);
    // No HTTP receiver: nothing answers at /slack/events.
    expect((await h.driver.send(h.driver.urlVerification('challenge-1'))).status).toBe(404);
  });

  it('acks an events_api envelope (a tokens_revoked for user tokens only leaves cards running)', async () => {
    const event = h.driver.eventCallback({
      event: { type: 'tokens_revoked', tokens: { oauth: ['U0ALICE'] }, event_ts: h.driver.nowTs() },
    });
    const ack = await socket().send('events_api', event.payload);
    expect(ack.envelopeId).toEqual(expect.any(String));
    expect((await readyz(h)).chat).toEqual({ slack: { mode: 'socket', connected: true } });
  });

  it('records an approve click from an interactive envelope: acked, decided, audited, card updated', async () => {
    const created = await h.create({ action: 'db.export', title: 'Export over the socket' });
    const card = await h.waitForCard(created.id);

    const ack = await clickOverSocket('U0BOB', card);
    expect(
      socket()
        .acks()
        .map((a) => a.envelopeId),
    ).toContain(ack.envelopeId);

    const approved = await h.waitForStatus(created.id, 'approved');
    expect(approved.decisions).toEqual([
      expect.objectContaining({
        approver: {
          email: 'bob@example.com',
          platform: 'slack',
          platformUserId: 'U0BOB',
          displayName: 'Bob',
        },
        verdict: 'approve',
      }),
    ]);
    expect((await h.audit(created.id)).map((e) => e.type)).toEqual(
      expect.arrayContaining(['decision.recorded', 'request.approved']),
    );
    const updated = await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the approved card');
    expect(blockText(updated)).toContain('*✅ Approved* by *Bob (bob@example.com)*');
  });

  it('refuses a self-approval click over the socket as over HTTP: private sentence, audited, still pending', async () => {
    const created = await h.create({ action: 'db.export', requester: { email: 'alice@example.com' } });
    const card = await h.waitForCard(created.id);
    const before = h.fake.ephemerals().length;

    await clickOverSocket('U0ALICE', card);

    const [ephemeral] = (await h.fake.waitForEphemerals(before + 1)).slice(before);
    expect(ephemeral).toMatchObject({
      user: 'U0ALICE',
      text: 'You asked for this action, or you own the agent that asked for it, so you cannot approve or deny it.',
    });
    const [refusal] = await h.waitForRefusals(created.id, 1);
    expect(refusal).toMatchObject({ actor: 'alice@example.com', payload: { reason: 'self_approval' } });
    expect((await h.get(created.id)).status).toBe('pending');
    expect(await h.decisions(created.id)).toEqual([]);
  });

  it('refuses a click from another workspace over the socket, as over HTTP', async () => {
    const created = await h.create({ action: 'db.export' });
    const card = await h.waitForCard(created.id);
    const before = h.fake.ephemerals().length;
    const click = h.driver.blockAction({
      userId: 'U0BOB',
      teamId: 'T0STRANGER',
      channelId: card.channel,
      messageTs: card.ts,
      actionId: APPROVE,
      message: card,
    });
    await socket().send('interactive', click.payload);
    const [told] = (await h.fake.waitForEphemerals(before + 1)).slice(before);
    expect(told?.text).toContain('belongs to another organisation');
    const [refusal] = await h.waitForRefusals(created.id, 1);
    expect(refusal).toMatchObject({ actor: 'bob@example.com', payload: { reason: 'foreign_tenant' } });
    expect(await h.decisions(created.id)).toEqual([]);
  });

  it('answers a slash_commands envelope in its ack payload (accepts_response_payload)', async () => {
    const command = h.driver.slashCommand({
      userId: 'U0BOB',
      channelId: CHANNEL,
      command: '/countersign',
      text: 'help',
    });
    const ack = await socket().send('slash_commands', command.payload, { acceptsResponsePayload: true });
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(ack.payload?.['text']).toContain('Usage: `/countersign report [7d|30d|<from>..<to>]`');
  });

  it('reconnects with a fresh ticket when Slack sends disconnect, and keeps taking clicks', async () => {
    const opens = h.fake.calls('apps.connections.open').length;
    socket().disconnect('refresh_requested');
    await socket().waitForHellos(2, { timeoutMs: 20_000 });
    expect(h.fake.calls('apps.connections.open')).toHaveLength(opens + 1);
    await waitForSlackLink(h, (slack) => slack.connected);

    const created = await h.create({ action: 'db.export', title: 'After the reconnect' });
    const card = await h.waitForCard(created.id);
    await clickOverSocket('U0CAROL', card);
    await h.waitForStatus(created.id, 'approved');
    expect(socket().strayFrames()).toEqual([]);
  });

  it('app_uninstalled: logged, /readyz shows Slack revoked, cards fail without another chat call', async () => {
    const posted = await h.create({ action: 'db.export', title: 'Posted before the uninstall' });
    await h.waitForCard(posted.id);

    const event = h.driver.eventCallback({ event: { type: 'app_uninstalled' } });
    await socket().send('events_api', event.payload);
    h.fake.revokeBotToken(); // what Slack answers from now on
    const revoked = await waitForSlackLink(h, (slack) => slack.revoked !== undefined);
    expect(revoked.chat?.['slack']).toMatchObject({
      mode: 'socket',
      connected: false,
      revoked: { reason: 'app_uninstalled' },
    });
    expect(Date.parse(revoked.chat?.['slack']?.revoked?.at ?? '')).not.toBeNaN();

    const from = h.fake.calls().length;
    const fresh = await h.create({ action: 'db.export', title: 'After the uninstall' });
    expect(
      (await h.t.call('POST', `/v1/approvals/${posted.id}/cancel`, { key: h.key, body: {} })).status,
    ).toBe(200);
    expect(await waitForFailedCard(h, fresh.id)).toEqual([
      { channel: `slack:${CHANNEL}`, status: 'failed', error: 'app_uninstalled', postedAt: null },
    ]);
    expect((await waitForFailedCard(h, posted.id))[0]?.error).toBe('app_uninstalled');
    expect(chatCallsSince(h, from)).toEqual([]);
    // Logged at warn (pino level 40), once, naming the event.
    const warnings = captured.lines().filter((l) => l['level'] === 40 && l['platform'] === 'slack');
    expect(warnings).toEqual([expect.objectContaining({ reason: 'app_uninstalled' })]);
  });

  it('never logs the app or bot token, even at debug', () => {
    expect(captured.text().length).toBeGreaterThan(0);
    expect(captured.text()).not.toContain(h.fake.appToken);
    expect(captured.text()).not.toContain(h.fake.botToken);
  });
});

describe('Slack over HTTP: revoked tokens', () => {
  it('tokens_revoked for the bot (signed event): /readyz shows it, cards fail without a chat call', async () => {
    const h = await startSlackHarness();
    try {
      expect((await readyz(h)).chat).toEqual({ slack: { mode: 'http', connected: true } });
      // Another workspace's revocation is not ours.
      const foreign = h.driver.eventCallback({
        teamId: 'T0OTHERTEAM',
        event: { type: 'tokens_revoked', tokens: { bot: ['U0OTHERBOT'] } },
      });
      expect((await h.driver.send(foreign)).status).toBe(200);
      const ours = h.driver.eventCallback({
        event: { type: 'tokens_revoked', tokens: { bot: [h.fake.botUserId] } },
      });
      expect((await h.driver.send(ours)).status).toBe(200);
      h.fake.revokeBotToken();
      const revoked = await waitForSlackLink(h, (slack) => slack.revoked !== undefined);
      expect(revoked.chat?.['slack']).toMatchObject({
        mode: 'http',
        connected: false,
        revoked: { reason: 'tokens_revoked' },
      });

      const from = h.fake.calls().length;
      const created = await h.create({ action: 'db.export' });
      expect((await waitForFailedCard(h, created.id))[0]?.error).toBe('tokens_revoked');
      expect(chatCallsSince(h, from)).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('a revoked token learned from a call: that card fails, the next makes no call', async () => {
    const h = await startSlackHarness();
    try {
      h.fake.revokeBotToken();
      const first = await h.create({ action: 'db.export' });
      expect((await waitForFailedCard(h, first.id))[0]?.error).toBe('token_revoked');
      expect((await readyz(h)).chat?.['slack']).toMatchObject({
        connected: false,
        revoked: { reason: 'token_revoked' },
      });

      const from = h.fake.calls().length;
      const second = await h.create({ action: 'db.export' });
      expect((await waitForFailedCard(h, second.id))[0]?.error).toBe('token_revoked');
      expect(chatCallsSince(h, from)).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
