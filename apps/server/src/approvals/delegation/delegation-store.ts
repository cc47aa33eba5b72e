// The delegations table: adding one (under the lock that lets the loop check see every earlier
// one), its removal, its recorded expiry, and the active delegations a delegate acts through.
import type { Delegation } from '../../generated/prisma/client.ts';
import { runSql, type Transaction, type SqlSource } from '../../db/transaction.ts';

/** delegations columns under Prisma's names. */
const DELEGATION_COLUMNS = `id::text AS id, from_email AS "fromEmail", to_email AS "toEmail", until, reason,
  created_by AS "createdBy", created_at AS "createdAt", removed_at AS "removedAt", removed_by AS "removedBy",
  expiry_recorded_at AS "expiryRecordedAt"`;

/** Delegations are added one at a time: this lock, held until commit, orders them. */
export async function lockDelegationAdding(tx: Transaction): Promise<void> {
  await tx.query('SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(4176221903)) AS l');
}

/** Who delegates to whom in every delegation active at `now`. */
export function listActiveDelegationEdges(
  tx: Transaction,
  now: Date,
): Promise<{ fromEmail: string; toEmail: string }[]> {
  return tx.query<{ fromEmail: string; toEmail: string }>(
    `SELECT from_email AS "fromEmail", to_email AS "toEmail" FROM delegations
      WHERE removed_at IS NULL AND until > $1`,
    [now],
  );
}

/** Stores a new delegation and answers its row. */
export async function insertDelegation(
  tx: Transaction,
  data: Pick<Delegation, 'id' | 'fromEmail' | 'toEmail' | 'until' | 'reason' | 'createdBy' | 'createdAt'>,
): Promise<Delegation> {
  const [row] = await tx.query<Delegation>(
    `INSERT INTO delegations (id, from_email, to_email, until, reason, created_by, created_at)
     VALUES ($1::uuid, $2, $3, $4, $5, $6, $7) RETURNING ${DELEGATION_COLUMNS}`,
    [data.id, data.fromEmail, data.toEmail, data.until, data.reason, data.createdBy, data.createdAt],
  );
  if (!row) throw new Error('INSERT … RETURNING answered no row');
  return row;
}

/** One delegation, or undefined. */
export async function findDelegation(tx: Transaction, id: string): Promise<Delegation | undefined> {
  const [row] = await tx.query<Delegation>(
    `SELECT ${DELEGATION_COLUMNS} FROM delegations WHERE id = $1::uuid`,
    [id],
  );
  return row;
}

/** Ends a delegation not yet removed; false when it already was. */
export async function markDelegationRemoved(
  tx: Transaction,
  id: string,
  now: Date,
  removedBy: string,
): Promise<boolean> {
  const rows = await tx.query<{ id: string }>(
    `UPDATE delegations SET removed_at = $2, removed_by = $3
      WHERE id = $1::uuid AND removed_at IS NULL RETURNING id::text AS id`,
    [id, now, removedBy],
  );
  return rows.length > 0;
}

/**
 * Records the expiry of a delegation that reached its `until` unremoved, once: answers its row, or
 * undefined when it was removed, recorded already, or is not yet due.
 */
export async function markExpiryRecorded(
  tx: Transaction,
  id: string,
  now: Date,
): Promise<Delegation | undefined> {
  const [row] = await tx.query<Delegation>(
    `UPDATE delegations SET expiry_recorded_at = $2
      WHERE id = $1::uuid AND removed_at IS NULL AND expiry_recorded_at IS NULL AND until <= $2
      RETURNING ${DELEGATION_COLUMNS}`,
    [id, now],
  );
  return row;
}

/** The delegations active at `now` that were made to `email`, oldest first. */
export function listActiveDelegationsTo(
  tx: SqlSource,
  email: string,
  now: Date,
): Promise<{ id: string; from_email: string }[]> {
  return runSql<{ id: string; from_email: string }>(
    tx,
    `SELECT id::text AS id, from_email FROM delegations
      WHERE to_email = $1 AND removed_at IS NULL AND until > $2 ORDER BY created_at, id`,
    [email, now],
  );
}
