// The chat_cards reads and writes of the card flush, and the locks that keep one flush per channel:
// the flusher's session-level advisory lock and the flush lock taken against transactions that
// queue a flush (approvals/outbox/card-outbox.ts).
import { z } from 'zod';
import { flushLockKeySql } from '../approvals/outbox/outbox-store.ts';
import { readRequestViewWhere, type RequestView } from '../approvals/store/request-view-store.ts';
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

/** The channel's oldest card whose shown version lags; `channel` is SQL (a parameter or a literal). */
const nextPendingCardSql = (channel: string) => `SELECT id, request_id, message_id, version, post_attempted_at
  FROM chat_cards WHERE channel = ${channel} AND shown_version < version ORDER BY id LIMIT 1`;

/** The channel's oldest card whose shown version lags; read through chat_cards_pending_idx. */
export async function nextPendingCard(db: Db, channel: string): Promise<PendingCard | undefined> {
  const { rows } = await db.pool.query<PendingCard>(nextPendingCardSql('$1'), [channel]);
  return rows[0];
}

const pendingCardColumns = z.object({
  pending_id: z.string(),
  pending_message_id: z.string().nullable(),
  pending_version: z.number().int(),
  pending_post_attempted_at: z.date().nullable(),
});

/**
 * The channel's oldest card whose shown version lags (as `nextPendingCard`) with the view of its
 * request, in one statement: one snapshot, so the view is the state the card's version stands for.
 */
export async function nextPendingCardWithView(
  db: Db,
  channel: string,
): Promise<{ card: PendingCard; view: RequestView } | undefined> {
  const read = await readRequestViewWhere(
    db,
    {
      from: 'chat_cards pc JOIN approval_requests r ON r.id = pc.request_id',
      where: `pc.id = (SELECT id FROM (${nextPendingCardSql('$1')}) AS next)`,
      extra: `pc.id::text AS pending_id, pc.message_id AS pending_message_id, pc.version AS pending_version,
              pc.post_attempted_at AS pending_post_attempted_at`,
    },
    channel,
  );
  if (!read) return undefined;
  const columns = pendingCardColumns.parse(read.row);
  return {
    card: {
      id: columns.pending_id,
      request_id: read.view.request.id,
      message_id: columns.pending_message_id,
      version: columns.pending_version,
      post_attempted_at: columns.pending_post_attempted_at,
    },
    view: read.view,
  };
}

/**
 * The last look before the channel is called done, once every transaction that changed one of its
 * cards and found this job already queued has committed (they hold the flush lock shared until
 * then): without it such a change, committed just after the look, would wait for a job that never
 * comes. One round trip: BEGIN, the lock, the look and COMMIT; the look is a statement of its own,
 * so its snapshot is taken once the lock is granted (one statement that took the lock would have
 * taken its snapshot before, and missed what the writers committed meanwhile).
 */
export async function nextPendingCardAfterWriters(db: Db, channel: string): Promise<PendingCard | undefined> {
  return inTransaction(db, async (tx) => {
    const literal = tx.literal(channel);
    const [, cards = []] = await tx.batch(
      [
        `SELECT 1 FROM (SELECT pg_advisory_xact_lock(${flushLockKeySql(literal)})) AS l`,
        nextPendingCardSql(literal),
      ],
      { commit: true },
    );
    return cards[0] as PendingCard | undefined;
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
