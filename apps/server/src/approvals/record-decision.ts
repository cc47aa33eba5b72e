// Records one approver's decision. The request row is locked (SELECT … FOR UPDATE) for the whole
// transaction, so concurrent clicks, chat retries and several replicas serialise on it and the
// request reaches exactly one verdict. Refused attempts are audited and committed, then thrown.
// Chat adapters call this and nothing else: platform-neutral by design.
import { randomUUID } from 'node:crypto';
import { inTransaction, type Transaction } from '../db/transaction.ts';
import { appendAuditEventsAndCommit, auditAppendStatement } from '../audit/append-event.ts';
import type {
  AuditApprover,
  AuditEventInput,
  ChainEventInput,
  RefusalReason,
  WebSessionRef,
} from '../audit/event-types.ts';
import { IDP_PREFIX, type IdpMembership, type PresenceRead } from '../directory/directory-eligibility.ts';
import { checkEligibility, decidingRulesOf } from './decider-eligibility.ts';
import { adoptApprovedProposal } from './policy/adopt-approved-proposal.ts';
import { POLICY_CHANGE_ACTION } from './policy/policy-versions.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { concludeRequest } from './conclude-request.ts';
import { refreshCards, type ChatOutboxDeps } from './outbox/card-outbox.ts';
import { mapDatabaseOutage } from '../db/database-outage.ts';
import { isUuid, type RequestWithDecisions } from './find-request.ts';
import { readRequestAndCommit } from './store/request-view-store.ts';
import { lockRequestForDecision, type DecisionLockRow } from './store/request-store.ts';
import { insertDecisionAndReadEarlier } from './store/decision-store.ts';
import { insertGrant } from './store/grant-store.ts';
import { maskCredentialsInText } from './masking.ts';
import { refuseTooLongText } from './text-limits.ts';
import { requestChainFromColumns, type RequestChain } from '../audit/request-chain.ts';
import { queueRequesterNotice } from './follow-up/follow-up-jobs.ts';
import { findDelegatedEligibility } from './delegation/delegated-eligibility.ts';

export interface DecisionApprover {
  /** The corporate email the platform resolved; null when it could not be resolved. */
  email: string | null;
  platform: string;
  platformUserId?: string | null | undefined;
  displayName?: string | null | undefined;
  /**
   * Set by a chat adapter when the clicker's workspace or tenant is not one the app serves: such a
   * click never counts, whatever email it resolves to.
   */
  fromForeignTenant?: boolean | undefined;
}

export interface RecordDecisionInput {
  requestId: string;
  verdict: 'approve' | 'deny';
  reason?: string | null | undefined;
  approver: DecisionApprover;
  /** The web console session it came through (platform `web`); recorded in the audit trail. */
  session?: WebSessionRef | undefined;
  /**
   * "Approve this tool for this agent session for N minutes" instead of "approve this call":
   * allowed only with approve, where the request's rule has `grant: { upTo }`, up to that long.
   */
  grantMinutes?: number | null | undefined;
}

export interface RecordDecisionResult {
  request: RequestWithDecisions;
  /** False when the same person had already decided: a repeated click changes nothing. */
  recorded: boolean;
  /** Set when this decision produced the verdict. */
  verdict: 'approved' | 'denied' | null;
}

const REFUSAL_ERRORS: Record<RefusalReason, ErrorCode> = {
  self_approval: 'SELF_APPROVAL_FORBIDDEN',
  not_eligible: 'NOT_ELIGIBLE',
  identity_unresolved: 'IDENTITY_UNRESOLVED',
  already_decided: 'ALREADY_DECIDED',
  expired: 'REQUEST_EXPIRED',
  foreign_tenant: 'FOREIGN_TENANT',
  deprovisioned: 'DEPROVISIONED',
};

interface LockedRequest extends DecisionLockRow {
  /** From the request.created event: what a grant opened by this request covers. */
  grant: GrantScope | null;
  /** From the request.created event: the policy groups its approvers came from, name → members. */
  approverGroups: Record<string, string[]>;
}

