// The console's raw SQL reads: escalations that added a person, and the Audit page's figures.
import type { Database } from '../../db/client.ts';

/** Pending requests whose escalation (a request.escalated event) added one of `emails`, with the approvers it added. */
export function escalationsAdding(
  db: Database,
  emails: string[],
): Promise<{ id: string; approvers: string[] }[]> {
  return db.prisma.$queryRawUnsafe<{ id: string; approvers: string[] }[]>(
    `SELECT e.request_id::text AS id, ARRAY(SELECT jsonb_array_elements_text(e.payload->'approvers')) AS approvers
       FROM audit_events e JOIN approval_requests r ON r.id = e.request_id
      WHERE e.type = 'request.escalated' AND r.status = 'pending'
        AND e.payload->'approvers' ?| $1::text[]`,
    emails,
  );
}

/** Requests created between `from` (included) and `to`, per UTC day (YYYY-MM-DD). */
export function requestsCreatedPerDay(
  db: Database,
  from: Date,
  to: Date,
): Promise<{ day: string; count: number }[]> {
  return db.prisma.$queryRaw<{ day: string; count: number }[]>`
      SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*)::int AS count
        FROM approval_requests WHERE created_at >= ${from} AND created_at < ${to} GROUP BY 1`;
}

/** Requests that reached a verdict between `from` (included) and `to`, per UTC day and status. */
export function verdictsPerDay(
  db: Database,
  from: Date,
  to: Date,
): Promise<{ day: string; status: string; count: number }[]> {
  return db.prisma.$queryRaw<{ day: string; status: string; count: number }[]>`
      SELECT to_char(date_trunc('day', decided_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, status::text AS status,
             count(*)::int AS count
        FROM approval_requests
       WHERE decided_at >= ${from} AND decided_at < ${to} AND status <> 'pending' GROUP BY 1, 2`;
}

/** Count, median and p95 (percentile_disc) of seconds to decision of the approved and denied requests created in the range. */
export function decisionTimeSummary(
  db: Database,
  from: Date,
  to: Date,
): Promise<{ decided: number; median: number | null; p95: number | null }[]> {
  return db.prisma.$queryRaw<{ decided: number; median: number | null; p95: number | null }[]>`
      SELECT count(*)::int AS decided,
             percentile_disc(0.5) WITHIN GROUP (ORDER BY s) AS median,
             percentile_disc(0.95) WITHIN GROUP (ORDER BY s) AS p95
        FROM (SELECT extract(epoch FROM decided_at - created_at)::float8 AS s FROM approval_requests
               WHERE created_at >= ${from} AND created_at < ${to} AND status IN ('approved', 'denied')
                     AND decided_at IS NOT NULL) AS d`;
}

/** Decided requests created in the range, counted per width_bucket of their seconds to decision over `bounds`. */
export function decisionTimeBucketCounts(
  db: Database,
  from: Date,
  to: Date,
  bounds: number[],
): Promise<{ bucket: number; count: number }[]> {
  return db.prisma.$queryRaw<{ bucket: number; count: number }[]>`
    SELECT width_bucket(extract(epoch FROM decided_at - created_at)::float8, ${bounds}::float8[]) AS bucket,
           count(*)::int AS count
      FROM approval_requests
     WHERE created_at >= ${from} AND created_at < ${to} AND status IN ('approved', 'denied')
           AND decided_at IS NOT NULL
     GROUP BY 1`;
}

/** decision.refused events between `from` (included) and `to`, counted by reason. */
export function refusalsByReason(
  db: Database,
  from: Date,
  to: Date,
): Promise<{ reason: string; count: number }[]> {
  return db.prisma.$queryRaw<{ reason: string; count: number }[]>`
      SELECT payload->>'reason' AS reason, count(*)::int AS count FROM audit_events
       WHERE type = 'decision.refused' AND occurred_at >= ${from} AND occurred_at < ${to} GROUP BY 1`;
}
