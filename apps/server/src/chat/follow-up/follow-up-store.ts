// The reads of the follow-ups (reminders, the requester's notice) inside their transactions: the
// step's lock, whether it was done, the request's row and its cards.
import { requestChainColumnsSql } from '../../audit/chain-store.ts';
import { VERDICT_EVENT_TYPES } from '../../audit/request-chain.ts';
import { textArrayLiteral, type Transaction } from '../../db/transaction.ts';

const lockKeyOf = (key: string) => `follow-up:${key}`;

/** Taken for the transaction: two workers on one step (a retry after expiry) take turns. */
export async function lockFollowUp(tx: Transaction, key: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKeyOf(key)]);
}

/**
 * Whether the requester was notified, the request's status, action, title and channels, and its
 * chain record (requestChainColumnsSql), in one statement; the columns are null for no request.
 * `requestId` and `verdictTypes` are SQL (parameters or literals).
 */
function requesterNoticeSql(requestId: string, verdictTypes: string): string {
  return `SELECT EXISTS (SELECT 1 FROM audit_events
                          WHERE request_id = ${requestId} AND type = 'requester.notified') AS notified,
                 r.status::text AS status, r.action, r.title, coalesce(r.channels, '{}') AS channels,
                 ${requestChainColumnsSql(requestId, verdictTypes)}
            FROM (SELECT 1) AS one LEFT JOIN approval_requests r ON r.id = ${requestId}`;
}

/**
 * Takes the notice's lock (as `lockFollowUp`), then reads what `requesterNoticeSql` reads, in one
 * round trip that also opens the transaction. The read is a statement of its own, so its snapshot
 * is taken once the lock is granted: it sees the requester.notified of a worker that held it.
 */
export async function lockAndReadRequesterNotice(
  tx: Transaction,
  requestId: string,
): Promise<Record<string, unknown> | undefined> {
  const id = `${tx.literal(requestId)}::uuid`;
  const verdictTypes = textArrayLiteral(tx, VERDICT_EVENT_TYPES);
  const [, read = []] = await tx.batch([
    `SELECT pg_advisory_xact_lock(hashtextextended(${tx.literal(lockKeyOf(`${requestId}:notify-requester`))}, 0))`,
    requesterNoticeSql(id, verdictTypes),
  ]);
  return read[0] as Record<string, unknown> | undefined;
}

/** The request's posted cards (channel and message id), oldest first. */
export async function listPostedCards(
  tx: Transaction,
  requestId: string,
): Promise<{ channel: string; message_id: string }[]> {
  return tx.query<{ channel: string; message_id: string }>(
    `SELECT channel, message_id FROM chat_cards
      WHERE request_id = $1::uuid AND message_id IS NOT NULL ORDER BY id`,
    [requestId],
  );
}

/** Whether reminder `step` of the request, or a later one, is in the chain. */
export async function wasRemindedFrom(tx: Transaction, requestId: string, step: number): Promise<boolean> {
  const [done] = await tx.query<{ one: number }>(
    `SELECT 1 AS one FROM audit_events
      WHERE request_id = $1::uuid AND type = 'request.reminded' AND (payload->>'step')::int >= $2`,
    [requestId, step],
  );
  return done !== undefined;
}

/** The request's status, expiry and agent owner, as a reminder needs them. */
export async function readReminderRequest(
  tx: Transaction,
  requestId: string,
): Promise<{ status: string; expires_at: Date; agent_owner: string | null } | undefined> {
  const [row] = await tx.query<{ status: string; expires_at: Date; agent_owner: string | null }>(
    'SELECT status::text AS status, expires_at, agent_owner FROM approval_requests WHERE id = $1::uuid',
    [requestId],
  );
  return row;
}

/** All the request's cards (posted or not, failed or not), oldest first. */
export async function listRequestCards(
  tx: Transaction,
  requestId: string,
): Promise<{ channel: string; message_id: string | null; failed_at: Date | null }[]> {
  return tx.query<{ channel: string; message_id: string | null; failed_at: Date | null }>(
    'SELECT channel, message_id, failed_at FROM chat_cards WHERE request_id = $1::uuid ORDER BY id',
    [requestId],
  );
}