/** What a grant opened by a request covers, and how long a rule lets it be, from its chain. */
interface GrantScope {
  action: string;
  requester: string;
  agent: string | null;
  policyRule: string;
  upToSeconds: number;
}

function grantScopeOf(chain: RequestChain): GrantScope | null {
  const created = chain.created.payload;
  if (created.grantUpTo === undefined) return null;
  const agent = created.agent as { name?: unknown } | null | undefined;
  return {
    action: created.action,
    requester: created.requester.toLowerCase(),
    agent: typeof agent?.name === 'string' ? agent.name : null,
    policyRule: created.policyRule,
    upToSeconds: created.grantUpTo,
  };
}

/** The locked row with every rule the decision is held to taken from the request.created event. */
function heldToChain(request: DecisionLockRow, chain: RequestChain): LockedRequest {
  const created = chain.created.payload;
  const rules = decidingRulesOf(chain, request.agent_owner);
  return {
    ...request,
    action: created.action,
    requester_email: rules.requesterEmail,
    approvers: [...rules.approvers],
    any_approver: rules.anyApprover,
    quorum: created.quorum,
    agent_owner: rules.agentOwner,
    // Events written before these were recorded fall back to the row.
    deny_quorum: created.denyQuorum ?? request.deny_quorum,
    deny_reason_required: created.denyReasonRequired ?? request.deny_reason_required,
    grant: grantScopeOf(chain),
    approverGroups: created.approverGroups ?? {},
  };
}

/**
 * What made a decider eligible, for the chain: the `idp:` group (with where the membership was
 * read), else the first policy group of the request's rule that lists them; nothing when they were
 * named on their own (or anyone could decide).
 */
function eligibleThroughOf(
  request: LockedRequest,
  decider: string,
  idp: IdpMembership | null,
): Pick<
  Extract<AuditEventInput, { type: 'decision.recorded' }>['payload'],
  'eligibleThrough' | 'eligibleSource'
> {
  if (idp) return { eligibleThrough: `${IDP_PREFIX}${idp.group}`, eligibleSource: idp.source };
  if (request.any_approver) return {};
  const group = Object.entries(request.approverGroups).find(([, members]) => members.includes(decider));
  return group ? { eligibleThrough: `group:${group[0]}` } : {};
}

interface DecisionContext {
  outbox: ChatOutboxDeps;
  email: string | null;
  approver: AuditApprover;
  actor: string;
  verdict: 'approve' | 'deny';
  reason: string | null;
  now: Date;
  foreignTenant: boolean;
  session: WebSessionRef | undefined;
  grantMinutes: number | null;
  /** The directory's presence of `email`, read with the row lock. */
  presence: PresenceRead | undefined;
}

type Outcome =
  | { kind: 'refused'; reason: RefusalReason; detail: string }
  | { kind: 'duplicate' }
  | { kind: 'recorded'; verdict: 'approved' | 'denied' | null };

export function canonicalIdentity(email: string): string {
  return email.trim().toLowerCase();
}

/** Throws AppError DATABASE_UNAVAILABLE when Postgres is away, so a chat adapter can tell the clicker. */
export function recordDecision(deps: Deps, input: RecordDecisionInput): Promise<RecordDecisionResult> {
  return mapDatabaseOutage(() => decideInTransaction(deps, input));
}

