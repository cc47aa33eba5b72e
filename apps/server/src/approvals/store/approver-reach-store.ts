// The reads that find whom a waiting request should reach beyond the approvers it names.
import { runSql, type SqlSource } from '../../db/transaction.ts';

/** The people holding an active delegation from any of `from` at `now`, each once, sorted. */
export async function listActiveDelegatesOf(
  tx: SqlSource,
  from: readonly string[],
  now: Date,
): Promise<string[]> {
  const rows = await runSql<{ to_email: string }>(
    tx,
    `SELECT DISTINCT to_email FROM delegations
        WHERE from_email = ANY($1::text[]) AND removed_at IS NULL AND until > $2 ORDER BY to_email`,
    [from, now],
  );
  return rows.map((row) => row.to_email);
}
