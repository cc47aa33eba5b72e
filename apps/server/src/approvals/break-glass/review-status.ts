// Where a break-glass use's review stands; kept free of the database and the job queue so the API
// contract (and the CLI that reads it) can use it.
export const REVIEW_OUTCOMES = ['acknowledged', 'flagged'] as const;
export type ReviewOutcome = (typeof REVIEW_OUTCOMES)[number];

/** Reviewed (how), overdue, or still within its time. */
export type ReviewStatus = ReviewOutcome | 'overdue' | 'pending';

export function reviewStatusOf(review: { outcome: string | null; overdueAt: Date | null }): ReviewStatus {
  if (review.outcome === 'acknowledged' || review.outcome === 'flagged') return review.outcome;
  return review.overdueAt ? 'overdue' : 'pending';
}