async function decideInTransaction(deps: Deps, input: RecordDecisionInput): Promise<RecordDecisionResult> {
  if (!isUuid(input.requestId))
    throw new AppError('NOT_FOUND', { detail: `no approval request with id ${input.requestId}` });
  refuseTooLongText('reason', input.reason?.trim());
  const grantMinutes = input.grantMinutes ?? null;
  if (
    grantMinutes !== null &&
    (input.verdict !== 'approve' || !Number.isSafeInteger(grantMinutes) || grantMinutes < 1)
  ) {
    throw new AppError('VALIDATION_FAILED', {
      detail: 'a grant is a whole number of minutes (at least 1), and only with approve',
      errors: [{ pointer: '/grantMinutes', message: 'must be a whole number of minutes, with approve' }],
    });
  }
  // Stored, audited and shown masked: a reason is free text and may quote a credential.
  const reason = input.reason?.trim() ? maskCredentialsInText(input.reason.trim()) : null;
  const now = deps.clock.now();
  const email = input.approver.email ? canonicalIdentity(input.approver.email) : null;
  const approver: AuditApprover = {
    email,
    platform: input.approver.platform,
    platformUserId: input.approver.platformUserId ?? null,
    displayName: input.approver.displayName ?? null,
  };
  const actor = email ?? `${approver.platform}:${approver.platformUserId ?? 'unknown'}`;

  // On node-postgres rather than a Prisma interactive transaction: under a burst of clicks the
  // process is CPU-bound, and Prisma's runtime cost more than the SQL (docs/decisions/0001-why-prisma-and-raw-sql.md).
  const outcome = await inTransaction(
    deps.db,
    async (tx): Promise<{ decided: Outcome; request: RequestWithDecisions | null }> => {
      const { request, chainColumns, presence } = await lockRequestForDecision(tx, input.requestId, email);
      if (!request)
        throw new AppError('NOT_FOUND', { detail: `no approval request with id ${input.requestId}` });
      // Who may decide, and how many must agree, is what the chain recorded at creation: the row's
      // copy of those rules is not trusted (a database login could have rewritten it).
      const chain = requestChainFromColumns(request.id, chainColumns);
      if (!chain.found) throw new AppError('CHAIN_MISMATCH', { detail: chain.reason });
      const held = heldToChain(request, chain.chain);
      // Events are appended once, as the transaction's last step, to keep the chain lock short.
      const events: ChainEventInput[] = [];
      const decided = await decide(
        tx,
        held,
        {
          outbox: deps,
          email,
          approver,
          actor,
          verdict: input.verdict,
          reason,
          now,
          foreignTenant: input.approver.fromForeignTenant === true,
          session: input.session,
          grantMinutes: input.grantMinutes ?? null,
          presence,
        },
        events,
      );
      if (decided.kind === 'refused') {
        await appendAuditEventsAndCommit(tx, events, now, deps.events);
        return { decided, request: null };
      }
      // The request as this transaction leaves it, read in the round trip that appends the events
      // and commits: nothing to re-read (and no outage between commit and re-read to ride out) after.
      const after = await readRequestAndCommit(
        tx,
        held.id,
        auditAppendStatement(tx, events, now, deps.events),
      );
      return { decided, request: after };
    },
  );
  if (outcome.decided.kind === 'refused') {
    throw new AppError(REFUSAL_ERRORS[outcome.decided.reason], { detail: outcome.decided.detail });
  }
  const { request } = outcome;
  if (!request) throw new Error('a decision that was not refused returns its request');
  return {
    request,
    recorded: outcome.decided.kind === 'recorded',
    verdict: outcome.decided.kind === 'recorded' ? outcome.decided.verdict : null,
  };
}

