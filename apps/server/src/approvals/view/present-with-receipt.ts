// The API representation of a request together with its signed receipt (once decided). The
// receipt is built from the request's audit chain record, not its row; a row that disagrees with
// the chain (changed outside the service) gets no receipt, and a strict read is refused.
import { DECISIONS_IN_ORDER, withBreakGlassReview, type RequestWithDecisions } from '../find-request.ts';
import {
  describeMismatch,
  readRequestChain,
  requestRowMismatches,
  type RequestChain,
  type RequestChainResult,
} from '../../audit/request-chain.ts';
import type { RequestView } from '../read-request-view.ts';
import type { TransactionDb } from '../../db/transaction.ts';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { presentApproval, type ApprovalRepresentation } from './approval.ts';

export type ChainCheck = { ok: true; chain: RequestChain } | { ok: false; detail: string };

/** Holds the request row to its audit chain record; the detail names every field that differs. */
export async function checkRowAgainstChain(
  db: TransactionDb,
  request: RequestWithDecisions,
): Promise<ChainCheck> {
  return rowAgainstChain(request, await readRequestChain(db, request.id));
}

/** Holds the request row to the chain record read with it. */
function rowAgainstChain(request: RequestWithDecisions, read: RequestChainResult): ChainCheck {
  if (!read.found) return { ok: false, detail: read.reason };
  const fields = requestRowMismatches(request, read.chain);
  if (fields.length > 0) return { ok: false, detail: describeMismatch(request.id, fields, read.chain) };
  return { ok: true, chain: read.chain };
}

/**
 * The row and the chain read in one snapshot: a decision committed between the row's read and the
 * chain's is not a mismatch. Taken only when the quick check disagrees.
 */
function checkInOneSnapshot(
  deps: Pick<Deps, 'db'>,
  request: RequestWithDecisions,
): Promise<{ request: RequestWithDecisions; check: ChainCheck }> {
  return deps.db.prisma.$transaction(
    async (tx) => {
      const fresh = await tx.approvalRequest.findUnique({
        where: { id: request.id },
        include: DECISIONS_IN_ORDER,
      });
      if (!fresh) return { request, check: { ok: false, detail: `request ${request.id} is gone` } };
      return {
        request: { ...fresh, breakGlassReview: request.breakGlassReview },
        check: await checkRowAgainstChain(tx, fresh),
      };
    },
    { isolationLevel: 'RepeatableRead' },
  );
}

export interface PresentOptions {
  /**
   * Refuse (CHAIN_MISMATCH) instead of answering without a receipt when the row disagrees with
   * the chain: for the read of one request, whose caller acts on the answer.
   */
  strict?: boolean;
}

export async function presentWithReceipt(
  deps: Pick<Deps, 'receipts' | 'db' | 'log'>,
  request: RequestWithDecisions,
  options: PresentOptions = {},
): Promise<ApprovalRepresentation> {
  request = await withBreakGlassReview(deps.db.prisma, request);
  if (request.status === 'pending' && !options.strict) return presentApproval(request, null);
  let check = await checkRowAgainstChain(deps.db.prisma, request);
  if (!check.ok) ({ request, check } = await checkInOneSnapshot(deps, request));
  return presentChecked(deps, request, check, options);
}

/**
 * As presentWithReceipt, for a request read with its chain in one statement (readRequestView): one
 * snapshot, so a disagreement is not a race and no second read is taken.
 */
export async function presentView(
  deps: Pick<Deps, 'receipts' | 'log'>,
  view: RequestView,
  options: PresentOptions = {},
): Promise<ApprovalRepresentation> {
  const { request } = view;
  if (request.status === 'pending' && !options.strict) return presentApproval(request, null);
  return presentChecked(deps, request, rowAgainstChain(request, view.chain), options);
}

/** The representation once the row was held to its chain: a receipt only for a decided, agreeing one. */
async function presentChecked(
  deps: Pick<Deps, 'receipts' | 'log'>,
  request: RequestWithDecisions,
  check: ChainCheck,
  options: PresentOptions,
): Promise<ApprovalRepresentation> {
  if (!check.ok) {
    // The database says one thing, the chain another: something wrote past the service.
    deps.log.error(
      { requestId: request.id, status: request.status, reason: check.detail },
      'receipt withheld: the request row disagrees with the audit chain',
    );
    if (options.strict) throw new AppError('CHAIN_MISMATCH', { detail: check.detail });
    return presentApproval(request, null);
  }
  if (request.status === 'pending') return presentApproval(request, null);
  return presentApproval(request, await deps.receipts.sign(request.id, check.chain));
}
