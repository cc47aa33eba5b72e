// The report sections' reads, in the report's read snapshot: time-bound grants, break-glass uses,
// delegation events, and what the chain verification starts from (the signed checkpoint).
import type { ReportPeriod } from './report-period.ts';
import { filterClause, type ReportFilters } from './report-rows-store.ts';
import type { ReadSnapshot } from '../../db/read-snapshot.ts';

export interface GrantRecord {
  id: string;
  request_id: string;
  approvers: string[] | null;
  minutes: number;
  created_at: Date;
  expires_at: Date;
}

/** The grants with these ids (duplicates read once). */
export async function grantsWithIds(db: ReadSnapshot, ids: string[]): Promise<GrantRecord[]> {
  const { rows } = await db.query<GrantRecord>(
    `SELECT id::text, request_id::text, approvers, minutes, created_at, expires_at
       FROM grants WHERE id = ANY($1::uuid[])`,
    [[...new Set(ids)]],
  );
  return rows;
}

export interface PeriodGrantRecord extends GrantRecord {
  action: string;
  requester_email: string;
  agent_name: string | null;
  policy_rule: string;
  revoked_at: Date | null;
  revoked_by: string | null;
  /** Requests it approved in the period, as text (a count). */
  uses: string;
}

/** The grants opened, used or revoked in the period whose opening request matches the filters, oldest first. */
export async function grantsOfPeriod(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<PeriodGrantRecord[]> {
  const params: unknown[] = [period.from, period.to];
  const { rows } = await db.query<PeriodGrantRecord>(
    `SELECT g.id::text, g.request_id::text, g.approvers, g.minutes, g.created_at, g.expires_at,
            g.action, g.requester_email, g.agent_name, g.policy_rule, g.revoked_at, g.revoked_by,
            (SELECT count(*) FROM decisions d
              WHERE d.approver_email = 'grant:' || g.id::text AND d.platform = 'grant'
                AND d.created_at >= $1 AND d.created_at < $2)::text AS uses
       FROM grants g JOIN approval_requests r ON r.id = g.request_id
      WHERE ((g.created_at >= $1 AND g.created_at < $2)
             OR (g.revoked_at >= $1 AND g.revoked_at < $2)
             OR EXISTS (SELECT 1 FROM decisions d
                         WHERE d.approver_email = 'grant:' || g.id::text AND d.platform = 'grant'
                           AND d.created_at >= $1 AND d.created_at < $2))${filterClause(filters, params)}
      ORDER BY g.created_at, g.id`,
    params,
  );
  return rows;
}

/** A request.created event of a break-glass use, with its request's action. */
export interface BreakGlassCreatedRecord {
  seq: string;
  request_id: string;
  occurred_at: Date;
  action: string;
  payload: unknown;
}

/** The request.created events of the period's break-glass uses matching the filters, in chain order. */
export async function breakGlassCreations(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<BreakGlassCreatedRecord[]> {
  const params: unknown[] = [period.from, period.to];
  const { rows } = await db.query<BreakGlassCreatedRecord>(
    `SELECT e.seq::text AS seq, e.request_id::text AS request_id, e.occurred_at, r.action, e.payload
       FROM audit_events e JOIN approval_requests r ON r.id = e.request_id
      WHERE e.type = 'request.created' AND e.payload->'breakGlass' IS NOT NULL
            AND e.occurred_at >= $1 AND e.occurred_at < $2${filterClause(filters, params)}
      ORDER BY e.seq`,
    params,
  );
  return rows;
}

/** A breakglass.reviewed or breakglass.review_overdue event. */
export interface BreakGlassFollowUpRecord {
  request_id: string;
  type: string;
  occurred_at: Date;
  seq: string;
  payload: unknown;
}

/** The reviews and overdue notices of these break-glass requests, in chain order. */
export async function breakGlassFollowUps(
  db: ReadSnapshot,
  requestIds: string[],
): Promise<BreakGlassFollowUpRecord[]> {
  const { rows } = await db.query<BreakGlassFollowUpRecord>(
    `SELECT request_id::text AS request_id, type, occurred_at, seq::text AS seq, payload FROM audit_events
      WHERE type IN ('breakglass.reviewed', 'breakglass.review_overdue') AND request_id = ANY($1::uuid[])
      ORDER BY audit_events.seq`,
    [requestIds],
  );
  return rows;
}

/** An audit event as the report's event lists read it. */
export interface ReportEventRecord<Type extends string = string> {
  seq: string;
  type: Type;
  occurred_at: Date;
  actor: string;
  request_id: string | null;
  payload: unknown;
}

/** The period's events of these types, in chain order. */
export async function eventsOfTypesInPeriod<Type extends string>(
  db: ReadSnapshot,
  period: ReportPeriod,
  types: readonly Type[],
): Promise<ReportEventRecord<Type>[]> {
  const { rows } = await db.query<ReportEventRecord<Type>>(
    `SELECT seq::text AS seq, type, occurred_at, actor, request_id::text AS request_id, payload
       FROM audit_events
      WHERE type = ANY($3::text[]) AND occurred_at >= $1 AND occurred_at < $2
      ORDER BY audit_events.seq`,
    [period.from, period.to, types],
  );
  return rows;
}

/** The first and last seq of the period's events (by occurred_at); nulls when it has none. */
export async function periodSeqRange(
  db: ReadSnapshot,
  period: ReportPeriod,
): Promise<{ first: string | null; last: string | null }> {
  // OFFSET 0 keeps the period's events read by the occurred_at index: without it the planner takes
  // min and max from the ends of the seq index, filtering, and walks every event before the period.
  const { rows } = await db.query<{ first: string | null; last: string | null }>(
    `SELECT min(p.seq)::text AS first, max(p.seq)::text AS last
       FROM (SELECT seq FROM audit_events WHERE occurred_at >= $1 AND occurred_at < $2 OFFSET 0) AS p`,
    [period.from, period.to],
  );
  return { first: rows[0]?.first ?? null, last: rows[0]?.last ?? null };
}

/** The seq of the last event that occurred before `before`, or null. */
export async function lastSeqBefore(db: ReadSnapshot, before: Date): Promise<string | null> {
  const { rows } = await db.query<{ seq: string }>(
    `SELECT seq::text AS seq FROM audit_events WHERE occurred_at < $1 ORDER BY occurred_at DESC, audit_events.seq DESC LIMIT 1`,
    [before],
  );
  return rows[0]?.seq ?? null;
}

/** The last audit.checkpoint event at or before `seq`, or undefined. */
export async function checkpointAtOrBefore(
  db: ReadSnapshot,
  seq: string,
): Promise<{ seq: string; payload: unknown } | undefined> {
  const { rows } = await db.query<{ seq: string; payload: unknown }>(
    `SELECT seq::text AS seq, payload FROM audit_events
      WHERE type = 'audit.checkpoint' AND seq <= $1::bigint ORDER BY audit_events.seq DESC LIMIT 1`,
    [seq],
  );
  return rows[0];
}

/** The stored hash of the event at `seq`, or undefined when no such event is stored. */
export async function hashOfEvent(db: ReadSnapshot, seq: string): Promise<string | undefined> {
  const { rows } = await db.query<{ hash: string }>('SELECT hash FROM audit_events WHERE seq = $1::bigint', [
    seq,
  ]);
  return rows[0]?.hash;
}
