// The report summary's reads, in the report's read snapshot: time to decision, refusals by
// reason, event counts by type, checkpoints, policies loaded and the period's edges of the chain.
import type { ReportPeriod } from './report-period.ts';
import { filterClause, type ReportFilters } from './report-rows-store.ts';
import type { ReadSnapshot } from '../../db/read-snapshot.ts';

/** Count, median and p95 (percentile_disc) of seconds to decision over the period's decided requests. */
export async function decisionTimes(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<{ decided: string; median: number | null; p95: number | null } | undefined> {
  const params: unknown[] = [period.from, period.to];
  const { rows } = await db.query<{ decided: string; median: number | null; p95: number | null }>(
    `SELECT count(*)::text AS decided,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds) AS median,
            percentile_disc(0.95) WITHIN GROUP (ORDER BY seconds) AS p95
       FROM (SELECT extract(epoch FROM r.decided_at - r.created_at)::float8 AS seconds
               FROM approval_requests r
              WHERE r.created_at >= $1 AND r.created_at < $2 AND r.status IN ('approved', 'denied')
                    AND r.decided_at IS NOT NULL${filterClause(filters, params)}) AS d`,
    params,
  );
  return rows[0];
}

/** Refusal events of one type in the period, on requests matching the filters, counted by reason. */
export async function refusalCountsByReason(
  db: ReadSnapshot,
  type: 'decision.refused' | 'execution.refused',
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<{ reason: string | null; count: string }[]> {
  const params: unknown[] = [period.from, period.to, type];
  const filtered = filters.action || filters.requester;
  const { rows } = await db.query<{ reason: string | null; count: string }>(
    `SELECT e.payload->>'reason' AS reason, count(*)::text AS count
       FROM audit_events e ${filtered ? 'JOIN approval_requests r ON r.id = e.request_id' : ''}
      WHERE e.type = $3 AND e.occurred_at >= $1 AND e.occurred_at < $2
            ${filtered ? filterClause(filters, params) : ''}
      GROUP BY 1`,
    params,
  );
  return rows;
}

/** The period's events of these types, counted by type. */
export async function eventCountsByType(
  db: ReadSnapshot,
  period: ReportPeriod,
  types: readonly string[],
): Promise<{ type: string; count: string }[]> {
  const { rows } = await db.query<{ type: string; count: string }>(
    `SELECT type, count(*)::text AS count FROM audit_events
      WHERE type = ANY($3::text[]) AND occurred_at >= $1 AND occurred_at < $2 GROUP BY 1`,
    [period.from, period.to, types],
  );
  return rows;
}

/**
 * Decisions recorded in the period by an approver whose directory user had been deactivated or
 * removed before, with no reactivation or new provisioning between.
 */
export async function decisionsAfterDeprovisioningCount(
  db: ReadSnapshot,
  period: ReportPeriod,
): Promise<number> {
  const { rows } = await db.query<{ count: string }>(
    `SELECT count(*)::text AS count FROM audit_events d
      WHERE d.type = 'decision.recorded' AND d.occurred_at >= $1 AND d.occurred_at < $2
        AND EXISTS (
          SELECT 1 FROM audit_events x
           WHERE x.type IN ('directory.user.deactivated', 'directory.user.removed') AND x.seq < d.seq
             AND lower(x.payload->>'email') = lower(d.payload->'approver'->>'email')
             AND NOT EXISTS (
               SELECT 1 FROM audit_events y
                WHERE y.type IN ('directory.user.reactivated', 'directory.user.created')
                  AND y.seq > x.seq AND y.seq < d.seq
                  AND lower(y.payload->>'email') = lower(x.payload->>'email')))`,
    [period.from, period.to],
  );
  return Number(rows[0]?.count ?? 0);
}

/** How many audit.checkpoint events the period holds. */
export async function checkpointCountInPeriod(db: ReadSnapshot, period: ReportPeriod): Promise<number> {
  const { rows } = await db.query<{ count: string }>(
    `SELECT count(*)::text AS count FROM audit_events
      WHERE type = 'audit.checkpoint' AND occurred_at >= $1 AND occurred_at < $2`,
    [period.from, period.to],
  );
  return Number(rows[0]?.count ?? 0);
}

/** The payload of the last audit.checkpoint event before `before`, or undefined when there is none. */
export async function latestCheckpointBefore(
  db: ReadSnapshot,
  before: Date,
): Promise<{ payload: unknown } | undefined> {
  const { rows } = await db.query<{ payload: unknown }>(
    `SELECT payload FROM audit_events WHERE type = 'audit.checkpoint' AND occurred_at < $1
      ORDER BY audit_events.seq DESC LIMIT 1`,
    [before],
  );
  return rows[0];
}

/** Each distinct policy (source, digest) loaded in the period, with its first load, in that order. */
export async function policiesLoadedIn(
  db: ReadSnapshot,
  period: ReportPeriod,
): Promise<{ source: string; digest: string; first: Date }[]> {
  const { rows } = await db.query<{ source: string; digest: string; first: Date }>(
    `SELECT payload->>'source' AS source, payload->>'digest' AS digest, min(occurred_at) AS first
       FROM audit_events WHERE type = 'policy.loaded' AND occurred_at >= $1 AND occurred_at < $2
      GROUP BY 1, 2 ORDER BY 3, 2`,
    [period.from, period.to],
  );
  return rows;
}

/** The period's first (ASC) or last (DESC) event in chain order, or undefined when it has none. */
export async function periodEdgeEvent(
  db: ReadSnapshot,
  period: ReportPeriod,
  order: 'ASC' | 'DESC',
): Promise<{ seq: string; hash: string; occurred_at: Date } | undefined> {
  // The edge's seq from the period's events by the occurred_at index (OFFSET 0: not by walking the
  // seq index from an end with a filter, which reads every event before or after the period).
  const { rows } = await db.query<{ seq: string; hash: string; occurred_at: Date }>(
    `SELECT seq::text AS seq, hash, occurred_at FROM audit_events
      WHERE seq = (SELECT ${order === 'ASC' ? 'min' : 'max'}(p.seq)
                     FROM (SELECT seq FROM audit_events WHERE occurred_at >= $1 AND occurred_at < $2 OFFSET 0) AS p)`,
    [period.from, period.to],
  );
  return rows[0];
}

/** Whether the stored event at `seq` occurred at or after `at` (false when it is not stored). */
export async function eventOccurredAtOrAfter(db: ReadSnapshot, seq: string, at: Date): Promise<boolean> {
  const { rows } = await db.query<{ after: boolean }>(
    'SELECT occurred_at >= $2 AS after FROM audit_events WHERE seq = $1::bigint',
    [seq, at],
  );
  return rows[0]?.after === true;
}
