// Posts and updates the cards of one Slack channel, oldest first, one call at a time: at most one
// new message per interval (Slack allows about one per second per channel), waiting out
// Retry-After on 429. A card whose post may have reached Slack before a crash is looked up by its
// message metadata before it is posted again, so it appears once. A job works the channel for at
// most its budget, so a crashed worker's job expires soon; the rest goes to a fresh job.
import { DECISIONS_IN_ORDER } from '../../approvals/find-request.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebAPIPlatformError, WebAPIRateLimitedError, type WebClient } from '@slack/web-api';
import type { Deps } from '../../deps.ts';
import { presentWithReceipt } from '../../http/contracts/present-with-receipt.ts';
import type { FlushOutcome } from '../start-chat-workers.ts';
import { renderApprovalCard } from './cards.ts';

export const CARD_METADATA_EVENT = 'countersign_card';

export interface SlackFlushDeps extends Pick<Deps, 'db' | 'clock' | 'log' | 'receipts'> {
  client: WebClient;
  postIntervalMs: number;
  /** Wall time after which no new card is started (and no Retry-After waited out) in this job. */
  budgetMs: number;
}

interface PendingCard {
  id: bigint;
  request_id: string;
  message_id: string | null;
  version: number;
  post_attempted_at: Date | null;
}

export function slackChannelId(channel: string): string {
  return channel.slice('slack:'.length);
}

export async function flushSlackChannel(deps: SlackFlushDeps, channel: string): Promise<FlushOutcome> {
  // Real elapsed time, not deps.clock: the budget bounds how long this worker holds the job.
  const deadline = performance.now() + deps.budgetMs;
  for (;;) {
    const [card] = await deps.db.prisma.$queryRaw<PendingCard[]>`
      SELECT id, request_id, message_id, version, post_attempted_at FROM chat_cards
       WHERE channel = ${channel} AND shown_version < version ORDER BY id LIMIT 1`;
    if (!card) return { done: true };
    if (performance.now() >= deadline) return { done: false, resumeAfterSeconds: 0 };
    try {
      await showCard(deps, channel, card);
    } catch (error) {
      if (error instanceof WebAPIRateLimitedError) {
        const retryAfter = Math.max(1, error.retryAfter);
        deps.log.warn({ channel, retryAfter: error.retryAfter }, 'Slack rate limit: waiting');
        if (performance.now() + retryAfter * 1000 > deadline)
          return { done: false, resumeAfterSeconds: retryAfter };
        await sleep(retryAfter * 1000);
        continue;
      }
      if (error instanceof WebAPIPlatformError) {
        // Slack refused this card for good (channel_not_found, not_in_channel, …): record that and
        // move on, so one bad card does not hold up the channel.
        deps.log.error(
          { channel, requestId: card.request_id, slackError: error.data.error },
          'Slack refused the card',
        );
        await deps.db.prisma.chatCard.update({
          where: { id: card.id },
          data: { shownVersion: card.version },
        });
        continue;
      }
      throw error; // network or HTTP error: the job is retried later, this card still first in line
    }
  }
}

async function showCard(deps: SlackFlushDeps, channel: string, card: PendingCard): Promise<void> {
  const request = await deps.db.prisma.approvalRequest.findUniqueOrThrow({
    where: { id: card.request_id },
    include: DECISIONS_IN_ORDER,
  });
  const { text, blocks } = renderApprovalCard(await presentWithReceipt(deps, request), {
    denyReasonRequired: request.denyReasonRequired,
  });
  const channelId = slackChannelId(channel);
  let messageId =
    card.message_id ?? (card.post_attempted_at ? await findPostedCard(deps, channelId, card) : null);

  if (!messageId) {
    await waitForPostSlot(deps, channel);
    await deps.db.prisma.chatCard.update({
      where: { id: card.id },
      data: { postAttemptedAt: deps.clock.now() },
    });
    const posted = await deps.client.chat.postMessage({
      channel: channelId,
      text,
      blocks,
      metadata: { event_type: CARD_METADATA_EVENT, event_payload: { request_id: card.request_id } },
    });
    messageId = posted.ts ?? null;
    if (!messageId) throw new Error('chat.postMessage answered without a message ts');
    await deps.db.prisma.chatCard.update({
      where: { id: card.id },
      data: { messageId, postedAt: deps.clock.now(), shownVersion: card.version },
    });
    return;
  }
  // Also when the message was found after a crash: it shows the version posted then, and the
  // request may have changed since (cancelled, expired), so it is brought up to date too.
  await deps.client.chat.update({ channel: channelId, ts: messageId, text, blocks });
  await deps.db.prisma.chatCard.update({
    where: { id: card.id },
    data: { messageId, shownVersion: card.version },
  });
}

/** After a crash between post and commit: the card may already be in the channel. */
async function findPostedCard(
  deps: SlackFlushDeps,
  channelId: string,
  card: PendingCard,
): Promise<string | null> {
  try {
    const since = (card.post_attempted_at?.getTime() ?? 0) / 1000 - 60;
    const history = await deps.client.conversations.history({
      channel: channelId,
      oldest: since.toFixed(6),
      include_all_metadata: true,
      limit: 200,
    });
    const found = history.messages?.find((m) => {
      const payload: Record<string, unknown> = { ...m.metadata?.event_payload };
      return m.metadata?.event_type === CARD_METADATA_EVENT && payload['request_id'] === card.request_id;
    });
    return found?.ts ?? null;
  } catch (error) {
    deps.log.warn({ err: error, channelId }, 'could not look for an already-posted card; posting it');
    return null;
  }
}

async function waitForPostSlot(deps: SlackFlushDeps, channel: string): Promise<void> {
  const [last] = await deps.db.prisma.$queryRaw<{ posted_at: Date | null }[]>`
    SELECT max(posted_at) AS posted_at FROM chat_cards WHERE channel = ${channel}`;
  const wait = (last?.posted_at?.getTime() ?? 0) + deps.postIntervalMs - deps.clock.now().getTime();
  if (wait > 0) await sleep(wait);
}
