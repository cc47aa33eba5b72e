// Creates an approval request under the policy, or replays the one created earlier under the
// same Idempotency-Key. Secrets are masked before anything is stored; the payload digest is
// taken over the unmasked {action, context}. Auto-approved rules decide in the same transaction.
import { createHash, randomUUID } from 'node:crypto';
import type { Prisma } from '../db/client.ts';
import type { ChatCard, Decision } from '../generated/prisma/client.ts';
import { inTransaction, type Transaction } from '../db/transaction.ts';
import {
  findRequestByIdempotencyKey,
  insertRequestRow,
  insertRequestWithEvents,
  type NewRequestRow,
} from './store/request-store.ts';
import { insertCreationApproval } from './store/decision-store.ts';
import { appendAuditEventsAndCommit, chainBatchJson } from '../audit/append-event.ts';
import type { AuditEventInput } from '../audit/event-types.ts';
import { assertChannelsConnected } from './check-channels.ts';
import { addCard, hasCardPlatform } from './outbox/card-outbox.ts';
import { concludeRequest } from './conclude-request.ts';
import { CallbackUrlError, resolveCallbackTarget } from './outbox/url-guard.ts';
import { AppError } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { canonicalJson } from '../audit/canonical-json.ts';
import { findRequestForClient, type RequestWithDecisions } from './find-request.ts';
import { MASK, maskContext, maskFreeText } from './masking.ts';
import { digestIdentity, payloadDigest } from './payload-digest.ts';
import { applyPolicy } from './policy/apply-policy.ts';
import { POLICY_CHANGE_ACTION } from './policy/policy-versions.ts';
import { grantActor } from './grants.ts';
import { findOpenGrant } from './store/grant-store.ts';
import { establishRequester, type RequestCaller } from './establish-requester.ts';
import { refuseRequest, type RequestCallerRef } from './refuse-request.ts';
import { describeRequesterProof, isProven } from '../receipts/requester-proof.ts';
import { refuseTooLongText } from './text-limits.ts';
import { refuseTooLargeContext } from './context-limit.ts';
import { hasTimedFollowUps, scheduleFollowUps } from './follow-up/follow-up-jobs.ts';
import type { FollowUpPlan } from '../audit/event-types.ts';
import { createBreakGlass } from './break-glass/create-break-glass.ts';

export interface CreateRequestInput {
  action: string;
  title?: string | undefined;
  reason?: string | undefined;
  /** May be left out when the key is bound to one requester or an identity token proves it. */
  requester?: { email: string; name?: string | undefined } | undefined;
  agent?: { name: string; model?: string | undefined; runId?: string | undefined } | undefined;
  context?: Record<string, unknown> | undefined;
  sensitive?: string[] | undefined;
  approvers?: string[] | undefined;
  quorum?: number | undefined;
  channel?: string | string[] | undefined;
  expiresIn?: number | undefined;
  callbackUrl?: string | undefined;
  /** Break-glass: the emergency reason; approved at once where the rule allows it, reviewed later. */
  breakGlass?: string | undefined;
}

export interface CreateRequestOptions {
  /** Only a policy proposal (policy/propose-policy.ts) may ask for `policy.change`. */
  reservedAction?: boolean;
}

export interface CreateRequestResult {
  request: RequestWithDecisions;
  /** True when an earlier request with the same Idempotency-Key and body was returned. */
  replayed: boolean;
}

function requestHash(input: CreateRequestInput): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

