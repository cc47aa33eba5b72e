// The API representation of a request together with its signed receipt (once decided). The
// receipt is built from the request's audit chain record, not its row; a row that disagrees with
// the chain (changed outside the service) gets no receipt, and a strict read is refused.
import { withBreakGlassReview, type RequestWithDecisions } from '../find-request.ts';
import {
  describeMismatch,
  requestRowMismatches,
  type RequestChain,
  type RequestChainResult,
} from '../../audit/request-chain.ts';
import { readRequestView, type RequestView } from '../store/request-view-store.ts';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { presentApproval, type ApprovalRepresentation } from './approval.ts';

export type ChainCheck = { ok: true; chain: RequestChain } | { ok: false; detail: string };

/** Holds the request row to the chain record read with it; the detail names every field that differs. */
function rowAgainstChain(request: RequestWithDecisions, read: RequestChainResult): ChainCheck {
  if (!read.found) return { ok: false, detail: read.reason };
  const fields = requestRowMismatches(request, read.chain);
  if (fields.length > 0) return { ok: false, detail: describeMismatch(request.id, fields, read.chain) };
  return { ok: true, chain: read.chain };
}

/**
 * Holds `request` to its chain as it stands now. Read in one statement with the row as it stands
 * now (store/request-view-store.ts): when the given row disagrees, the fresh row is held to the
 * chain of its own snapshot, so a decision committed after `request` was read is not a mismatch.
 */
async function checkAgainstCurrentChain(
  deps: Pick<Deps, 'db'>,
  request: RequestWithDecisions,
): Promise<{ request: RequestWithDecisions; check: ChainCheck }> {
  const view = await readRequestView(deps.db, request.id);
  if (!view) return { request, check: { ok: false, detail: `request ${request.id} is gone` } };
  const check = rowAgainstChain(request, view.chain);
  if (check.ok) return { request, check };
  return {
    request: { ...view.request, breakGlassReview: request.breakGlassReview },
    check: rowAgainstChain(view.request, view.chain),
  };
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
  const checked = await checkAgainstCurrentChain(deps, request);
  return presentChecked(deps, checked.request, checked.check, options);
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
