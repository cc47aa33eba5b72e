// The chat_cards reads and writes of the card flush, and the locks that keep one flush per channel:
// the flusher's session-level advisory lock and the flush lock taken against transactions that
// queue a flush (approvals/outbox/card-outbox.ts).
import { FLUSH_LOCK_KEY_SQL } from '../approvals/outbox/outbox-store.ts';
import type { Database } from '../db/client.ts';
import { inTransaction } from '../db/transaction.ts';

type Db = Pick<Database, 'pool'>;

/** A card whose shown version lags; `id` is the int8 key as node-postgres gives it (a string). */
export interface PendingCard {
  id: string;
  request_id: string;
  message_id: string | null;
  version: number;
  post_attempted_at: Date | null;
}

export const FLUSHER_LOCK_KEY_SQL = "hashtextextended('countersign.chat-flusher:' || $1, 0)";

/** The flush ran (its result), or another holds the channel's flush and this one did nothing. */
export type FlusherLockOutcome<T> = { ran: true; result: T } | { ran: false };

/**
 * One flush at a time per channel, across workers and replicas. The queue runs one flush job per
 * channel, but a job that outlives its deadline (a platform call hanging up to its timeout) is
 * handed to a fresh attempt while the old handler may still be running; two loops over one
 * channel could then both post a card that has no message yet. The session-level advisory lock,
 * held on its own pooled connection for the length of the flush, leaves the second attempt to wait
 * its turn; it ends with the flush or with the connection.
 */
export async function withFlusherLock<T>(
  db: Db,
  channel: string,
  work: () => Promise<T>,
): Promise<FlusherLockOutcome<T>> {
  const client = await db.pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(${FLUSHER_LOCK_KEY_SQL}) AS locked`,
      [channel],
    );
    if (rows[0]?.locked !== true) return { ran: false };
    try {
      return { ran: true, result: await work() };
    } finally {
      await client
        .query(`SELECT pg_advisory_unlock(${FLUSHER_LOCK_KEY_SQL})`, [channel])
        .catch((error: unknown) => {
          // The lock goes with the connection, which is discarded below.
          broken = error instanceof Error ? error : new Error(String(error));
        });
    }
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(broken);
  }
}

const NEXT_PENDING_CARD_SQL = `SELECT id, request_id, message_id, version, post_attempted_at FROM chat_cards
  WHERE channel = $1 AND shown_version < version ORDER BY id LIMIT 1`;

/** The channel's oldest card whose shown version lags; read through chat_cards_pending_idx. */
export async function nextPendingCard(db: Db, channel: string): Promise<PendingCard | undefined> {
  const { rows } = await db.pool.query<PendingCard>(NEXT_PENDING_CARD_SQL, [channel]);
  return rows[0];
}

/**
 * The last look before the channel is called done, once every transaction that changed one of its
 * cards and found this job already queued has committed (they hold the flush lock shared until
 * then): without it such a change, committed just after the look, would wait for a job that never
 * comes.
 */
export async function nextPendingCardAfterWriters(db: Db, channel: string): Promise<PendingCard | undefined> {
  return inTransaction(db, async (tx) => {
    await tx.query(`SELECT 1 FROM (SELECT pg_advisory_xact_lock(${FLUSH_LOCK_KEY_SQL})) AS l`, [channel]);
    const [card] = await tx.query<PendingCard>(NEXT_PENDING_CARD_SQL, [channel]);
    return card;
  });
}

/** When the channel last had a card posted; read from the end of chat_cards_channel_posted_at_idx. */
export async function lastPostedAt(db: Db, channel: string): Promise<Date | null> {
  const { rows } = await db.pool.query<{ posted_at: Date | null }>(
    'SELECT max(posted_at) AS posted_at FROM chat_cards WHERE channel = $1',
    [channel],
  );
  return rows[0]?.posted_at ?? null;
}

/** Updates one card by id; a card that is gone is an error, as it was for Prisma's update. */
async function updateCard(db: Db, id: string, set: string, values: readonly unknown[]): Promise<void> {
  const result = await db.pool.query(`UPDATE chat_cards SET ${set} WHERE id = $1::bigint`, [id, ...values]);
  if (result.rowCount !== 1) throw new Error(`chat card ${id} is gone`);
}

/** Records that the platform refused `version` of the card for good, with its error (up to 500 characters). */
export async function markCardFailed(
  db: Db,
  card: { id: string; version: number },
  failedAt: Date,
  error: string,
): Promise<void> {
  await updateCard(db, card.id, 'shown_version = $2, failed_at = $3, error = $4', [
    card.version,
    failedAt,
    error.slice(0, 500),
  ]);
}

/** Records that the card's post is about to be sent, so a retry after a crash looks for it first. */
export async function markCardPostAttempted(db: Db, id: string, at: Date): Promise<void> {
  await updateCard(db, id, 'post_attempted_at = $2', [at]);
}

/** Records the card posted as `messageId`, showing `version`, with any earlier failure cleared. */
export async function markCardPosted(
  db: Db,
  card: { id: string; version: number },
  messageId: string,
  postedAt: Date,
): Promise<void> {
  await updateCard(
    db,
    card.id,
    'message_id = $2, posted_at = $3, shown_version = $4, failed_at = NULL, error = NULL',
    [messageId, postedAt, card.version],
  );
}

/** Records that message `messageId` was updated to show `version`, with any earlier failure cleared. */
export async function markCardUpdated(
  db: Db,
  card: { id: string; version: number },
  messageId: string,
): Promise<void> {
  await updateCard(db, card.id, 'message_id = $2, shown_version = $3, failed_at = NULL, error = NULL', [
    messageId,
    card.version,
  ]);
}