/** Idempotency-Key values are stored as their SHA-256: a key may itself be a secret (a run token). */
export function hashIdempotencyKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export async function createRequest(
  deps: Deps,
  caller: RequestCaller,
  input: CreateRequestInput,
  rawIdempotencyKey?: string,
  options: CreateRequestOptions = {},
): Promise<CreateRequestResult> {
  const { clientId } = caller;
  if (input.action === POLICY_CHANGE_ACTION && !options.reservedAction) {
    throw new AppError('POLICY_VIOLATION', {
      detail: `"${POLICY_CHANGE_ACTION}" requests are made by proposing a policy (POST /v1/policy/proposals, countersign policy propose)`,
      errors: [{ pointer: '/action', message: 'is reserved for policy proposals' }],
    });
  }
  refuseTooLongText('title', input.title);
  refuseTooLongText('reason', input.reason);
  refuseTooLargeContext(input.context);
  refuseTooLongText('reason', input.breakGlass);
  const hash = requestHash(input);
  const idempotencyKey = rawIdempotencyKey === undefined ? undefined : hashIdempotencyKey(rawIdempotencyKey);
  if (idempotencyKey) {
    const earlier = await findIdempotentReplay(deps, clientId, idempotencyKey, hash);
    if (earlier) return { request: earlier, replayed: true };
  }

  const requester = await establishRequester(deps, caller, input);
  const requesterEmail = requester.email;
  // Read with the rules (applyPolicy is synchronous): a version switch cannot fall in between.
  let policyVersion: number | undefined;
  const rules = await applyPolicyOrRefuse(deps, caller, (version) => (policyVersion = version), {
    action: input.action,
    requesterEmail,
    requesterName: requester.name ?? undefined,
    agentName: input.agent?.name,
    agent: input.agent,
    context: input.context,
    keyName: caller.keyName,
    approvers: input.approvers,
    quorum: input.quorum,
    expiresIn: input.expiresIn,
    channel: input.channel,
    sensitive: input.sensitive,
  });
  if (rules.requireProvenRequester && !isProven(requester.proof)) {
    const detail = `rule "${rules.policyRule}" needs a proven requester (a bound key or an identity token); ${requesterEmail} is ${describeRequesterProof(requester.proof)}`;
    throw await refuseRequest(deps, caller, {
      code: 'REQUESTER_NOT_PROVEN',
      detail,
      action: input.action,
      requester: requesterEmail,
      errors: [{ pointer: '/requester', message: 'is only claimed' }],
    });
  }
  if (input.breakGlass !== undefined && !rules.breakGlass) {
    throw await refuseRequest(deps, caller, {
      code: 'BREAK_GLASS_NOT_ALLOWED',
      detail: `rule "${rules.policyRule}" does not allow break-glass (its breakGlass.allowed is not true)`,
      action: input.action,
      requester: requesterEmail,
      errors: [{ pointer: '/breakGlass', message: 'not allowed by the matching rule' }],
    });
  }
  if (input.callbackUrl) await assertCallbackUrlAllowed(deps, input.callbackUrl);
  await assertChannelsConnected(deps, rules.channels, Array.isArray(input.channel));
  const now = deps.clock.now();
  const context = input.context ?? {};
  const data = {
    id: randomUUID(),
    clientId,
    action: input.action,
    title: maskFreeText(input.title ?? null),
    reason: maskFreeText(input.reason ?? null),
    requesterEmail,
    // A display name may quote a credential like any free text; a rule may ask to hide it whole.
    requesterName:
      requester.name === null ? null : rules.maskRequesterName ? MASK : maskFreeText(requester.name),
    requesterProof: requester.proof,
    agent: input.agent ? (maskContext(input.agent, []) as Prisma.InputJsonValue) : undefined,
    context: maskContext(context, rules.sensitive, {
      personalData: rules.maskPersonalData,
    }) as Prisma.InputJsonValue,
    payloadDigest: payloadDigest(input.action, context, digestIdentity(requesterEmail, requester.proof)),
    approvers: rules.approvers,
    anyApprover: rules.anyApprover,
    agentOwner: rules.agentOwner,
    quorum: rules.quorum,
    denyQuorum: rules.denyQuorum,
    policyRule: rules.policyRule,
    denyReasonRequired: rules.denyReasonRequired,
    grantUpTo: rules.grantUpToSeconds,
    channel: rules.channel,
    channels: rules.channels,
    callbackUrl: input.callbackUrl ?? null,
    idempotencyKey: idempotencyKey ?? null,
    requestHash: hash,
    createdAt: now,
    expiresAt: new Date(now.getTime() + rules.expiresInSeconds * 1000),
  } satisfies NewRequestRow;
  const breakGlass =
    input.breakGlass !== undefined && rules.breakGlass
      ? { reason: maskFreeText(input.breakGlass) ?? '', rule: rules.breakGlass, keyId: caller.keyId }
      : null;
  const events: AuditEventInput[] = [
    {
      type: 'request.created',
      requestId: data.id,
      actor: `client:${clientId}`,
      payload: {
        clientId,
        action: data.action,
        requester: requesterEmail,
        requesterProof: requester.proof,
        payloadDigest: data.payloadDigest,
        expiresAt: data.expiresAt.toISOString(),
        policyRule: rules.policyRule,
        approvers: rules.approvers,
        ...(!rules.anyApprover && Object.keys(rules.approverGroups).length > 0
          ? { approverGroups: rules.approverGroups }
          : {}),
        anyApprover: rules.anyApprover,
        quorum: rules.quorum,
        title: data.title,
        reason: data.reason,
        requesterName: data.requesterName,
        agent: data.agent ?? null,
        context: data.context,
        agentOwner: data.agentOwner,
        denyQuorum: data.denyQuorum,
        denyReasonRequired: data.denyReasonRequired,
        channels: data.channels,
        ...(rules.followUp ? { followUp: rules.followUp } : {}),
        ...(policyVersion !== undefined ? { policyVersion } : {}),
        ...(rules.grantUpToSeconds !== null ? { grantUpTo: rules.grantUpToSeconds } : {}),
        ...(breakGlass
          ? {
              breakGlass: {
                reason: breakGlass.reason,
                reviewers: breakGlass.rule.reviewers,
                reviewDueAt: new Date(
                  now.getTime() + breakGlass.rule.reviewWithinSeconds * 1000,
                ).toISOString(),
              },
            }
          : {}),
      },
    },
  ];

  // An open grant of the same rule approves it as a person would have, recorded as `grant:<id>`.
  const grant =
    rules.grantUpToSeconds !== null && !rules.autoApprove
      ? await findOpenGrant(deps.db, {
          action: data.action,
          requester: requesterEmail,
          agent: agentNameOf(data.agent),
          policyRule: rules.policyRule,
          now,
        })
      : null;
  try {
    const request = breakGlass
      ? await createBreakGlassOrRefuse(deps, caller, data, events, breakGlass, now)
      : rules.autoApprove
        ? await createApproved(
            deps,
            data,
            events,
            { actor: `policy:${rules.policyRule}`, platform: 'policy' },
            now,
          )
        : grant
          ? await createApproved(
              deps,
              data,
              events,
              { actor: grantActor(grant.id), platform: 'grant', grantId: grant.id },
              now,
            )
          : await createPending(deps, data, events, rules.channels, now, rules.followUp);
    return { request, replayed: false };
  } catch (error) {
    // Two concurrent creates with one Idempotency-Key: the loser replays or conflicts with the winner.
    if (idempotencyKey && isUniqueViolation(error)) {
      const earlier = await findIdempotentReplay(deps, clientId, idempotencyKey, hash);
      if (earlier) return { request: earlier, replayed: true };
    }
    throw error;
  }
}

