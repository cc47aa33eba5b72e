// The report rows' reads, in the report's read snapshot (db/read-snapshot.ts): the period's
// requests in keyset batches, and per batch their decisions, chat cards, callbacks, executions,
// cancellations and the chain events that explain who was eligible.
import type { ReadSnapshot } from '../../db/read-snapshot.ts';
import type { ReportPeriod } from './report-period.ts';

export interface ReportFilters {
  /** Action glob: `*` any run of characters, `?` one character. */
  action?: string | undefined;
  /** Requester email (case-insensitive). */
  requester?: string | undefined;
}

/** SQL LIKE pattern for an action glob, with LIKE's own wildcards escaped. */
export function actionGlobToLike(glob: string): string {
  return glob
    .replace(/[\\%_]/g, (c) => `\\${c}`)
    .replace(/\*/g, '%')
    .replace(/\?/g, '_');
}

/** The WHERE clause shared by rows and summary queries, over `approval_requests r`, params from $3. */
export function filterClause(filters: ReportFilters, params: unknown[]): string {
  let clause = '';
  if (filters.action) {
    params.push(actionGlobToLike(filters.action));
    clause += ` AND r.action LIKE $${params.length}`;
  }
  if (filters.requester) {
    params.push(filters.requester.toLowerCase());
    clause += ` AND r.requester_email = $${params.length}`;
  }
  return clause;
}

export interface RequestRecord {
  id: string;
  created_at: Date;
  action: string;
  title: string | null;
  requester_email: string;
  requester_proof: unknown;
  agent_name: string | null;
  policy_rule: string | null;
  status: string;
  decided_at: Date | null;
  payload_digest: string;
  /** NULL on rows written without the column (the schema keeps list columns nullable). */
  approvers: string[] | null;
  any_approver: boolean;
}

/** One batch of the period's requests matching the filters, after `after` in (created_at, id) order. */
export async function requestBatch(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
  after: { createdAt: Date; id: string } | null,
  batchSize: number,
): Promise<RequestRecord[]> {
  const params: unknown[] = [period.from, period.to];
  let sql = `SELECT r.id, r.created_at, r.action, r.title, r.requester_email, r.requester_proof,
                    r.agent->>'name' AS agent_name,
                    r.policy_rule, r.status::text AS status, r.decided_at, r.payload_digest,
                    r.approvers, r.any_approver
               FROM approval_requests r
              WHERE r.created_at >= $1 AND r.created_at < $2${filterClause(filters, params)}`;
  if (after) {
    params.push(after.createdAt, after.id);
    sql += ` AND (r.created_at, r.id) > ($${params.length - 1}, $${params.length}::uuid)`;
  }
  params.push(batchSize);
  sql += ` ORDER BY r.created_at, r.id LIMIT $${params.length}`;
  const { rows } = await db.query<RequestRecord>(sql, params);
  return rows;
}

/** The approvers each request.escalated event from `from` on added, oldest first. */
export async function escalationsSince(
  db: ReadSnapshot,
  from: Date,
): Promise<{ request_id: string; approvers: string[] }[]> {
  const { rows } = await db.query<{ request_id: string; approvers: string[] }>(
    `SELECT request_id::text AS request_id,
            ARRAY(SELECT jsonb_array_elements_text(payload->'approvers')) AS approvers
       FROM audit_events WHERE type = 'request.escalated' AND occurred_at >= $1 AND request_id IS NOT NULL
      ORDER BY audit_events.seq`,
    [from],
  );
  return rows;
}

export interface DecisionRecord {
  request_id: string;
  approver_email: string;
  platform: string;
  verdict: 'approve' | 'deny';
  reason: string | null;
  created_at: Date;
  dev_signin: boolean;
  grant_minutes: number | null;
  on_behalf_of: string | null;
}

/** The decisions on these requests, in the order they were made. */
export async function decisionsOf(db: ReadSnapshot, requestIds: string[]): Promise<DecisionRecord[]> {
  const { rows } = await db.query<DecisionRecord>(
    `SELECT request_id, approver_email, platform, verdict::text AS verdict, reason, created_at, dev_signin,
            grant_minutes, on_behalf_of
         FROM decisions WHERE request_id = ANY($1::uuid[]) ORDER BY created_at, id`,
    [requestIds],
  );
  return rows;
}

/** The chat cards of these requests, oldest first. */
export async function cardsOf(
  db: ReadSnapshot,
  requestIds: string[],
): Promise<{ request_id: string; channel: string; message_id: string | null }[]> {
  const { rows } = await db.query<{ request_id: string; channel: string; message_id: string | null }>(
    `SELECT request_id, channel, message_id FROM chat_cards WHERE request_id = ANY($1::uuid[]) ORDER BY id`,
    [requestIds],
  );
  return rows;
}

/** The newest verdict callback of each of these requests. */
export async function latestCallbacksOf(
  db: ReadSnapshot,
  requestIds: string[],
): Promise<{ request_id: string; status: string; attempt_count: number }[]> {
  const { rows } = await db.query<{ request_id: string; status: string; attempt_count: number }>(
    `SELECT DISTINCT ON (request_id) request_id, status::text AS status, attempt_count
         FROM callback_deliveries WHERE request_id = ANY($1::uuid[])
        ORDER BY request_id, created_at DESC, id`,
    [requestIds],
  );
  return rows;
}

/** The executions of these requests. */
export async function executionsOf(
  db: ReadSnapshot,
  requestIds: string[],
): Promise<{ request_id: string; started_at: Date; outcome: string; secrets: string[] }[]> {
  const { rows } = await db.query<{
    request_id: string;
    started_at: Date;
    outcome: string;
    secrets: string[];
  }>(
    `SELECT request_id, started_at, outcome::text AS outcome, secrets
         FROM request_executions WHERE request_id = ANY($1::uuid[])`,
    [requestIds],
  );
  return rows;
}

/** Who cancelled these requests and why (their request.cancelled events). */
export async function cancellationsOf(
  db: ReadSnapshot,
  requestIds: string[],
): Promise<{ request_id: string; actor: string; reason: string | null }[]> {
  const { rows } = await db.query<{ request_id: string; actor: string; reason: string | null }>(
    `SELECT request_id, actor, payload->>'reason' AS reason
       FROM audit_events WHERE type = 'request.cancelled' AND request_id = ANY($1::uuid[])`,
    [requestIds],
  );
  return rows;
}

export interface EligibilityEvent {
  request_id: string;
  type: string;
  actor: string;
  via: string | null;
  source: string | null;
  escalated: string[] | null;
}

/** These requests' escalations and the decision.recorded events that name an eligibleThrough. */
export async function eligibilityEventsOf(
  db: ReadSnapshot,
  requestIds: string[],
): Promise<EligibilityEvent[]> {
  const { rows } = await db.query<EligibilityEvent>(
    `SELECT request_id, type, actor, payload->>'eligibleThrough' AS via, payload->>'eligibleSource' AS source,
            CASE WHEN type = 'request.escalated'
                 THEN ARRAY(SELECT jsonb_array_elements_text(payload->'approvers')) END AS escalated
       FROM audit_events
      WHERE request_id = ANY($1::uuid[])
        AND (type = 'request.escalated' OR (type = 'decision.recorded' AND payload ? 'eligibleThrough'))`,
    [requestIds],
  );
  return rows;
}
