// Break-glass rows: the per-day budget's locks and count, the requester's own approval of the
// request, and the mandatory review (its outcome, or its being overdue).
import { randomUUID } from 'node:crypto';
import type { BreakGlassReview, Decision } from '../../generated/prisma/client.ts';
import type { Transaction } from '../../db/transaction.ts';

/** break_glass_reviews columns under Prisma's names. */
const REVIEW_COLUMNS = `request_id::text AS "requestId", policy_rule AS "policyRule",
  requester_email AS "requesterEmail", api_key_id::text AS "apiKeyId", coalesce(reviewers, '{}') AS reviewers,
  due_at AS "dueAt", outcome, reviewed_by AS "reviewedBy", note, reviewed_at AS "reviewedAt",
  overdue_at AS "overdueAt", created_at AS "createdAt"`;

/** decisions columns under Prisma's names. */
const DECISION_COLUMNS = `id::text AS id, request_id::text AS "requestId", approver_email AS "approverEmail",
  platform, platform_user_id AS "platformUserId", display_name AS "displayName", verdict::text AS verdict,
  reason, created_at AS "createdAt", dev_signin AS "devSignin", grant_minutes AS "grantMinutes",
  on_behalf_of AS "onBehalfOf"`;

function onlyRow<Row>(rows: Row[]): Row {
  const [row] = rows;
  if (!row) throw new Error('the statement answered no row');
  return row;
}

/** Takes a budget key's advisory lock, held until commit: uses under one key take turns. */
export async function lockBudgetKey(tx: Transaction, key: string): Promise<void> {
  await tx.query('SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS l', [
    key,
  ]);
}

/** How many break-glass uses under the rule since `since`, by the requester and by the key. */
export async function countRecentUses(
  tx: Transaction,
  scope: { policyRule: string; requester: string; keyId: string | null; since: Date },
): Promise<{ byRequester: number; byKey: number }> {
  const [counts] = await tx.query<{ byRequester: number; byKey: number }>(
    `SELECT count(*) FILTER (WHERE requester_email = $2)::int AS "byRequester",
            count(*) FILTER (WHERE $3::uuid IS NOT NULL AND api_key_id = $3::uuid)::int AS "byKey"
       FROM break_glass_reviews
      WHERE policy_rule = $1 AND created_at > $4 AND (requester_email = $2 OR api_key_id = $3::uuid)`,
    [scope.policyRule, scope.requester, scope.keyId, scope.since],
  );
  return { byRequester: counts?.byRequester ?? 0, byKey: counts?.byKey ?? 0 };
}

/** The requester's approval of their own request, with their emergency reason. */
export async function insertBreakGlassDecision(
  tx: Transaction,
  data: { requestId: string; approverEmail: string; platform: string; reason: string; createdAt: Date },
): Promise<Decision> {
  return onlyRow(
    await tx.query<Decision>(
      `INSERT INTO decisions (id, request_id, approver_email, platform, verdict, reason, created_at)
       VALUES ($1::uuid, $2::uuid, $3, $4, 'approve', $5, $6)
       RETURNING ${DECISION_COLUMNS}`,
      [randomUUID(), data.requestId, data.approverEmail, data.platform, data.reason, data.createdAt],
    ),
  );
}

/** Marks the request approved at `now`. */
export async function markRequestApproved(tx: Transaction, requestId: string, now: Date): Promise<void> {
  await tx.query(`UPDATE approval_requests SET status = 'approved', decided_at = $2 WHERE id = $1::uuid`, [
    requestId,
    now,
  ]);
}

/** Opens the mandatory review of a break-glass use. */
export async function insertReview(
  tx: Transaction,
  data: Pick<
    BreakGlassReview,
    'requestId' | 'policyRule' | 'requesterEmail' | 'apiKeyId' | 'reviewers' | 'dueAt' | 'createdAt'
  >,
): Promise<BreakGlassReview> {
  return onlyRow(
    await tx.query<BreakGlassReview>(
      `INSERT INTO break_glass_reviews
         (request_id, policy_rule, requester_email, api_key_id, reviewers, due_at, created_at)
       VALUES ($1::uuid, $2, $3, $4::uuid, $5::text[], $6, $7)
       RETURNING ${REVIEW_COLUMNS}`,
      [
        data.requestId,
        data.policyRule,
        data.requesterEmail,
        data.apiKeyId,
        data.reviewers,
        data.dueAt,
        data.createdAt,
      ],
    ),
  );
}

/** The request's review, locked for the transaction; undefined when there is none. */
export async function lockReview(tx: Transaction, requestId: string): Promise<BreakGlassReview | undefined> {
  const [row] = await tx.query<BreakGlassReview>(
    `SELECT ${REVIEW_COLUMNS} FROM break_glass_reviews WHERE request_id = $1::uuid FOR UPDATE`,
    [requestId],
  );
  return row;
}

/** Records the review's outcome. */
export async function recordReviewOutcome(
  tx: Transaction,
  requestId: string,
  data: { outcome: string; reviewedBy: string; note: string | null; reviewedAt: Date },
): Promise<BreakGlassReview> {
  return onlyRow(
    await tx.query<BreakGlassReview>(
      `UPDATE break_glass_reviews SET outcome = $2, reviewed_by = $3, note = $4, reviewed_at = $5
        WHERE request_id = $1::uuid RETURNING ${REVIEW_COLUMNS}`,
      [requestId, data.outcome, data.reviewedBy, data.note, data.reviewedAt],
    ),
  );
}

/** The request's review, locked, while it is neither reviewed nor overdue; undefined otherwise. */
export async function lockUnreviewedReview(
  tx: Transaction,
  requestId: string,
): Promise<{ reviewers: string[] } | undefined> {
  const [row] = await tx.query<{ reviewers: string[] }>(
    `SELECT coalesce(reviewers, '{}') AS reviewers FROM break_glass_reviews
      WHERE request_id = $1::uuid AND outcome IS NULL AND overdue_at IS NULL FOR UPDATE`,
    [requestId],
  );
  return row;
}

/** Marks the review overdue with its reviewers now; answers it with its request's channels. */
export async function markReviewRowOverdue(
  tx: Transaction,
  requestId: string,
  overdueAt: Date,
  reviewers: string[],
): Promise<BreakGlassReview & { channels: string[] }> {
  return onlyRow(
    await tx.query<BreakGlassReview & { channels: string[] }>(
      `UPDATE break_glass_reviews SET overdue_at = $2, reviewers = $3::text[]
        WHERE request_id = $1::uuid
       RETURNING ${REVIEW_COLUMNS},
         (SELECT r.channels FROM approval_requests r WHERE r.id = break_glass_reviews.request_id) AS channels`,
      [requestId, overdueAt, reviewers],
    ),
  );
}
