// Keeps chat cards in step with their request, durably: called inside the transaction of every
// change, it records (or bumps) the card and queues its channel's flush job. Platform-neutral:
// the Slack and Teams adapters do the posting.
import type { ChatCard } from '../../generated/prisma/client.ts';
import { runSql, type TransactionDb } from '../../db/transaction.ts';
import { CHAT_FLUSH_QUEUE, type JobQueue } from '../../jobs/job-queue.ts';
import { platformOf } from '../channels.ts';

export interface ChatOutboxDeps {
  jobs: JobQueue;
  /** Platforms with credentials configured ("slack", "teams"); cards for others are not kept. */
  chatPlatforms: ReadonlySet<string>;
}

export interface ChatFlushJobData {
  channel: string;
}

/**
 * The advisory lock that orders a channel's card writers before its flush's last look: a writer
 * holds it shared from its job send to its commit, the flush takes it alone before it calls the
 * channel done (see `flushChannel`). The key is computed in SQL, the same on both sides.
 */
export const FLUSH_LOCK_KEY_SQL = "hashtextextended('countersign.chat-flush:' || $1, 0)";

/**
 * Queues the channel's flush job; one already queued covers it (queue policy `stately`). That
 * queued job may start, and find nothing to show, before this transaction commits: the shared
 * flush lock, held until commit, makes its last look wait for this change.
 */
export async function queueFlush(
  tx: TransactionDb,
  jobs: JobQueue,
  channel: string,
  startAfterSeconds?: number,
): Promise<void> {
  await runSql(tx, `SELECT 1 FROM (SELECT pg_advisory_xact_lock_shared(${FLUSH_LOCK_KEY_SQL})) AS l`, [
    channel,
  ]);
  await jobs.send(tx, CHAT_FLUSH_QUEUE, { channel } satisfies ChatFlushJobData, {
    singletonKey: channel,
    ...(startAfterSeconds ? { startAfterSeconds } : {}),
  });
}

/** chat_cards columns under Prisma's names, for raw SQL's RETURNING. */
const CARD_COLUMNS = `id, request_id AS "requestId", channel, message_id AS "messageId", version,
  shown_version AS "shownVersion", post_attempted_at AS "postAttemptedAt", posted_at AS "postedAt",
  failed_at AS "failedAt", error, created_at AS "createdAt"`;

/** A new card row; `id` is bigint, which node-postgres answers as text. */
async function insertCardRow(tx: TransactionDb, requestId: string, channel: string): Promise<ChatCard> {
  const [row] = await runSql<Omit<ChatCard, 'id'> & { id: string | bigint }>(
    tx,
    `INSERT INTO chat_cards (request_id, channel) VALUES ($1::uuid, $2) RETURNING ${CARD_COLUMNS}`,
    [requestId, channel],
  );
  if (!row) throw new Error('INSERT … RETURNING answered no row');
  return { ...row, id: BigInt(row.id) };
}

/** Whether cards are kept for this channel: its platform has credentials configured. */
export function hasCardPlatform(deps: Pick<ChatOutboxDeps, 'chatPlatforms'>, channel: string): boolean {
  return deps.chatPlatforms.has(platformOf(channel));
}

/** A new request's card, in the channel the policy chose; null when its platform is not configured. */
export async function addCard(
  tx: TransactionDb,
  deps: ChatOutboxDeps,
  requestId: string,
  channel: string | null,
): Promise<ChatCard | null> {
  if (!channel || !hasCardPlatform(deps, channel)) return null;
  const card = await insertCardRow(tx, requestId, channel);
  await queueFlush(tx, deps.jobs, channel);
  return card;
}

/** The request changed (a decision, its verdict): every card of it must show the new state. */
export async function refreshCards(
  tx: TransactionDb,
  deps: ChatOutboxDeps,
  requestId: string,
): Promise<void> {
  const cards = await runSql<{ channel: string }>(
    tx,
    'UPDATE chat_cards SET version = version + 1 WHERE request_id = $1::uuid RETURNING channel',
    [requestId],
  );
  for (const { channel } of cards) {
    if (deps.chatPlatforms.has(platformOf(channel))) await queueFlush(tx, deps.jobs, channel);
  }
}