async function decide(
  tx: Transaction,
  request: LockedRequest,
  context: DecisionContext,
  events: ChainEventInput[],
): Promise<Outcome> {
  const { email, approver, actor, verdict, reason, now, session } = context;
  const withSession = session ? { session } : {};
  const refuse = (why: RefusalReason, detail: string): Outcome => {
    events.push({
      type: 'decision.refused',
      requestId: request.id,
      actor,
      payload: { reason: why, approver, verdict, status: request.status, ...withSession },
    });
    return { kind: 'refused', reason: why, detail };
  };

  if (request.status !== 'pending') {
    return refuse('already_decided', `this request is already ${request.status}`);
  }
  if (request.expires_at.getTime() <= now.getTime()) {
    events.push(
      await markExpired(
        tx,
        context.outbox,
        { id: request.id, expiresAt: request.expires_at, callbackUrl: request.callback_url },
        now,
      ),
    );
    return refuse('expired', 'this request expired before your decision arrived');
  }
  if (context.foreignTenant) {
    return refuse('foreign_tenant', 'your account belongs to another organisation than this app serves');
  }
  const rules = {
    requesterEmail: request.requester_email,
    agentOwner: request.agent_owner,
    approvers: request.approvers,
    anyApprover: request.any_approver,
  };
  const eligibility = await checkEligibility(tx, rules, email, context.presence);
  // Not an approver themselves: perhaps a delegate of one (approvals/delegation/).
  const delegated =
    !eligibility.eligible && eligibility.reason === 'not_eligible' && email
      ? await findDelegatedEligibility(tx, rules, email, now)
      : null;
  if (delegated?.kind === 'through_requester') return refuse('self_approval', delegated.detail);
  if (!eligibility.eligible && delegated?.kind !== 'delegate')
    return refuse(eligibility.reason, eligibility.detail);
  const idp = eligibility.eligible ? eligibility.idp : null;
  const decider = eligibility.eligible ? eligibility.email : (email ?? '');
  const onBehalfOf = delegated?.kind === 'delegate' ? delegated.onBehalfOf : null;
  if (verdict === 'deny' && request.deny_reason_required && !reason) {
    throw new AppError('DENY_REASON_REQUIRED', { detail: 'a reason is required to deny this request' });
  }
  const { grantMinutes } = context;
  if (grantMinutes !== null) {
    if (!request.grant) {
      throw new AppError('POLICY_VIOLATION', {
        detail: "this request's rule allows approving this call only, not a time-bound grant",
        errors: [{ pointer: '/grantMinutes', message: 'the rule has no grant: { upTo }' }],
      });
    }
    const upTo = Math.floor(request.grant.upToSeconds / 60);
    if (grantMinutes > upTo) {
      throw new AppError('POLICY_VIOLATION', {
        detail: `rule "${request.grant.policyRule}" allows a grant of at most ${upTo} minutes`,
        errors: [{ pointer: '/grantMinutes', message: `at most ${upTo}` }],
      });
    }
  }

  const stored = await storeDecision(tx, request.id, {
    email: decider,
    approver,
    verdict,
    reason,
    now,
    devSignin: session?.devSignin ?? false,
    grantMinutes,
    onBehalfOf,
  });
  if (!stored) return { kind: 'duplicate' };
  events.push({
    type: 'decision.recorded',
    requestId: request.id,
    actor: decider,
    payload: {
      approver,
      verdict,
      reason,
      ...withSession,
      // A delegate's eligibility is the delegator's: onBehalfOf says so.
      ...(onBehalfOf ? {} : eligibleThroughOf(request, decider, idp)),
      ...(grantMinutes !== null ? { grantMinutes } : {}),
      ...(onBehalfOf ? { onBehalfOf } : {}),
    },
  });
  if (delegated?.kind === 'delegate') {
    events.push({
      type: 'delegation.used',
      requestId: request.id,
      actor: decider,
      payload: { delegationId: delegated.delegationId, from: delegated.onBehalfOf, to: decider, verdict },
    });
  }
  // Concluding refreshes the cards; a decision that does not conclude refreshes them below.
  const settled = await settleVerdict(tx, context.outbox, request, stored, now);
  if (settled) {
    events.push(settled.event);
    await queueRequesterNotice(tx, context.outbox, request.id);
  }
  if (settled?.status === 'approved' && request.action === POLICY_CHANGE_ACTION) {
    events.push(await adoptApprovedProposal(tx, request.id, stored.approvals, now));
  }
  if (settled?.status === 'approved') {
    const opened = await openGrant(tx, request, stored, now);
    if (opened) events.push(opened);
  }
  if (!settled) await refreshCards(tx, context.outbox, request.id);
  return { kind: 'recorded', verdict: settled?.status ?? null };
}

interface Tally {
  approvals: string[];
  denials: string[];
  /** Per approval, in the order of `approvals`: the minutes it granted, or null for "this call". */
  grants: (number | null)[];
}

