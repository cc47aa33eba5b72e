// The metrics' reads at scrape time: installation-wide counts from the tables and the audit log.
import type { PrismaClient } from '../db/client.ts';

/** Chat cards by platform (the channel's prefix) and state: pending, posted or failed. */
export function chatCardCounts(
  db: PrismaClient,
): Promise<{ platform: string; status: string; count: bigint }[]> {
  return db.$queryRaw<{ platform: string; status: string; count: bigint }[]>`
        SELECT split_part(channel, ':', 1) AS platform,
               CASE WHEN failed_at IS NOT NULL THEN 'failed'
                    WHEN message_id IS NOT NULL THEN 'posted' ELSE 'pending' END AS status,
               count(*) AS count
          FROM chat_cards GROUP BY 1, 2`;
}

/** Verdict callback attempts by result: success (2xx), gone (410), http_error, error (no answer). */
export function callbackAttemptCounts(db: PrismaClient): Promise<{ result: string; count: bigint }[]> {
  return db.$queryRaw<{ result: string; count: bigint }[]>`
        SELECT CASE WHEN status_code BETWEEN 200 AND 299 THEN 'success'
                    WHEN status_code = 410 THEN 'gone'
                    WHEN status_code IS NOT NULL THEN 'http_error'
                    ELSE 'error' END AS result,
               count(*) AS count
          FROM callback_attempts GROUP BY 1`;
}

/** Background jobs waiting to run (created or waiting for a retry), by queue; throws before pg-boss made its schema. */
export function waitingJobCounts(db: PrismaClient): Promise<{ queue: string; count: bigint }[]> {
  return db.$queryRaw<{ queue: string; count: bigint }[]>`
          SELECT name AS queue, count(*) AS count FROM pgboss.job
           WHERE state IN ('created', 'retry') GROUP BY name`;
}

/** The audit log's head: its highest seq, or null when it is empty. */
export async function auditHeadSeq(db: PrismaClient): Promise<bigint | null> {
  const head = await db.$queryRaw<{ seq: bigint | null }[]>`SELECT max(seq) AS seq FROM audit_events`;
  return head[0]?.seq ?? null;
}

/**
 * Verdict, decision and refusal events with seq in (after, upTo], counted by type and detail (the
 * decision's verdict, the refusal's reason).
 */
export function countVerdictEventsBetween(
  db: PrismaClient,
  after: bigint,
  upTo: bigint,
): Promise<{ type: string; detail: string | null; count: bigint }[]> {
  return db.$queryRaw<{ type: string; detail: string | null; count: bigint }[]>`
      SELECT type,
             CASE type WHEN 'decision.recorded' THEN payload->>'verdict'
                       WHEN 'decision.refused' THEN payload->>'reason' END AS detail,
             count(*) AS count
        FROM audit_events
       WHERE seq > ${after} AND seq <= ${upTo}
         AND type IN ('request.approved', 'request.denied', 'request.expired', 'request.cancelled',
                      'decision.recorded', 'decision.refused')
       GROUP BY 1, 2`;
}
