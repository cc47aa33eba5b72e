// The report's break-glass uses: each request of the period created by break-glass (from its
// request.created event), with where its review stands as of the run: acknowledged or flagged (by
// whom, when, the note), overdue (nobody reviewed it in time), or open (still within its time).
// A use reviewed after it was overdue shows the review and when it went overdue.
import { z } from 'zod';
import type { ReportPeriod } from './report-period.ts';
import type { ReportFilters } from './report-rows-store.ts';
import { breakGlassCreations, breakGlassFollowUps } from './report-store.ts';
import type { ReadSnapshot } from '../../db/read-snapshot.ts';

export interface ReportBreakGlassUse {
  requestId: string;
  at: string;
  action: string;
  requester: string;
  reason: string;
  reviewers: string[];
  reviewDueAt: string;
  review: 'acknowledged' | 'flagged' | 'overdue' | 'open';
  reviewedBy: string | null;
  reviewedAt: string | null;
  note: string | null;
  /** When the review went overdue, even if it was made later; null if it never did. */
  overdueAt: string | null;
}

const useSchema = z.object({
  requester: z.string(),
  breakGlass: z.object({ reason: z.string(), reviewers: z.array(z.string()), reviewDueAt: z.string() }),
});
const reviewedSchema = z.object({
  outcome: z.enum(['acknowledged', 'flagged']),
  reviewer: z.string(),
  note: z.string().nullable(),
});

export async function breakGlassUses(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<ReportBreakGlassUse[]> {
  const created = await breakGlassCreations(db, period, filters);
  if (created.length === 0) return [];
  const followUps = await breakGlassFollowUps(
    db,
    created.map((r) => r.request_id),
  );
  return created.map((row) => {
    const use = useSchema.safeParse(row.payload);
    if (!use.success)
      throw new Error(`the request.created event at seq ${row.seq} has an unreadable breakGlass`);
    const events = followUps.filter((f) => f.request_id === row.request_id);
    const overdue = events.find((f) => f.type === 'breakglass.review_overdue');
    const reviewedRow = events.find((f) => f.type === 'breakglass.reviewed');
    const reviewed = reviewedRow ? reviewedSchema.safeParse(reviewedRow.payload) : null;
    if (reviewed && !reviewed.success)
      throw new Error(`the breakglass.reviewed event at seq ${reviewedRow?.seq} has an unreadable payload`);
    const bg = use.data.breakGlass;
    return {
      requestId: row.request_id,
      at: row.occurred_at.toISOString(),
      action: row.action,
      requester: use.data.requester,
      reason: bg.reason,
      reviewers: bg.reviewers,
      reviewDueAt: bg.reviewDueAt,
      review: reviewed ? reviewed.data.outcome : overdue ? 'overdue' : 'open',
      reviewedBy: reviewed ? reviewed.data.reviewer : null,
      reviewedAt: reviewedRow ? reviewedRow.occurred_at.toISOString() : null,
      note: reviewed ? reviewed.data.note : null,
      overdueAt: overdue ? overdue.occurred_at.toISOString() : null,
    };
  });
}
