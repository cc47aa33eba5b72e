// Keeps chat cards in step with their request, durably: called inside the transaction of every
// change, it records (or bumps) the card and queues its channel's flush job. Platform-neutral:
// the Slack and Teams adapters do the posting.
import type { ChatCard } from '../../generated/prisma/client.ts';
import type { Transaction } from '../../db/transaction.ts';
import { CHAT_FLUSH_QUEUE, type JobQueue } from '../../jobs/job-queue.ts';
import { platformOf } from '../channels.ts';
import { bumpCardVersions, insertCard, lockFlushShared } from './outbox-store.ts';

export interface ChatOutboxDeps {
  jobs: JobQueue;
  /** Platforms with credentials configured ("slack", "teams"); cards for others are not kept. */
  chatPlatforms: ReadonlySet<string>;
}

export interface ChatFlushJobData {
  channel: string;
}

/**
 * Queues the channel's flush job; one already queued covers it (queue policy `stately`). That
 * queued job may start, and find nothing to show, before this transaction commits: the shared
 * flush lock, held until commit, makes its last look wait for this change.
 */
export async function queueFlush(
  tx: Transaction,
  jobs: JobQueue,
  channel: string,
  startAfterSeconds?: number,
): Promise<void> {
  await lockFlushShared(tx, channel);
  await sendFlushJob(tx, jobs, channel, startAfterSeconds);
}

function sendFlushJob(tx: Transaction, jobs: JobQueue, channel: string, startAfterSeconds?: number) {
  return jobs.send(tx, CHAT_FLUSH_QUEUE, { channel } satisfies ChatFlushJobData, {
    singletonKey: channel,
    ...(startAfterSeconds ? { startAfterSeconds } : {}),
  });
}

/** Whether cards are kept for this channel: its platform has credentials configured. */
export function hasCardPlatform(deps: Pick<ChatOutboxDeps, 'chatPlatforms'>, channel: string): boolean {
  return deps.chatPlatforms.has(platformOf(channel));
}

/** A new request's card, in the channel the policy chose; null when its platform is not configured. */
export async function addCard(
  tx: Transaction,
  deps: ChatOutboxDeps,
  requestId: string,
  channel: string | null,
): Promise<ChatCard | null> {
  if (!channel || !hasCardPlatform(deps, channel)) return null;
  const card = await insertCard(tx, requestId, channel);
  await queueFlush(tx, deps.jobs, channel);
  return card;
}

/** The request changed (a decision, its verdict): every card of it must show the new state. */
export async function refreshCards(tx: Transaction, deps: ChatOutboxDeps, requestId: string): Promise<void> {
  await queueFlushesOf(tx, deps, await bumpCardVersions(tx, requestId));
}

/**
 * Queues the flush of each bumped card's channel whose platform is configured. The statement that
 * bumped them took their flush locks shared (outbox-store.ts), so the locks are held from before
 * these job sends until commit, as `queueFlush` holds its own.
 */
export async function queueFlushesOf(
  tx: Transaction,
  deps: ChatOutboxDeps,
  bumped: readonly { channel: string }[],
): Promise<void> {
  for (const { channel } of bumped) {
    if (hasCardPlatform(deps, channel)) await sendFlushJob(tx, deps.jobs, channel);
  }
}
