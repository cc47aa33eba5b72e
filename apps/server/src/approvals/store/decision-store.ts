// The decisions rows: written inside the deciding transaction,
// whose request row is locked, so a tally read here cannot be overtaken by another decision.
import { randomUUID } from 'node:crypto';
import type { Transaction } from '../../db/transaction.ts';
import type { Decision } from '../../generated/prisma/client.ts';

/** A decision to store: the canonical decider and what the platform said of them. */
export interface NewDecision {
  requestId: string;
  email: string;
  platform: string;
  platformUserId: string | null;
  displayName: string | null;
  verdict: 'approve' | 'deny';
  reason: string | null;
  now: Date;
  devSignin: boolean;
  grantMinutes: number | null;
  /** A delegate's decision: whose place they take. */
  onBehalfOf: string | null;
}

/** Who had approved and denied before this decision (in order), and the windows the approvals chose. */
export interface EarlierDecisions {
  approvals: string[];
  denials: string[];
  grants: (number | null)[];
}

/**
 * Inserts the decision unless this person's place is already taken, and reads the earlier
 * decisions, in one statement (its snapshot, taken after the row lock, holds every earlier one;
 * the new row is not in it). Null: a repeated decision, nothing stored.
 */
export async function insertDecisionAndReadEarlier(
  tx: Transaction,
  decision: NewDecision,
): Promise<EarlierDecisions | null> {
  const [row] = await tx.query<EarlierDecisions & { inserted: boolean }>(
    `WITH inserted AS (
       INSERT INTO decisions (id, request_id, approver_email, platform, platform_user_id, display_name,
                              verdict, reason, created_at, dev_signin, grant_minutes, on_behalf_of)
       SELECT $1::uuid, $2::uuid, $3, $4, $5, $6, $7::"Verdict", $8, $9, $10, $11::int, $12::text
       -- One decision per approver's place: not both bob and a delegate for bob.
        WHERE NOT EXISTS (SELECT 1 FROM decisions
                           WHERE request_id = $2::uuid
                             AND (on_behalf_of = $3 OR approver_email = $12::text OR on_behalf_of = $12::text))
       ON CONFLICT (request_id, approver_email) DO NOTHING
       RETURNING id
     ), earlier AS (
       SELECT ctid, approver_email, verdict, grant_minutes FROM decisions WHERE request_id = $2::uuid
     )
     SELECT EXISTS (SELECT 1 FROM inserted) AS inserted,
            COALESCE((SELECT array_agg(approver_email ORDER BY ctid) FROM earlier WHERE verdict = 'approve'), '{}') AS approvals,
            COALESCE((SELECT array_agg(grant_minutes ORDER BY ctid) FROM earlier WHERE verdict = 'approve'), '{}') AS grants,
            COALESCE((SELECT array_agg(approver_email) FROM earlier WHERE verdict = 'deny'), '{}') AS denials`,
    [
      randomUUID(),
      decision.requestId,
      decision.email,
      decision.platform,
      decision.platformUserId,
      decision.displayName,
      decision.verdict,
      decision.reason,
      decision.now,
      decision.devSignin,
      decision.grantMinutes,
      decision.onBehalfOf,
    ],
  );
  if (!row?.inserted) return null;
  return { approvals: row.approvals, denials: row.denials, grants: row.grants };
}

/** Inserts an approval made at creation (a rule's autoApprove, an open grant) and answers the row. */
export async function insertCreationApproval(
  tx: Transaction,
  approval: { requestId: string; actor: string; platform: string; now: Date },
): Promise<Decision> {
  const [row] = await tx.query<Decision>(
    `INSERT INTO decisions (id, request_id, approver_email, platform, verdict, created_at)
     VALUES ($1::uuid, $2::uuid, $3, $4, 'approve', $5)
     RETURNING id, request_id AS "requestId", approver_email AS "approverEmail", platform,
               platform_user_id AS "platformUserId", display_name AS "displayName", verdict::text AS verdict,
               reason, created_at AS "createdAt", dev_signin AS "devSignin", grant_minutes AS "grantMinutes",
               on_behalf_of AS "onBehalfOf"`,
    [randomUUID(), approval.requestId, approval.actor, approval.platform, approval.now],
  );
  if (!row) throw new Error('INSERT … RETURNING answered no row');
  return row;
}
