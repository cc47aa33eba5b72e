// Keeps chat cards in step with their request, durably: called inside the transaction of every
// change, it records (or bumps) the card and queues its channel's flush job. Platform-neutral:
// the Slack and Teams adapters do the posting.
import type { Prisma } from '../db/client.ts';
import { CHAT_FLUSH_QUEUE, type JobQueue } from '../jobs/job-queue.ts';
import { platformOf } from './channels.ts';

export interface ChatOutboxDeps {
  jobs: JobQueue;
  /** Platforms with credentials configured ("slack", "teams"); cards for others are not kept. */
  chatPlatforms: ReadonlySet<string>;
}

export interface ChatFlushJobData {
  channel: string;
}

/** Queues the channel's flush job; one already queued covers it (queue policy `stately`). */
export async function queueFlush(
  tx: Prisma.TransactionClient,
  jobs: JobQueue,
  channel: string,
  startAfterSeconds?: number,
): Promise<void> {
  await jobs.send(tx, CHAT_FLUSH_QUEUE, { channel } satisfies ChatFlushJobData, {
    singletonKey: channel,
    ...(startAfterSeconds ? { startAfterSeconds } : {}),
  });
}

/** A new request's card, in the channel the policy chose. */
export async function addCard(
  tx: Prisma.TransactionClient,
  deps: ChatOutboxDeps,
  requestId: string,
  channel: string | null,
): Promise<void> {
  if (!channel || !deps.chatPlatforms.has(platformOf(channel))) return;
  await tx.chatCard.create({ data: { requestId, channel } });
  await queueFlush(tx, deps.jobs, channel);
}

/** The request changed (a decision, its verdict): every card of it must show the new state. */
export async function refreshCards(
  tx: Prisma.TransactionClient,
  deps: ChatOutboxDeps,
  requestId: string,
): Promise<void> {
  const cards = await tx.chatCard.updateManyAndReturn({
    where: { requestId },
    data: { version: { increment: 1 } },
    select: { channel: true },
  });
  for (const { channel } of cards) {
    if (deps.chatPlatforms.has(platformOf(channel))) await queueFlush(tx, deps.jobs, channel);
  }
}