/**
 * A grant is opened when every approval chose a window (the shortest of them wins): one approver
 * who approved "this call" only is not overruled by another's wider choice.
 */
async function openGrant(
  tx: Transaction,
  request: LockedRequest,
  tally: Tally,
  now: Date,
): Promise<AuditEventInput | null> {
  const scope = request.grant;
  if (!scope || tally.grants.length === 0) return null;
  const chosen = tally.grants.filter((m): m is number => m !== null);
  if (chosen.length !== tally.grants.length) return null;
  const minutes = Math.min(...chosen);
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + minutes * 60_000);
  const approvers = [...tally.approvals].sort();
  await insertGrant(tx, {
    id,
    requestId: request.id,
    action: scope.action,
    requester: scope.requester,
    agent: scope.agent,
    policyRule: scope.policyRule,
    minutes,
    approvers,
    now,
    expiresAt,
  });
  return {
    type: 'grant.opened',
    requestId: request.id,
    actor: 'countersign',
    payload: {
      grantId: id,
      action: scope.action,
      requester: scope.requester,
      agent: scope.agent,
      policyRule: scope.policyRule,
      minutes,
      expiresAt: expiresAt.toISOString(),
      approvers,
    },
  };
}

/**
 * Inserts the decision unless this person already decided, and reads who has approved and denied
 * so far, in one statement (store/decision-store.ts). The request row is locked, so no other
 * decision can be added meanwhile; the new row itself is not in the statement's snapshot and is
 * added here. Null: a repeated decision, nothing stored.
 */
async function storeDecision(
  tx: Transaction,
  requestId: string,
  decision: {
    email: string;
    approver: AuditApprover;
    verdict: 'approve' | 'deny';
    reason: string | null;
    now: Date;
    devSignin: boolean;
    grantMinutes: number | null;
    /** A delegate's decision: whose place they take. */
    onBehalfOf: string | null;
  },
): Promise<Tally | null> {
  const { email, approver, verdict, reason, now, devSignin, grantMinutes, onBehalfOf } = decision;
  const row = await insertDecisionAndReadEarlier(tx, {
    requestId,
    email,
    platform: approver.platform,
    platformUserId: approver.platformUserId,
    displayName: approver.displayName,
    verdict,
    reason,
    now,
    devSignin,
    grantMinutes,
    onBehalfOf,
  });
  if (!row) return null;
  return verdict === 'approve'
    ? { approvals: [...row.approvals, email], denials: row.denials, grants: [...row.grants, grantMinutes] }
    : { approvals: row.approvals, denials: [...row.denials, email], grants: row.grants };
}

/** Reaches the verdict when enough distinct people agree; any eligible deny ends it by default. */
async function settleVerdict(
  tx: Transaction,
  outbox: ChatOutboxDeps,
  request: LockedRequest,
  { approvals, denials }: Tally,
  now: Date,
): Promise<{ status: 'approved' | 'denied'; event: AuditEventInput } | null> {
  const status =
    denials.length >= request.deny_quorum ? 'denied' : approvals.length >= request.quorum ? 'approved' : null;
  if (!status) return null;
  await concludeRequest(tx, outbox, { id: request.id, callbackUrl: request.callback_url }, status, now);
  return {
    status,
    event: {
      type: status === 'approved' ? 'request.approved' : 'request.denied',
      requestId: request.id,
      actor: 'countersign',
      payload: { approvals, denials, quorum: request.quorum, denyQuorum: request.deny_quorum },
    },
  };
}

/** Moves a locked, overdue pending request to expired; returns the audit event to append. */
export async function markExpired(
  tx: Transaction,
  outbox: ChatOutboxDeps,
  request: { id: string; expiresAt: Date; callbackUrl: string | null },
  now: Date,
): Promise<AuditEventInput> {
  await concludeRequest(tx, outbox, request, 'expired', now);
  await queueRequesterNotice(tx, outbox, request.id);
  return {
    type: 'request.expired',
    requestId: request.id,
    actor: 'countersign',
    payload: { expiresAt: request.expiresAt.toISOString() },
  };
}
