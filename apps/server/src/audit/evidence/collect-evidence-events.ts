// The audit events an evidence pack lists beside the report: the policy history, the directory's
// changes and the administrators' actions, each read from the chain (the events are what the
// chain vouches for, not the tables they changed).
import type pg from 'pg';
import { ADMIN_EVENT_TYPES } from '../event-types.ts';
import type { ReportPeriod } from '../report/report-period.ts';
import { DIRECTORY_EVENT_TYPES } from '../report/report-summary.ts';

/** The report's administrative events, and the SCIM tokens and checkpoints made. */
export const ADMIN_ACTION_TYPES = [...ADMIN_EVENT_TYPES, 'scim.token.created', 'audit.checkpoint'] as const;

export interface EvidenceEvent {
  seq: string;
  type: string;
  actor: string;
  at: string;
  hash: string;
  payload: unknown;
}

interface EventRow {
  seq: string;
  type: string;
  actor: string;
  at: Date;
  hash: string;
  payload: unknown;
}

const COLUMNS = `seq::text AS seq, type, actor, occurred_at AS at, hash, payload`;

function toEvent(row: EventRow): EvidenceEvent {
  return {
    seq: row.seq,
    type: row.type,
    actor: row.actor,
    at: row.at.toISOString(),
    hash: row.hash,
    payload: row.payload,
  };
}

async function eventsIn(
  db: pg.ClientBase | pg.Pool,
  where: string,
  params: unknown[],
): Promise<EvidenceEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${COLUMNS} FROM audit_events WHERE ${where} ORDER BY seq`,
    params,
  );
  return rows.map(toEvent);
}

export interface EvidenceEvents {
  /** The policy in force when the period began (the last policy.loaded before it), then each load in it. */
  policyHistory: { inForceAtStart: EvidenceEvent | null; loaded: EvidenceEvent[] };
  directoryChanges: EvidenceEvent[];
  adminActions: EvidenceEvent[];
}

export async function collectEvidenceEvents(
  db: pg.ClientBase | pg.Pool,
  period: ReportPeriod,
): Promise<EvidenceEvents> {
  const range = [period.from, period.to];
  const [before] = await eventsIn(
    db,
    `seq = (SELECT max(seq) FROM audit_events WHERE type = 'policy.loaded' AND occurred_at < $1)`,
    [period.from],
  );
  return {
    policyHistory: {
      inForceAtStart: before ?? null,
      loaded: await eventsIn(db, `type = 'policy.loaded' AND occurred_at >= $1 AND occurred_at < $2`, range),
    },
    directoryChanges: await eventsIn(db, `type = ANY($3) AND occurred_at >= $1 AND occurred_at < $2`, [
      ...range,
      [...DIRECTORY_EVENT_TYPES],
    ]),
    adminActions: await eventsIn(db, `type = ANY($3) AND occurred_at >= $1 AND occurred_at < $2`, [
      ...range,
      [...ADMIN_ACTION_TYPES],
    ]),
  };
}
