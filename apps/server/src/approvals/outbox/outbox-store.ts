// The outbox's rows, written in the transaction of the change they announce: chat cards (and the
// shared flush lock that orders their writers before a flush's last look) and callback deliveries.
import type { CallbackDelivery, ChatCard } from '../../generated/prisma/client.ts';
import type { ApprovalStatus } from '../../generated/prisma/enums.ts';
import { runSql, type Transaction } from '../../db/transaction.ts';

/**
 * The advisory lock that orders a channel's card writers before its flush's last look: a writer
 * holds it shared from its job send to its commit, the flush takes it alone before it calls the
 * channel done (see `flushChannel`). The key is computed in SQL, the same on both sides, from the
 * SQL of the channel (a parameter or a column).
 */
export function flushLockKeySql(channel: string): string {
  return `hashtextextended('countersign.chat-flush:' || ${channel}, 0)`;
}

/** The flush lock's key for the channel in parameter $1. */
export const FLUSH_LOCK_KEY_SQL = flushLockKeySql('$1');

/** Takes the channel's flush lock shared, held until commit. */
export async function lockFlushShared(tx: Transaction, channel: string): Promise<void> {
  await runSql(tx, `SELECT 1 FROM (SELECT pg_advisory_xact_lock_shared(${FLUSH_LOCK_KEY_SQL})) AS l`, [
    channel,
  ]);
}

/** The `cards` CTE: every card of the request in parameter $1 bumped a version, with its channel. */
export const BUMPED_CARDS_CTE = `cards AS (
       UPDATE chat_cards SET version = version + 1 WHERE request_id = $1::uuid RETURNING channel
     )`;

/**
 * The select-list end of a statement whose `cards` (a CTE of bumped chat_cards rows) answer their
 * channels, each channel's flush lock taken shared on the way (held until commit), so the flush
 * jobs the caller sends next are covered without a statement of their own.
 */
export const CHANNELS_WITH_FLUSH_LOCK_SQL = `SELECT cards.channel FROM cards
  CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock_shared(${flushLockKeySql('cards.channel')})) AS l`;

/** chat_cards columns under Prisma's names, for raw SQL's RETURNING. */
const CARD_COLUMNS = `id, request_id AS "requestId", channel, message_id AS "messageId", version,
  shown_version AS "shownVersion", post_attempted_at AS "postAttemptedAt", posted_at AS "postedAt",
  failed_at AS "failedAt", error, created_at AS "createdAt"`;

/** A new card row; `id` is bigint, which node-postgres answers as text. */
export async function insertCard(tx: Transaction, requestId: string, channel: string): Promise<ChatCard> {
  const [row] = await runSql<Omit<ChatCard, 'id'> & { id: string | bigint }>(
    tx,
    `INSERT INTO chat_cards (request_id, channel) VALUES ($1::uuid, $2) RETURNING ${CARD_COLUMNS}`,
    [requestId, channel],
  );
  if (!row) throw new Error('INSERT … RETURNING answered no row');
  return { ...row, id: BigInt(row.id) };
}

/**
 * Bumps the version of every card of the request and takes each one's channel flush lock shared,
 * in one statement; answers their channels.
 */
export function bumpCardVersions(tx: Transaction, requestId: string): Promise<{ channel: string }[]> {
  return runSql<{ channel: string }>(
    tx,
    `WITH ${BUMPED_CARDS_CTE}
     ${CHANNELS_WITH_FLUSH_LOCK_SQL}`,
    [requestId],
  );
}

/** A pending delivery of the request's verdict to its (shown) callback URL. */
export async function insertCallbackDelivery(
  tx: Transaction,
  delivery: { id: string; requestId: string; url: string; verdict: Exclude<ApprovalStatus, 'pending'> },
): Promise<void> {
  await runSql(
    tx,
    'INSERT INTO callback_deliveries (id, request_id, url, verdict) VALUES ($1::uuid, $2::uuid, $3, $4::"ApprovalStatus")',
    [delivery.id, delivery.requestId, delivery.url, delivery.verdict],
  );
}

/** Locks the request's delivery and answers its status, or undefined when there is none. */
export async function lockDelivery(
  tx: Transaction,
  requestId: string,
  deliveryId: string,
): Promise<CallbackDelivery['status'] | undefined> {
  const [row] = await tx.query<{ status: CallbackDelivery['status'] }>(
    `SELECT status::text AS status FROM callback_deliveries
      WHERE id = $1::uuid AND request_id = $2::uuid FOR UPDATE`,
    [deliveryId, requestId],
  );
  return row?.status;
}

/** Puts a failed or gone delivery back to pending; false when it is in another state (or absent). */
export async function markDeliveryPendingAgain(
  tx: Transaction,
  requestId: string,
  deliveryId: string,
): Promise<boolean> {
  const rows = await tx.query<{ id: string }>(
    `UPDATE callback_deliveries SET status = 'pending', completed_at = NULL
      WHERE id = $1::uuid AND request_id = $2::uuid AND status IN ('failed', 'gone')
      RETURNING id::text AS id`,
    [deliveryId, requestId],
  );
  return rows.length > 0;
}
