// The console's request list: every client's requests (reviewers see what chat channels show),
// newest first, filtered by status, action (exact, or a prefix ending in *), requester, rule and
// creation period, with the same opaque keyset cursors as the API.
import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../../approvals/list-requests.ts';
import type { Prisma } from '../../db/client.ts';
import type { Deps } from '../../deps.ts';
import { parsePeriodBound, periodBoundSchema } from '../../audit/report/report-period.ts';
import type { RequestSummary } from './list-waiting-requests.ts';

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export const requestFiltersSchema = z.object({
  status: z.preprocess(
    blankToUndefined,
    z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']).optional(),
  ),
  action: z.preprocess(blankToUndefined, z.string().trim().max(200).optional()),
  requester: z.preprocess(blankToUndefined, z.string().trim().max(320).optional()),
  rule: z.preprocess(blankToUndefined, z.string().trim().max(200).optional()),
  from: z.preprocess(blankToUndefined, periodBoundSchema.optional()),
  to: z.preprocess(blankToUndefined, periodBoundSchema.optional()),
  cursor: z.preprocess(blankToUndefined, z.string().max(200).optional()),
});

export type RequestFilters = z.infer<typeof requestFiltersSchema>;

export const PAGE_SIZE = 25;

export async function listConsoleRequests(
  deps: Pick<Deps, 'db' | 'clock'>,
  filters: RequestFilters,
  /** Only the requests this person may see (approvals/can-see-request.ts); undefined: all. */
  visible: Prisma.ApprovalRequestWhereInput | undefined,
  limit = PAGE_SIZE,
): Promise<{ items: RequestSummary[]; nextCursor: string | null }> {
  const now = deps.clock.now();
  const and: Prisma.ApprovalRequestWhereInput[] = visible ? [visible] : [];
  if (filters.status) and.push({ status: filters.status });
  if (filters.action) {
    and.push(
      filters.action.endsWith('*')
        ? { action: { startsWith: filters.action.slice(0, -1) } }
        : { action: filters.action },
    );
  }
  if (filters.requester) and.push({ requesterEmail: filters.requester.toLowerCase() });
  if (filters.rule) and.push({ policyRule: filters.rule });
  if (filters.from) and.push({ createdAt: { gte: parsePeriodBound(filters.from, 'from', now) } });
  if (filters.to) and.push({ createdAt: { lt: parsePeriodBound(filters.to, 'to', now) } });
  if (filters.cursor) {
    const after = decodeCursor(filters.cursor);
    and.push({
      OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
    });
  }
  const rows = await deps.db.prisma.approvalRequest.findMany({
    where: { AND: and },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit + 1,
    include: { decisions: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } },
  });
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
