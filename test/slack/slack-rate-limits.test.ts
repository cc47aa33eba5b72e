// Posting through Slack's rate limits and outages: 20 cards to one channel through a 429 storm are
// all posted, in creation order, none twice; a 500 on chat.postMessage or chat.update only delays
// the card (the flush job is retried). Every call shows in countersign_chat_api_calls_total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatApiCalls, delta, expectedSlackCounts } from '../support/chat-api-call-counts.ts';
import { findButtons } from '../support/fake-slack.ts';
import {
  APPROVE,
  blockText,
  hasButtons,
  metadataRequestId,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';
import { pollUntil } from '../support/poll.ts';

const SLOW = { timeoutMs: 90_000 };

describe('Slack posting under rate limits and errors', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ env: { SLACK_POST_INTERVAL_MS: '50' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('posts 20 cards to one channel through a 429 storm: all of them, in creation order, none twice', async () => {
    const channel = 'C0STORM';
    const countsBefore = await chatApiCalls(h.t.url);
    const from = h.fake.calls().length;
    const rateLimited = { status: 429 as const, retryAfterSeconds: 1 };
    h.fake.failNext('chat.postMessage', rateLimited, 2);
    const ids: string[] = [];
    for (let i = 1; i <= 20; i += 1) {
      // More 429s arrive while the channel is being flushed; cards are still being created after
      // each batch, so every fault is met by a later post.
      if (i === 8) h.fake.failNext('chat.postMessage', rateLimited, 2);
      if (i === 15) h.fake.failNext('chat.postMessage', rateLimited, 1);
      const created = await h.create({
        action: 'deploy.staging',
        title: `Storm request ${i}`,
        channel: `slack:${channel}`,
      });
      ids.push(created.id);
    }

    const messages = await h.fake.waitForMessages(channel, 20, SLOW);
    // Every card posted, its ts stored, nothing left to show.
    for (const id of ids) await h.waitForCard(id, channel, SLOW);
    expect(h.fake.pendingFaults()).toEqual({});

    const final = h.fake.messages(channel);
    expect(final).toHaveLength(20);
    expect(final.map(metadataRequestId)).toEqual(ids);
    expect(final.map((m) => findButtons(m)[0]?.value)).toEqual(ids);
    expect(final.map((m) => blockText(m).split('\n')[0])).toEqual(
      ids.map((_, i) => `Storm request ${i + 1}`),
    );
    expect(new Set(final.map((m) => m.ts)).size).toBe(20);
    expect(messages.slice(0, 20).map((m) => m.ts)).toEqual(final.map((m) => m.ts));

    const posts = h.fake.calls('chat.postMessage').filter((c) => c.args['channel'] === channel);
    expect(posts.filter((c) => c.status === 429)).toHaveLength(5);
    expect(posts.filter((c) => c.ok)).toHaveLength(20);
    for (const [index, id] of ids.entries()) {
      expect((await h.cardRow(id, channel))?.messageId).toBe(final[index]?.ts);
    }

    // Every call of the flush loop is counted once, by method and result.
    const counted = delta(await chatApiCalls(h.t.url), countsBefore);
    expect(counted).toMatchObject({
      'slack chat.postMessage ok': 20,
      'slack chat.postMessage rate_limited': 5,
    });
    expect(counted).toEqual(expectedSlackCounts(h.fake, from, ['chat.postMessage', 'conversations.history']));
  });

  it('posts the card after a 500 on chat.postMessage (the flush job is retried), once', async () => {
    const channel = 'C0FLAKY';
    h.fake.failNext('chat.postMessage', { status: 500 });
    const created = await h.create({ action: 'deploy.staging', title: 'Flaky', channel: `slack:${channel}` });

    const card = await h.waitForCard(created.id, channel, SLOW);
    expect(metadataRequestId(card)).toBe(created.id);
    expect(h.fake.messages(channel)).toHaveLength(1);
    const posts = h.fake.calls('chat.postMessage').filter((c) => c.args['channel'] === channel);
    expect(posts.map((c) => c.status)).toEqual([500, 200]);
    // Before posting again it looked for the card the failed call might have left in the channel.
    expect(h.fake.calls('conversations.history').some((c) => c.args['channel'] === channel)).toBe(true);
  });

  it('updates the card after a 429 and a 500 on chat.update', async () => {
    const channel = 'C0UPDATES';
    const created = await h.create({
      action: 'deploy.staging',
      title: 'Update me',
      channel: `slack:${channel}`,
    });
    const card = await h.waitForCard(created.id, channel);
    const countsBefore = await chatApiCalls(h.t.url);
    const from = h.fake.calls().length;

    h.fake.failNext('chat.update', { status: 429, retryAfterSeconds: 1 });
    h.fake.failNext('chat.update', { status: 500 });
    expect((await h.click('U0BOB', card, APPROVE)).status).toBe(200);
    await h.waitForStatus(created.id, 'approved');
    const updated = await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the approved card', channel);
    expect(blockText(updated)).toContain('*✅ Approved* by *Bob (bob@example.com)*');
    expect(h.fake.pendingFaults()).toEqual({});
    const updates = h.fake.calls('chat.update').filter((c) => c.args['channel'] === channel);
    expect(updates.map((c) => c.status)).toEqual([429, 500, 200]);
    expect(h.fake.messages(channel)).toHaveLength(1);
    // The requester's notice follows the verdict by a job; its calls are counted once it is in.
    await pollUntil(
      () => h.audit(created.id),
      (events) => events.some((e) => e.type === 'requester.notified'),
      { what: "the requester's notice" },
    );
    // The click's own calls (the clicker's users.info, the workspace's auth.test) count too, and so
    // do the notice's (the requester looked up, the direct message opened and posted).
    expect(delta(await chatApiCalls(h.t.url), countsBefore)).toEqual({
      'slack chat.update rate_limited': 1,
      'slack chat.update error': 1,
      'slack chat.update ok': 1,
      ...expectedSlackCounts(h.fake, from, [
        'users.info',
        'auth.test',
        'users.lookupByEmail',
        'conversations.open',
        'chat.postMessage',
      ]),
    });
  });
});
