// The grants table: the grant a verdict opens, the open grant a new request may use, the grants listed, and a revocation.
import type { Database } from '../../db/client.ts';
import type { Transaction } from '../../db/transaction.ts';

/** A grants row with its number of uses (decisions made as `grant:<id>`; count is bigint, so text). */
export interface GrantRow {
  id: string;
  request_id: string;
  action: string;
  requester_email: string;
  agent_name: string | null;
  policy_rule: string;
  minutes: number;
  approvers: string[];
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
  uses: string;
}

const SELECT_GRANTS = `
  SELECT g.id::text, g.request_id::text, g.action, g.requester_email, g.agent_name, g.policy_rule,
         g.minutes, g.approvers, g.created_at, g.expires_at, g.revoked_at, g.revoked_by,
         (SELECT count(*) FROM decisions d WHERE d.approver_email = 'grant:' || g.id::text) AS uses
    FROM grants g`;

/** The open grant that covers a new request, if any: same action, requester, agent and rule. */
export async function findOpenGrant(
  db: Pick<Database, 'pool'>,
  scope: { action: string; requester: string; agent: string | null; policyRule: string; now: Date },
): Promise<{ id: string; expiresAt: Date } | null> {
  const {
    rows: [row],
  } = await db.pool.query<{ id: string; expires_at: Date }>(
    `SELECT id::text, expires_at FROM grants
      WHERE action = $1 AND requester_email = $2 AND agent_name IS NOT DISTINCT FROM $3
        AND policy_rule = $4 AND revoked_at IS NULL AND expires_at > $5
      ORDER BY expires_at DESC LIMIT 1`,
    [scope.action, scope.requester.toLowerCase(), scope.agent, scope.policyRule, scope.now],
  );
  return row ? { id: row.id, expiresAt: row.expires_at } : null;
}

/** Which grants to list: each filter set narrows the list. */
export interface GrantRowFilter {
  /** Only grants open at this time. */
  openAt?: Date | undefined;
  /** Lower-cased. */
  requester?: string | undefined;
  action?: string | undefined;
}

/** The newest 500 grants that match the filter, newest first. */
export async function selectGrants(db: Database, filter: GrantRowFilter): Promise<GrantRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.openAt) {
    params.push(filter.openAt);
    where.push(`g.revoked_at IS NULL AND g.expires_at > $${params.length}`);
  }
  if (filter.requester) {
    params.push(filter.requester);
    where.push(`g.requester_email = $${params.length}`);
  }
  if (filter.action) {
    params.push(filter.action);
    where.push(`g.action = $${params.length}`);
  }
  const { rows } = await db.pool.query<GrantRow>(
    `${SELECT_GRANTS} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY g.created_at DESC LIMIT 500`,
    params,
  );
  return rows;
}

/** Locks a grant for its revocation and answers it; undefined when there is none. */
export async function lockGrant(tx: Transaction, id: string): Promise<GrantRow | undefined> {
  const [row] = await tx.query<GrantRow>(`${SELECT_GRANTS} WHERE g.id = $1::uuid FOR UPDATE OF g`, [id]);
  return row;
}

/** Marks a grant revoked by `revokedBy` at `now`. */
export async function markGrantRevoked(
  tx: Transaction,
  id: string,
  now: Date,
  revokedBy: string,
): Promise<void> {
  await tx.query('UPDATE grants SET revoked_at = $2, revoked_by = $3 WHERE id = $1::uuid', [
    id,
    now,
    revokedBy,
  ]);
}

/** A grant opened by the approvals that reached a verdict. */
export interface NewGrant {
  id: string;
  requestId: string;
  action: string;
  requester: string;
  agent: string | null;
  policyRule: string;
  minutes: number;
  approvers: string[];
  now: Date;
  expiresAt: Date;
}

/** Inserts the grant a verdict opens. */
export async function insertGrant(tx: Transaction, grant: NewGrant): Promise<void> {
  await tx.query(
    `INSERT INTO grants (id, request_id, action, requester_email, agent_name, policy_rule, minutes,
                         approvers, created_at, expires_at)
     VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      grant.id,
      grant.requestId,
      grant.action,
      grant.requester,
      grant.agent,
      grant.policyRule,
      grant.minutes,
      grant.approvers,
      grant.now,
      grant.expiresAt,
    ],
  );
}
