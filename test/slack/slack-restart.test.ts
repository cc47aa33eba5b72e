// Cards survive the process: a server that only enqueued (no chat workers) and then stopped leaves
// the card to the next server on the same database, which posts it exactly once; and a card that
// reached Slack just before a crash (post attempted, ts never stored) is found by its message
// metadata instead of being posted a second time.
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderApprovalCard } from '../../apps/server/src/chat/slack/cards.ts';
import { CARD_METADATA_EVENT } from '../../apps/server/src/chat/slack/slack-transport.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import {
  APPROVE,
  CHANNEL,
  SLACK_USERS,
  blockText,
  hasButtons,
  metadataRequestId,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

describe('Slack cards across a restart', () => {
  let database: TestDatabase;
  let fake: FakeSlack;
  const signingSecret = 'restart-test-signing-secret';
  let apiKey: { key: string; clientId: string } | undefined;
  const running = new Set<SlackHarness>();

  beforeAll(async () => {
    database = await createTestDatabase();
    fake = await startFakeSlack({ users: SLACK_USERS });
  });
  afterAll(async () => {
    for (const h of running) await h.close();
    await fake?.close();
    await database?.drop();
  });

  /** A server on the shared database and fake; `workers: false` enqueues flush jobs but runs none. */
  async function start(workers: boolean): Promise<SlackHarness> {
    const h = await startSlackHarness({
      fake,
      database,
      signingSecret,
      env: workers ? {} : { COUNTERSIGN_CHAT_WORKERS: '0' },
      ...(apiKey ? { apiKey } : {}),
    });
    apiKey ??= { key: h.key, clientId: h.clientId };
    running.add(h);
    return h;
  }

  async function stop(h: SlackHarness): Promise<void> {
    running.delete(h);
    await h.close();
  }

  const cardMessages = (requestId: string) =>
    fake.messages(CHANNEL).filter((m) => metadataRequestId(m) === requestId);

  const postsFor = (requestId: string) =>
    fake
      .calls('chat.postMessage')
      .filter((c) => typeof c.args['metadata'] === 'string' && c.args['metadata'].includes(requestId));

  async function queuedFlushJobs(): Promise<number> {
    return withPgClient(database.url, async (client) => {
      const { rows } = await client.query<{ count: number }>(
        `SELECT count(*)::int AS count FROM pgboss.job WHERE name = 'chat-flush' AND state = 'created'`,
      );
      return rows[0]?.count ?? 0;
    });
  }

  it('posts, exactly once, a card enqueued by a server that stopped before posting it', async () => {
    const first = await start(false);
    const created = await first.create({ action: 'deploy.staging', title: 'Enqueued before the restart' });
    expect(await first.cardRow(created.id)).toMatchObject({
      messageId: null,
      postAttemptedAt: null,
      shownVersion: 0,
    });
    expect(await queuedFlushJobs()).toBeGreaterThanOrEqual(1);
    await stop(first);
    expect(fake.calls('chat.postMessage')).toEqual([]);

    const second = await start(true);
    const card = await second.waitForCard(created.id);
    expect(metadataRequestId(card)).toBe(created.id);
    expect(hasButtons(card)).toBe(true);
    expect(cardMessages(created.id)).toHaveLength(1);
    expect(postsFor(created.id).filter((c) => c.ok)).toHaveLength(1);

    // The card works on the new server: a click decides the request.
    expect((await second.click('U0BOB', card, APPROVE)).status).toBe(200);
    await second.waitForStatus(created.id, 'approved');
    await second.waitForMessage(card.ts, (m) => !hasButtons(m), 'the approved card');
    expect(cardMessages(created.id)).toHaveLength(1);
    await stop(second);
  });

  it('does not post a second card when the first reached Slack before the crash', async () => {
    const first = await start(false);
    const created = await first.create({ action: 'deploy.staging', title: 'Posted just before the crash' });
    // What the crashed flusher did: marked the post as attempted, and Slack accepted the message,
    // but the ts never made it to the database.
    const { text, blocks } = renderApprovalCard(created, { denyReasonRequired: false });
    const slack = new WebClient(fake.botToken, { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
    const posted = await slack.chat.postMessage({
      channel: CHANNEL,
      text,
      blocks,
      metadata: { event_type: CARD_METADATA_EVENT, event_payload: { request_id: created.id } },
    });
    expect(posted.ts).toEqual(expect.any(String));
    await withPgClient(database.url, (client) =>
      client.query('UPDATE chat_cards SET post_attempted_at = now() WHERE request_id = $1', [created.id]),
    );
    await stop(first);

    const second = await start(true);
    const card = await second.waitForCard(created.id);
    expect(card.ts).toBe(posted.ts);
    expect(await second.cardRow(created.id)).toMatchObject({ messageId: posted.ts });
    expect(cardMessages(created.id)).toHaveLength(1);
    expect(postsFor(created.id)).toHaveLength(1); // ours, standing in for the crashed process
    expect(fake.calls('conversations.history').length).toBeGreaterThanOrEqual(1);

    // The recovered card is the live one: a click on it decides and updates it in place.
    expect((await second.click('U0CAROL', card, APPROVE)).status).toBe(200);
    await second.waitForStatus(created.id, 'approved');
    const updated = await second.waitForMessage(card.ts, (m) => !hasButtons(m), 'the approved card');
    expect(blockText(updated)).toContain('*✅ Approved* by *Carol (carol@example.com)*');
    expect(cardMessages(created.id)).toHaveLength(1);
    await stop(second);
  });

  it('finds the card that reached Slack before a crash behind more than a page of later messages', async () => {
    const first = await start(false);
    const created = await first.create({ action: 'deploy.staging', title: 'Posted before a busy minute' });
    const { text, blocks } = renderApprovalCard(created, { denyReasonRequired: false });
    const slack = new WebClient(fake.botToken, { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
    const posted = await slack.chat.postMessage({
      channel: CHANNEL,
      text,
      blocks,
      metadata: { event_type: CARD_METADATA_EVENT, event_payload: { request_id: created.id } },
    });
    await withPgClient(database.url, (client) =>
      client.query('UPDATE chat_cards SET post_attempted_at = now() WHERE request_id = $1', [created.id]),
    );
    // The channel is busy: more messages after the card than one history page holds (200).
    for (let i = 0; i < 205; i += 1)
      await slack.chat.postMessage({ channel: CHANNEL, text: `deploy log line ${i}` });
    const historyBefore = fake.calls('conversations.history').length;
    await stop(first);

    const second = await start(true);
    const card = await second.waitForCard(created.id);
    expect(card.ts).toBe(posted.ts);
    expect(await second.cardRow(created.id)).toMatchObject({ messageId: posted.ts });
    expect(cardMessages(created.id)).toHaveLength(1);
    expect(postsFor(created.id)).toHaveLength(1); // ours, standing in for the crashed process
    expect(fake.calls('conversations.history').length - historyBefore).toBeGreaterThanOrEqual(2);
    await stop(second);
  });

  it('brings a card that reached Slack before a crash up to date when the request changed meanwhile', async () => {
    const first = await start(false);
    const created = await first.create({ action: 'deploy.staging', title: 'Cancelled while nobody flushed' });
    const { text, blocks } = renderApprovalCard(created, { denyReasonRequired: false });
    const slack = new WebClient(fake.botToken, { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
    const posted = await slack.chat.postMessage({
      channel: CHANNEL,
      text,
      blocks,
      metadata: { event_type: CARD_METADATA_EVENT, event_payload: { request_id: created.id } },
    });
    await withPgClient(database.url, (client) =>
      client.query('UPDATE chat_cards SET post_attempted_at = now() WHERE request_id = $1', [created.id]),
    );
    const cancelled = await first.t.call('POST', `/v1/approvals/${created.id}/cancel`, { key: first.key });
    expect(cancelled.status).toBe(200);
    await stop(first);

    const second = await start(true);
    await second.waitForCard(created.id);
    const updated = await second.waitForMessage(
      posted.ts ?? '',
      (m) => !hasButtons(m),
      'the recovered card to show the cancellation',
    );
    expect(blockText(updated)).toContain("*🚫 Cancelled by the requester's client*");
    expect(cardMessages(created.id)).toHaveLength(1);
    expect(await second.cardRow(created.id)).toMatchObject({ messageId: posted.ts });
    await stop(second);
  });
});
