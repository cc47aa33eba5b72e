// Posts and updates the cards of one channel, oldest first, one call at a time, through the
// platform's transport: at most one new message per post interval, Retry-After waited out, a card
// the platform refuses for good recorded as failed (and the next card goes on), a card whose post
// may have reached the platform before a crash (or a database outage) looked up and adopted before
// it is posted again; while that look-up fails the card waits, it is never posted a second time
// blind. A job works
// the channel for at most its budget, so a crashed worker's job expires soon; the rest goes to a
// fresh job. Every platform call is counted (countersign_chat_api_calls_total, by countChatCalls);
// once the platform has revoked the app, cards are marked failed without a call.
import { setTimeout as sleep } from 'node:timers/promises';
import { readRequestView, type RequestView } from '../approvals/store/request-view-store.ts';
import type { Deps } from '../deps.ts';
import type { ChatApiCallCounter } from '../deps.ts';
import { presentView } from '../approvals/view/present-with-receipt.ts';
import { parseChannel, type ChatPlatform } from '../approvals/channels.ts';
import {
  lastPostedAt,
  markCardFailed,
  markCardPostAttempted,
  markCardPosted,
  markCardUpdated,
  nextPendingCardAfterWriters,
  nextPendingCardWithView,
  type PendingCard,
} from './card-store.ts';
import { buildCardView, type CardView } from './card-view.ts';
import { countChatCalls } from './count-chat-call.ts';
import type { PlatformLink } from './platform-link.ts';

/** `done`, or the channel still has cards to show: resume in a new job after `resumeAfterSeconds`. */
export type FlushOutcome = { done: true } | { done: false; resumeAfterSeconds: number };

/** How a platform call failed, as far as the loop cares. */
export type TransportFailure =
  /** Throttled: try the same card again after this many seconds. */
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  /** Refused for good (channel gone, bot removed, app uninstalled): the card is marked failed. */
  | { kind: 'refused'; error: string }
  /** The platform refuses our credentials (app uninstalled, token revoked): no card can be shown. */
  | { kind: 'revoked'; error: string }
  /** Anything else (network, 5xx): the job is retried later with the card still first in line. */
  | { kind: 'transient' };

/** What a platform adapter gives the loop: calls that translate a card view into the platform's API. */
export interface ChatTransport {
  platform: ChatPlatform;
  /**
   * The platform's own names of the three calls below, as the call counter labels them; null for a
   * call that never reaches the platform.
   */
  methodNames: { post: string; update: string; findPosted: string | null };
  /** Posts a new card into the channel; returns the platform's message id. */
  post(channelId: string, view: CardView): Promise<string>;
  update(channelId: string, messageId: string, view: CardView): Promise<void>;
  /** After a crash between post and commit: the message id of the card if it is already there. */
  findPosted(channelId: string, requestId: string, attemptedAt: Date): Promise<string | null>;
  classify(error: unknown): TransportFailure;
}

export interface FlushSettings {
  /** Least time between two new messages in one channel. */
  postIntervalMs: number;
  /** Wall time after which no new card is started (and no Retry-After waited out) in this job. */
  budgetMs: number;
}

export interface FlushDeps extends Pick<Deps, 'db' | 'clock' | 'log' | 'receipts' | 'metrics'> {
  /** COUNTERSIGN_PUBLIC_URL, for the card's link to the web console. */
  publicUrl?: string | undefined;
}

export async function flushChannel(
  deps: FlushDeps,
  transport: ChatTransport,
  settings: FlushSettings,
  channel: string,
  link?: PlatformLink,
): Promise<FlushOutcome> {
  const parsed = parseChannel(channel);
  const platform = countCalls(transport, deps.metrics?.chatApiCalls);
  // Real elapsed time, not deps.clock: the budget bounds how long this worker holds the job.
  const deadline = performance.now() + settings.budgetMs;
  for (;;) {
    // The card with its request's view in one statement; the last look reads the card only.
    const next = (await nextPendingCardWithView(deps.db, channel)) ?? {
      card: await nextPendingCardAfterWriters(deps.db, channel),
      view: null,
    };
    const { card } = next;
    if (!card) return { done: true };
    if (!parsed || parsed.platform !== transport.platform) {
      await markFailed(deps, card, `not a ${transport.platform} channel: ${channel}`);
      continue;
    }
    const revoked = link?.revoked();
    if (revoked) {
      // Pending cards fail at once with the reason, where the requester sees it (GET
      // /v1/approvals/{id} cards[]), instead of waiting for credentials that may never come back.
      await markFailed(deps, card, revoked.reason);
      continue;
    }
    if (performance.now() >= deadline) return { done: false, resumeAfterSeconds: 0 };
    try {
      await showCard(deps, platform, settings, { channel, channelId: parsed.id }, card, next.view);
    } catch (thrown) {
      const lookup = thrown instanceof CardLookupFailed;
      const error = lookup ? thrown.cause : thrown;
      const failure = transport.classify(error);
      if (failure.kind === 'rate_limited') {
        const retryAfter = Math.max(1, failure.retryAfterSeconds);
        deps.log.warn({ channel, retryAfter }, 'chat rate limit: waiting');
        if (performance.now() + retryAfter * 1000 > deadline)
          return { done: false, resumeAfterSeconds: retryAfter };
        await sleep(retryAfter * 1000);
        continue;
      }
      if (failure.kind === 'revoked' && link) {
        link.revoke(failure.error);
        continue; // this card and the rest are marked failed above, without calling the platform
      }
      if (failure.kind === 'refused' || failure.kind === 'revoked') {
        // Refused for good: record it where the requester can see it, and move on, so one bad
        // card does not hold up the channel.
        deps.log.error(
          { channel, requestId: card.request_id, platformError: failure.error },
          lookup
            ? 'chat platform refused the look-up of an already-posted card'
            : 'chat platform refused the card',
        );
        await markFailed(deps, card, lookup ? `${LOOKUP_REFUSED}: ${failure.error}` : failure.error);
        continue;
      }
      throw error; // the job is retried later, this card still first in line
    }
  }
}

