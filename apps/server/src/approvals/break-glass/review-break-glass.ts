// The mandatory review of a break-glass use: one of the rule's reviewers (never the requester)
// acknowledges it or flags it, once. When the review's due time passes unreviewed, its job marks
// it overdue, says so on every card of the request (posted again), escalates it where the rule
// has `escalate:` (its approvers join the reviewers, a card goes to its channel) and audits it, once.
import { z } from 'zod';
import { appendAuditEvents } from '../../audit/append-event.ts';
import { readRequestChain } from '../../audit/request-chain.ts';
import { addCard, refreshCards } from '../outbox/card-outbox.ts';
import { inTransaction } from '../../db/transaction.ts';
import type { Deps } from '../../deps.ts';
import { idpGroupHeld, isDeprovisioned } from '../../directory/directory-eligibility.ts';
import { AppError } from '../../errors.ts';
import type { BreakGlassReview } from '../../generated/prisma/client.ts';
import { BREAK_GLASS_REVIEW_QUEUE } from '../../jobs/job-queue.ts';
import { isUuid } from '../find-request.ts';
import { maskCredentialsInText } from '../masking.ts';
import { refuseTooLongText } from '../text-limits.ts';
import { type ReviewOutcome } from './review-status.ts';
import {
  lockReview,
  lockUnreviewedReview,
  markReviewRowOverdue,
  recordReviewOutcome,
} from './break-glass-store.ts';

export { REVIEW_OUTCOMES, reviewStatusOf, type ReviewOutcome } from './review-status.ts';

export interface BreakGlassReviewJob {
  requestId: string;
}

export interface ReviewInput {
  requestId: string;
  /** The reviewer's established email (console sign-in, CLI --as). */
  reviewer: string;
  outcome: ReviewOutcome;
  note?: string | null | undefined;
}

export async function reviewBreakGlass(deps: Deps, input: ReviewInput): Promise<BreakGlassReview> {
  refuseTooLongText('reason', input.note ?? undefined);
  const reviewer = input.reviewer.toLowerCase();
  const note = input.note ? maskCredentialsInText(input.note) : null;
  const now = deps.clock.now();
  return inTransaction(deps.db, async (tx) => {
    const review = isUuid(input.requestId) ? await lockReview(tx, input.requestId) : undefined;
    if (!review)
      throw new AppError('NOT_FOUND', { detail: `no break-glass use with request id ${input.requestId}` });
    if (review.outcome !== null) {
      throw new AppError('ALREADY_REVIEWED', {
        detail: `this break-glass use was already ${review.outcome} by ${review.reviewedBy ?? 'a reviewer'}`,
      });
    }
    if (reviewer === review.requesterEmail) {
      throw new AppError('NOT_A_REVIEWER', {
        detail: `${reviewer} used break-glass on this request and cannot review it`,
      });
    }
    const named = review.reviewers.includes(reviewer) || (await idpGroupHeld(tx, review.reviewers, reviewer));
    if (!named) {
      throw new AppError('NOT_A_REVIEWER', {
        detail: `${reviewer} is not a reviewer of rule "${review.policyRule}" (${review.reviewers.join(', ')})`,
      });
    }
    // As for a decision: an account the identity provider deactivated or removed reviews nothing.
    if (await isDeprovisioned(tx, reviewer)) {
      throw new AppError('DEPROVISIONED', {
        detail: `${reviewer} was deactivated or removed by the identity provider and cannot review`,
      });
    }
    const updated = await recordReviewOutcome(tx, review.requestId, {
      outcome: input.outcome,
      reviewedBy: reviewer,
      note,
      reviewedAt: now,
    });
    await refreshCards(tx, deps, review.requestId);
    await appendAuditEvents(
      tx,
      [
        {
          type: 'breakglass.reviewed',
          requestId: review.requestId,
          actor: reviewer,
          payload: { outcome: input.outcome, reviewer, note },
        },
      ],
      now,
      deps.events,
    );
    return updated;
  });
}

/**
 * The review's due time passed: marks it overdue and announces it again, unless it was reviewed.
 * Escalated like any request when the rule has `escalate:`: its approvers join the reviewers
 * (the requester never reviews), and a card goes to its channel.
 */
export async function markReviewOverdue(deps: Deps, requestId: string): Promise<boolean> {
  const now = deps.clock.now();
  return inTransaction(deps.db, async (tx) => {
    const locked = await lockUnreviewedReview(tx, requestId);
    if (!locked) return false;
    const chain = await readRequestChain(tx, requestId);
    if (!chain.found) throw new Error(chain.reason);
    const escalate = chain.chain.created.payload.followUp?.escalate ?? null;
    const reviewers = escalate
      ? [...new Set([...locked.reviewers, ...escalate.approvers])]
      : locked.reviewers;
    const review = await markReviewRowOverdue(tx, requestId, now, reviewers);
    if (escalate?.channel && !review.channels.includes(escalate.channel))
      await addCard(tx, deps, requestId, escalate.channel);
    // Every card of the request now says REVIEW OVERDUE; the flusher posts it again.
    await refreshCards(tx, deps, requestId);
    await appendAuditEvents(
      tx,
      [
        {
          type: 'breakglass.review_overdue',
          requestId,
          actor: 'countersign',
          payload: {
            dueAt: review.dueAt.toISOString(),
            reviewers: review.reviewers,
            channels: review.channels,
            escalatedTo: escalate ? { approvers: escalate.approvers, channel: escalate.channel } : null,
          },
        },
      ],
      now,
      deps.events,
    );
    return true;
  });
}

const jobData = z.object({ requestId: z.uuid() });

export async function startBreakGlassWorkers(deps: Deps): Promise<void> {
  await deps.jobs.work(BREAK_GLASS_REVIEW_QUEUE, 1, async (job) => {
    const parsed = jobData.safeParse(job.data);
    if (!parsed.success) {
      deps.log.error({ jobId: job.id }, 'break-glass review job without a valid request id: dropped');
      return;
    }
    await markReviewOverdue(deps, parsed.data.requestId);
  });
}
