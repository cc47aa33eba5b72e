// The evidence pack's reads of the chain: audit events by type and period, as they were appended.
import type { Database } from '../../db/client.ts';

/** An audit event as the evidence pack lists it. */
export interface EvidenceEventRecord {
  seq: string;
  type: string;
  actor: string;
  at: Date;
  hash: string;
  payload: unknown;
}

const COLUMNS = `seq::text AS seq, type, actor, occurred_at AS at, hash, payload`;

async function eventsWhere(db: Database, where: string, params: unknown[]): Promise<EvidenceEventRecord[]> {
  const { rows } = await db.pool.query<EvidenceEventRecord>(
    `SELECT ${COLUMNS} FROM audit_events WHERE ${where} ORDER BY seq`,
    params,
  );
  return rows;
}

/** The last policy.loaded event before `before`, or undefined. */
export async function lastPolicyLoadBefore(
  db: Database,
  before: Date,
): Promise<EvidenceEventRecord | undefined> {
  const [row] = await eventsWhere(
    db,
    `seq = (SELECT max(seq) FROM audit_events WHERE type = 'policy.loaded' AND occurred_at < $1)`,
    [before],
  );
  return row;
}

/** The policy.loaded events between `from` (included) and `to`, in chain order. */
export function policyLoadsBetween(db: Database, from: Date, to: Date): Promise<EvidenceEventRecord[]> {
  return eventsWhere(db, `type = 'policy.loaded' AND occurred_at >= $1 AND occurred_at < $2`, [from, to]);
}

/** The events of these types between `from` (included) and `to`, in chain order. */
export function eventsOfTypesBetween(
  db: Database,
  from: Date,
  to: Date,
  types: readonly string[],
): Promise<EvidenceEventRecord[]> {
  return eventsWhere(db, `type = ANY($3) AND occurred_at >= $1 AND occurred_at < $2`, [from, to, [...types]]);
}
