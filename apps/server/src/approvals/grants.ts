// Time-bound grants (a rule's `grant: { upTo }`): opened by an approval whose approvers chose "this
// tool for N minutes" (record-decision.ts), used by createRequest to approve a later request for
// the same action, requester and agent while open, listed and revoked here. Every use and every
// revocation is in the audit chain with the grant's id.
import { appendAuditEventsAndCommit } from '../audit/append-event.ts';
import type { Database } from '../db/client.ts';
import { inTransaction } from '../db/transaction.ts';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';
import { isUuid } from './find-request.ts';

/** What listing and revoking need: the API passes its Deps, the CLI its database session. */
export type GrantDeps = Pick<Deps, 'db' | 'clock'> & { events?: Deps['events'] | undefined };

export interface GrantView {
  id: string;
  requestId: string;
  action: string;
  requester: string;
  agent: string | null;
  policyRule: string;
  minutes: number;
  approvers: string[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  /** open, expired or revoked, as of the time of the read. */
  status: 'open' | 'expired' | 'revoked';
  /** How many requests the grant approved. */
  uses: number;
}

interface GrantRow {
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

function viewOf(row: GrantRow, now: Date): GrantView {
  return {
    id: row.id,
    requestId: row.request_id,
    action: row.action,
    requester: row.requester_email,
    agent: row.agent_name,
    policyRule: row.policy_rule,
    minutes: row.minutes,
    approvers: row.approvers,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    revokedBy: row.revoked_by,
    status: row.revoked_at ? 'revoked' : row.expires_at.getTime() <= now.getTime() ? 'expired' : 'open',
    uses: Number(row.uses),
  };
}

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

export interface ListGrantsFilter {
  /** Only grants still open now. */
  open?: boolean | undefined;
  requester?: string | undefined;
  action?: string | undefined;
}

export async function listGrants(deps: GrantDeps, filter: ListGrantsFilter = {}): Promise<GrantView[]> {
  const now = deps.clock.now();
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.open) {
    params.push(now);
    where.push(`g.revoked_at IS NULL AND g.expires_at > $${params.length}`);
  }
  if (filter.requester) {
    params.push(filter.requester.toLowerCase());
    where.push(`g.requester_email = $${params.length}`);
  }
  if (filter.action) {
    params.push(filter.action);
    where.push(`g.action = $${params.length}`);
  }
  const { rows } = await deps.db.pool.query<GrantRow>(
    `${SELECT_GRANTS} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY g.created_at DESC LIMIT 500`,
    params,
  );
  return rows.map((row) => viewOf(row, now));
}

/**
 * Closes a grant now: later requests are put to people again. Revoking a grant that is already
 * revoked or expired changes nothing and says so.
 */
export async function revokeGrant(
  deps: GrantDeps,
  id: string,
  revokedBy: string,
): Promise<{ grant: GrantView; revoked: boolean }> {
  if (!isUuid(id)) throw new AppError('NOT_FOUND', { detail: `no grant with id ${id}` });
  const now = deps.clock.now();
  return inTransaction(deps.db, async (tx) => {
    const [row] = await tx.query<GrantRow>(`${SELECT_GRANTS} WHERE g.id = $1::uuid FOR UPDATE OF g`, [id]);
    if (!row) throw new AppError('NOT_FOUND', { detail: `no grant with id ${id}` });
    const current = viewOf(row, now);
    if (current.status !== 'open') {
      return { grant: current, revoked: false };
    }
    await tx.query('UPDATE grants SET revoked_at = $2, revoked_by = $3 WHERE id = $1::uuid', [
      id,
      now,
      revokedBy,
    ]);
    await appendAuditEventsAndCommit(
      tx,
      [
        {
          type: 'grant.revoked',
          requestId: row.request_id,
          actor: revokedBy,
          payload: { grantId: id, revokedBy },
        },
      ],
      now,
      deps.events,
    );
    return {
      grant: { ...current, status: 'revoked', revokedAt: now.toISOString(), revokedBy },
      revoked: true,
    };
  });
}

/** The decision row a grant makes: its actor is `grant:<id>`. */
export function grantActor(grantId: string): string {
  return `grant:${grantId}`;
}
