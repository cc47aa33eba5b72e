// Break-glass: where the matching rule allows it, the requester proceeds at once. The request is
// approved in its creating transaction, marked with the requester's emergency reason, and a
// mandatory review is opened: its cards say BREAK-GLASS, and a job at the review's due time
// announces it again when nobody acknowledged or flagged it (review-break-glass.ts). A requester
// or API key over the rule's maxPerDay in the last 24 hours is refused before anything is stored.
import { inTransaction, type Transaction } from '../../db/transaction.ts';
import { appendAuditEvents } from '../../audit/append-event.ts';
import type { AuditEventInput } from '../../audit/event-types.ts';
import { addCard } from '../outbox/card-outbox.ts';
import { enqueueVerdictCallback } from '../outbox/enqueue-verdict-callback.ts';
import { AppError } from '../../errors.ts';
import type { Deps } from '../../deps.ts';
import type { RequestWithDecisions } from '../find-request.ts';
import type { BreakGlassRule } from '../policy/policy.ts';
import { insertRequestRow, type NewRequestRow } from '../store/request-store.ts';
import { BREAK_GLASS_REVIEW_QUEUE } from '../../jobs/job-queue.ts';
import type { BreakGlassReviewJob } from './review-break-glass.ts';
import {
  countRecentUses,
  insertBreakGlassDecision,
  insertReview,
  lockBudgetKey,
  markRequestApproved,
} from './break-glass-store.ts';

export const BREAK_GLASS_PLATFORM = 'break-glass';
const DAY_MS = 86_400_000;

export interface BreakGlassUse {
  reason: string;
  rule: BreakGlassRule;
  /** The API key that asked (for its budget); undefined when unknown. */
  keyId: string | undefined;
}

/** The first line every door shows for a break-glass request. */
export function breakGlassHeading(heading: string): string {
  return `BREAK-GLASS: ${heading}`;
}

/** Refuses when the requester or the key already used break-glass `maxPerDay` times under the rule. */
async function assertWithinBudget(
  tx: Transaction,
  policyRule: string,
  requester: string,
  use: BreakGlassUse,
  now: Date,
): Promise<void> {
  const max = use.rule.maxPerDay;
  if (max === null) return;
  // Concurrent uses by one requester (or key) under one rule take turns, so the count holds.
  const keys = [`break-glass:${policyRule}:requester:${requester}`];
  if (use.keyId) keys.push(`break-glass:${policyRule}:key:${use.keyId}`);
  for (const key of keys.sort()) await lockBudgetKey(tx, key);
  const since = new Date(now.getTime() - DAY_MS);
  const { byRequester, byKey } = await countRecentUses(tx, {
    policyRule,
    requester,
    keyId: use.keyId ?? null,
    since,
  });
  if (byRequester >= max || byKey >= max) {
    const who = byRequester >= max ? `requester ${requester}` : 'this API key';
    throw new AppError('BREAK_GLASS_BUDGET_EXCEEDED', {
      detail: `${who} already used break-glass ${Math.max(byRequester, byKey)} time(s) under rule "${policyRule}" in the last 24 hours; its maxPerDay is ${max}`,
      errors: [{ pointer: '/breakGlass', message: `over the rule's maxPerDay (${max})` }],
    });
  }
}

/**
 * Stores the request approved, with its break-glass decision, its review, its cards, the review's
 * due-time job and its verdict callback, all in one transaction.
 */
export function createBreakGlass(
  deps: Deps,
  data: NewRequestRow,
  events: AuditEventInput[],
  use: BreakGlassUse,
  now: Date,
): Promise<RequestWithDecisions> {
  const policyRule = data.policyRule ?? '';
  const requester = data.requesterEmail;
  const dueAt = new Date(now.getTime() + use.rule.reviewWithinSeconds * 1000);
  return inTransaction(deps.db, async (tx) => {
    await assertWithinBudget(tx, policyRule, requester, use, now);
    const inserted = await insertRequestRow(tx, { ...data, breakGlass: use.reason });
    const decision = await insertBreakGlassDecision(tx, {
      requestId: data.id,
      approverEmail: requester,
      platform: BREAK_GLASS_PLATFORM,
      reason: use.reason,
      createdAt: now,
    });
    await markRequestApproved(tx, data.id, now);
    // The row as the update left it: inserted, then approved now.
    const request = { ...inserted, status: 'approved' as const, decidedAt: now };
    const breakGlassReview = await insertReview(tx, {
      requestId: data.id,
      policyRule,
      requesterEmail: requester,
      apiKeyId: use.keyId ?? null,
      reviewers: use.rule.reviewers,
      dueAt,
      createdAt: now,
    });
    const chatCards = [];
    for (const channel of Array.isArray(data.channels) ? data.channels : []) {
      const card = await addCard(tx, deps, data.id, channel);
      if (card) chatCards.push(card);
    }
    await deps.jobs.send(tx, BREAK_GLASS_REVIEW_QUEUE, { requestId: data.id } satisfies BreakGlassReviewJob, {
      startAfterSeconds: use.rule.reviewWithinSeconds,
    });
    await enqueueVerdictCallback(
      tx,
      deps.jobs,
      { id: data.id, callbackUrl: data.callbackUrl ?? null },
      'approved',
    );
    const actor = `break-glass:${requester}`;
    const verdictEvents: AuditEventInput[] = [
      {
        type: 'decision.recorded',
        requestId: data.id,
        actor,
        payload: {
          approver: {
            email: requester,
            platform: BREAK_GLASS_PLATFORM,
            platformUserId: null,
            displayName: null,
          },
          verdict: 'approve',
          reason: use.reason,
        },
      },
      {
        type: 'request.approved',
        requestId: data.id,
        actor,
        payload: { approvals: [requester], denials: [], quorum: 1, denyQuorum: 1 },
      },
    ];
    await appendAuditEvents(tx, [...events, ...verdictEvents], now, deps.events);
    return { ...request, decisions: [decision], chatCards, breakGlassReview };
  });
}