/** The transport with each call counted by platform, method and result. */
function countCalls(transport: ChatTransport, counter: ChatApiCallCounter | undefined): ChatTransport {
  if (!counter) return transport;
  const counted = countChatCalls(counter, transport.platform, (error) => transport.classify(error));
  const names = transport.methodNames;
  return {
    ...transport,
    post: (channelId, view) => counted(names.post, () => transport.post(channelId, view)),
    update: (channelId, messageId, view) =>
      counted(names.update, () => transport.update(channelId, messageId, view)),
    findPosted: (channelId, requestId, attemptedAt) =>
      names.findPosted === null
        ? transport.findPosted(channelId, requestId, attemptedAt)
        : counted(names.findPosted, () => transport.findPosted(channelId, requestId, attemptedAt)),
  };
}

async function markFailed(deps: FlushDeps, card: PendingCard, error: string): Promise<void> {
  await markCardFailed(deps.db, card, deps.clock.now(), error);
}

async function showCard(
  deps: FlushDeps,
  transport: ChatTransport,
  settings: FlushSettings,
  where: { channel: string; channelId: string },
  card: PendingCard,
  requestView: RequestView | null,
): Promise<void> {
  // The request, its decisions, cards, review and chain record in one statement (approvals/store/request-view-store.ts),
  // read with the card unless the last look found it.
  const read = requestView ?? (await readRequestView(deps.db, card.request_id));
  if (!read) throw new Error(`the card's request ${card.request_id} is gone`);
  const { request } = read;
  const view = buildCardView(await presentView(deps, read), {
    denyReasonRequired: request.denyReasonRequired,
    grantUpToSeconds: request.grantUpTo,
    publicUrl: deps.publicUrl,
    escalatedTo: read.escalatedTo,
  });
  let messageId =
    card.message_id ??
    (card.post_attempted_at ? await findPosted(deps, transport, where.channelId, card) : null);

  if (!messageId) {
    await waitForPostSlot(deps, settings, where.channel);
    await markCardPostAttempted(deps.db, card.id, deps.clock.now());
    messageId = await transport.post(where.channelId, view);
    await markCardPosted(deps.db, card, messageId, deps.clock.now());
    return;
  }
  // Also when the message was found after a crash: it shows the version posted then, and the
  // request may have changed since (cancelled, expired), so it is brought up to date too.
  await transport.update(where.channelId, messageId, view);
  await markCardUpdated(deps.db, card, messageId);
}

/** A card's earlier post could not be looked up: the card waits, it is not posted blind. */
class CardLookupFailed extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super('could not look for an already-posted card', { cause });
    this.cause = cause;
  }
}

/** The card's error when the platform refuses for good to let us look for its earlier post. */
export const LOOKUP_REFUSED = 'could not look for the card posted before a restart';

/**
 * The message id of the card if its earlier post reached the platform. A failed look-up is thrown
 * (as CardLookupFailed), never taken for "not there": posting then could leave a second card with
 * live buttons next to the first. The loop waits out a rate limit and tries again, a transient
 * failure retries the job with the card still first in line, and a refusal for good marks the card
 * failed where the requester sees it.
 */
async function findPosted(
  deps: FlushDeps,
  transport: ChatTransport,
  channelId: string,
  card: PendingCard,
): Promise<string | null> {
  try {
    return await transport.findPosted(channelId, card.request_id, card.post_attempted_at ?? new Date(0));
  } catch (error) {
    deps.log.warn(
      { err: error, channelId, requestId: card.request_id },
      'could not look for an already-posted card; the card waits',
    );
    throw new CardLookupFailed(error);
  }
}

async function waitForPostSlot(deps: FlushDeps, settings: FlushSettings, channel: string): Promise<void> {
  const last = await lastPostedAt(deps.db, channel);
  const wait = (last?.getTime() ?? 0) + settings.postIntervalMs - deps.clock.now().getTime();
  if (wait > 0) await sleep(wait);
}
