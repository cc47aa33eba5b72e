// The ids of one page of a client's requests, newest first, by the list indexes (one per filter
// set, access_path_indexes): a plain statement, so a page costs the index range it reads and not
// the ORM's work of building the statement (a few ms per page, more than the read itself).
import type { Database } from '../../db/client.ts';
import type { ApprovalStatus } from '../../generated/prisma/enums.ts';

export interface ListPageQuery {
  clientId: string;
  status?: ApprovalStatus | undefined;
  action?: string | undefined;
  /** Lower-cased. */
  requesterEmail?: string | undefined;
  /** Rows strictly after this (created_at, id) in newest-first order. */
  after?: { createdAt: Date; id: string } | undefined;
  take: number;
}

/** Up to `take` rows' ids and creation times, newest first (created_at DESC, id DESC). */
export async function readListPage(
  db: Pick<Database, 'pool'>,
  query: ListPageQuery,
): Promise<{ id: string; createdAt: Date }[]> {
  const values: unknown[] = [query.clientId];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const where = ['client_id = $1::uuid'];
  if (query.status) where.push(`status = ${param(query.status)}::"ApprovalStatus"`);
  if (query.action) where.push(`action = ${param(query.action)}`);
  if (query.requesterEmail) where.push(`requester_email = ${param(query.requesterEmail)}`);
  if (query.after) {
    // `created_at <= c` bounds the index range; the OR only sorts out rows sharing that instant.
    const at = param(query.after.createdAt);
    const id = param(query.after.id);
    where.push(`created_at <= ${at}`, `(created_at < ${at} OR id < ${id}::uuid)`);
  }
  const { rows } = await db.pool.query<{ id: string; created_at: Date }>(
    `SELECT id::text AS id, created_at FROM approval_requests
      WHERE ${where.join(' AND ')}
      ORDER BY created_at DESC, id DESC LIMIT ${param(query.take)}`,
    values,
  );
  return rows.map((row) => ({ id: row.id, createdAt: row.created_at }));
}
