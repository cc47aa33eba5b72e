// Time-bound grants (a rule's `grant: { upTo }`): opened by an approval whose approvers chose "this
// tool for N minutes" (record-decision.ts), used by createRequest to approve a later request for
// the same action, requester and agent while open, listed and revoked here. Every use and every
// revocation is in the audit chain with the grant's id.
import { appendAuditEventsAndCommit } from '../audit/append-event.ts';
import { inTransaction } from '../db/transaction.ts';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';
import { isUuid } from './find-request.ts';
import { lockGrant, markGrantRevoked, selectGrants, type GrantRow } from './store/grant-store.ts';

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

export interface ListGrantsFilter {
  /** Only grants still open now. */
  open?: boolean | undefined;
  requester?: string | undefined;
  action?: string | undefined;
}

export async function listGrants(deps: GrantDeps, filter: ListGrantsFilter = {}): Promise<GrantView[]> {
  const now = deps.clock.now();
  const rows = await selectGrants(deps.db, {
    openAt: filter.open ? now : undefined,
    requester: filter.requester?.toLowerCase(),
    action: filter.action,
  });
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
    const row = await lockGrant(tx, id);
    if (!row) throw new AppError('NOT_FOUND', { detail: `no grant with id ${id}` });
    const current = viewOf(row, now);
    if (current.status !== 'open') {
      return { grant: current, revoked: false };
    }
    await markGrantRevoked(tx, id, now, revokedBy);
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
