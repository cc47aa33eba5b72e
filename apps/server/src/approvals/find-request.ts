// Reads one request with its decisions, as its owning client may see it.
import type { Prisma, PrismaClient } from '../db/client.ts';
import type { ApprovalRequest, BreakGlassReview, ChatCard, Decision } from '../generated/prisma/client.ts';
import { AppError } from '../errors.ts';

export type RequestWithDecisions = ApprovalRequest & {
  decisions: Decision[];
  chatCards: ChatCard[];
  /** A break-glass request's review (see withBreakGlassReview); absent where not loaded. */
  breakGlassReview?: BreakGlassReview | null;
};

/** The include that loads a request's decisions in the order they were made, and its chat cards. */
export const DECISIONS_IN_ORDER = {
  decisions: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
  chatCards: { orderBy: { id: 'asc' } },
} as const satisfies Prisma.ApprovalRequestInclude;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** The request with its break-glass review loaded, when it is a break-glass request (one more read). */
export async function withBreakGlassReview(
  db: PrismaClient,
  request: RequestWithDecisions,
): Promise<RequestWithDecisions> {
  if (request.breakGlass === null || request.breakGlassReview !== undefined) return request;
  const breakGlassReview = await db.breakGlassReview.findUnique({ where: { requestId: request.id } });
  return { ...request, breakGlassReview };
}

/** Another client's request is reported as missing, never as forbidden: its existence is not leaked. */
export async function findRequestForClient(
  db: PrismaClient,
  clientId: string,
  id: string,
): Promise<RequestWithDecisions> {
  const request = isUuid(id)
    ? await db.approvalRequest.findFirst({
        where: { id, clientId },
        include: DECISIONS_IN_ORDER,
      })
    : null;
  if (!request) throw new AppError('NOT_FOUND', { detail: `no approval request with id ${id}` });
  return request;
}