/** A break-glass use; one over the rule's budget is audited (request.refused) before it is thrown. */
async function createBreakGlassOrRefuse(
  deps: Deps,
  caller: RequestCallerRef,
  data: NewRequestRow,
  events: AuditEventInput[],
  use: Parameters<typeof createBreakGlass>[3],
  now: Date,
): Promise<RequestWithDecisions> {
  try {
    return await createBreakGlass(deps, data, events, use, now);
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'BREAK_GLASS_BUDGET_EXCEEDED') throw error;
    throw await refuseRequest(deps, caller, {
      code: error.code,
      detail: error.detail,
      action: data.action,
      requester: data.requesterEmail,
      ...(error.errors ? { errors: error.errors } : {}),
    });
  }
}

/** The policy's answer; a `deny: true` rule's refusal is audited (request.refused) before it is thrown. */
async function applyPolicyOrRefuse(
  deps: Deps,
  caller: RequestCallerRef,
  underVersion: (version: number | undefined) => void,
  requested: Parameters<typeof applyPolicy>[1],
): Promise<ReturnType<typeof applyPolicy>> {
  try {
    underVersion(deps.policy.version);
    return applyPolicy(deps.policy, requested);
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'POLICY_DENIED') throw error;
    throw await refuseRequest(deps, caller, {
      code: 'POLICY_DENIED',
      detail: error.detail ?? 'denied by policy',
      action: requested.action,
      requester: requested.requesterEmail,
    });
  }
}

/**
 * The usual case, on node-postgres directly (Prisma's runtime was most of intake's CPU): the
 * request row, its cards and their flush jobs, and the chained event, in one transaction (one
 * statement when there are no cards). The answer is built from the rows written, without reading
 * them back.
 */
