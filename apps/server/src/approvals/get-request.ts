// Reads a request; with a wait, holds the read until the request leaves `pending` or time is up.
import type { StatusChangeFeed } from '../db/status-change-feed.ts';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';
import { isUuid, type RequestWithDecisions } from './find-request.ts';
import { readRequestView, type RequestView } from './store/request-view-store.ts';

export interface GetRequestInput {
  id: string;
  waitSeconds?: number | undefined;
  signal?: AbortSignal | undefined;
}

export async function getRequest(
  deps: Deps,
  feed: StatusChangeFeed,
  clientId: string,
  input: GetRequestInput,
): Promise<RequestWithDecisions> {
  return (await getRequestView(deps, feed, clientId, input)).request;
}

/** Another client's request is reported as missing, never as forbidden: its existence is not leaked. */
async function findViewForClient(deps: Deps, clientId: string, id: string): Promise<RequestView> {
  // The request, decisions, cards and chain record in one statement (store/request-view-store.ts).
  const view = isUuid(id) ? await readRequestView(deps.db, id, clientId) : null;
  if (!view) throw new AppError('NOT_FOUND', { detail: `no approval request with id ${id}` });
  return view;
}

/** The request with its chain record, as presentView shows it; with a wait, as getRequest waits. */
export async function getRequestView(
  deps: Deps,
  feed: StatusChangeFeed,
  clientId: string,
  input: GetRequestInput,
): Promise<RequestView> {
  const waitMs = (input.waitSeconds ?? 0) * 1000;
  if (waitMs <= 0) return findViewForClient(deps, clientId, input.id);

  // Subscribe before reading, so a change between the read and the wait is not missed.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  // An 'abort' listener never fires for a signal that is already aborted (a long-poll reaching
  // the handler after shutdown began): without this it would wait out the whole timeout.
  if (input.signal?.aborted) stop.abort();
  input.signal?.addEventListener('abort', onOuterAbort);
  const deadline = performance.now() + waitMs;
  try {
    // A wake-up is a hint, not a verdict: the feed wakes every waiter after it reconnects (the
    // notifications of the outage are lost), and such a waiter keeps waiting if still pending.
    for (;;) {
      const left = deadline - performance.now();
      const changed = feed.waitForChange(input.id, Math.max(0, left), stop.signal);
      const current = await findViewForClient(deps, clientId, input.id);
      if (current.request.status !== 'pending' || left <= 0 || stop.signal.aborted) return current;
      await changed;
      if (performance.now() >= deadline || stop.signal.aborted)
        return await findViewForClient(deps, clientId, input.id);
    }
  } finally {
    stop.abort();
    input.signal?.removeEventListener('abort', onOuterAbort);
  }
}