async function createPending(
  deps: Deps,
  data: NewRequestRow,
  events: AuditEventInput[],
  channels: readonly string[],
  now: Date,
  followUp: FollowUpPlan | undefined,
): Promise<RequestWithDecisions> {
  if (!channels.some((channel) => hasCardPlatform(deps, channel)) && !hasTimedFollowUps(deps, followUp)) {
    const request = await insertRequestWithEvents(deps.db, data, chainBatchJson(events, now, deps.events));
    return { ...request, decisions: [], chatCards: [] };
  }
  return inTransaction(deps.db, async (tx) => {
    const request = await insertRequestRow(tx, data);
    const chatCards: ChatCard[] = [];
    for (const channel of channels) {
      const card = await addCard(tx, deps, request.id, channel);
      if (card) chatCards.push(card);
    }
    // Reminders and the escalation exist exactly when the request does.
    await scheduleFollowUps(tx, deps, request.id, followUp);
    await appendAuditEventsAndCommit(tx, events, now, deps.events);
    return { ...request, decisions: [], chatCards };
  });
}

/** The agent name a request carries, as stored (and so as its chain and a grant record it). */
function agentNameOf(agent: NewRequestRow['agent']): string | null {
  if (typeof agent !== 'object' || agent === null || Array.isArray(agent)) return null;
  const name = (agent as Record<string, unknown>)['name'];
  return typeof name === 'string' ? name : null;
}

/** Who approves a request at its creation: a rule's autoApprove, or an open grant. */
interface ApprovedBy {
  actor: string;
  platform: 'policy' | 'grant';
  grantId?: string | undefined;
}

/** Approved at creation (autoApprove, or an open grant): decided in its own creating transaction, shared with the verdict callback. */
function createApproved(
  deps: Deps,
  data: NewRequestRow,
  events: AuditEventInput[],
  by: ApprovedBy,
  now: Date,
): Promise<RequestWithDecisions> {
  return inTransaction(deps.db, async (tx) => {
    const inserted = await insertRequestRow(tx, data);
    const approved = await autoApprove(tx, data.id, by, now);
    await concludeRequest(tx, deps, { id: data.id, callbackUrl: data.callbackUrl ?? null }, 'approved', now);
    await appendAuditEventsAndCommit(tx, [...events, ...approved.events], now, deps.events);
    const request = { ...inserted, status: 'approved' as const, decidedAt: now };
    return { ...request, decisions: [approved.decision], chatCards: [] };
  });
}

/** Decides at once, as `policy:<rule>` or `grant:<id>`, audited like any decision; concludeRequest ends it. */
async function autoApprove(
  tx: Transaction,
  requestId: string,
  by: ApprovedBy,
  now: Date,
): Promise<{ events: AuditEventInput[]; decision: Decision }> {
  const { actor, platform } = by;
  const decision = await insertCreationApproval(tx, { requestId, actor, platform, now });
  const events: AuditEventInput[] = [
    {
      type: 'decision.recorded',
      requestId,
      actor,
      payload: {
        approver: { email: actor, platform, platformUserId: null, displayName: null },
        verdict: 'approve',
        reason: null,
        ...(by.grantId ? { grantId: by.grantId } : {}),
      },
    },
    {
      type: 'request.approved',
      requestId,
      actor,
      payload: { approvals: [actor], denials: [], quorum: 1, denyQuorum: 1 },
    },
  ];
  return { events, decision };
}

async function findIdempotentReplay(
  deps: Deps,
  clientId: string,
  idempotencyKey: string,
  hash: string,
): Promise<RequestWithDecisions | undefined> {
  const earlier = await findRequestByIdempotencyKey(deps.db, clientId, idempotencyKey);
  if (!earlier) return undefined;
  if (earlier.requestHash !== hash) {
    throw new AppError('IDEMPOTENCY_CONFLICT', {
      detail: `this Idempotency-Key was already used with a different body (request ${earlier.id})`,
    });
  }
  return findRequestForClient(deps.db.prisma, clientId, earlier.id);
}

function isUniqueViolation(error: unknown): boolean {
  // P2002 from Prisma (a break-glass use is still written through it), 23505 (unique_violation) from node-postgres.
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    (error.code === 'P2002' || error.code === '23505')
  );
}

/** The SSRF guard at creation; it runs again before every delivery, since DNS can change. */
async function assertCallbackUrlAllowed(deps: Deps, url: string): Promise<void> {
  try {
    await resolveCallbackTarget(url, deps.callbacks.allow, deps.callbacks.lookupAll);
  } catch (error) {
    if (!(error instanceof CallbackUrlError)) throw error;
    throw new AppError('CALLBACK_URL_FORBIDDEN', {
      detail: `callbackUrl ${error.message}`,
      errors: [{ pointer: '/callbackUrl', message: error.message }],
    });
  }
}
