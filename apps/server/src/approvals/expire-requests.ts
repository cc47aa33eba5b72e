// Moves overdue pending requests to `expired`, in batches. SKIP LOCKED lets several processes
// sweep at once without expiring one request twice; the status check under the row lock makes a
// decision that won the race stand.
import type { Deps } from '../deps.ts';
import { appendAuditEvents } from '../audit/append-event.ts';
import { isDatabaseUnavailable } from '../db/database-outage.ts';
import { markExpired } from './record-decision.ts';
import { inTransaction } from '../db/transaction.ts';
import { lockOverdueRequests } from './store/request-store.ts';

const BATCH_SIZE = 100;

/** Returns the ids it expired. */
export async function expireOverdueRequests(deps: Deps): Promise<string[]> {
  const expired: string[] = [];
  for (;;) {
    const now = deps.clock.now();
    const batch = await inTransaction(deps.db, async (tx) => {
      const rows = await lockOverdueRequests(tx, now, BATCH_SIZE);
      const events = [];
      for (const row of rows) {
        events.push(
          await markExpired(
            tx,
            deps,
            { id: row.id, expiresAt: row.expires_at, callbackUrl: row.callback_url },
            now,
          ),
        );
      }
      await appendAuditEvents(tx, events, now, deps.events);
      return rows.map((r) => r.id);
    });
    expired.push(...batch);
    if (batch.length < BATCH_SIZE) return expired;
  }
}

export interface ExpirySweeper {
  stop(): Promise<void>;
}

/** Sweeps at once (requests overdue while no process ran) and then every intervalMs. */
export function startExpirySweeper(deps: Deps, intervalMs: number): ExpirySweeper {
  let running: Promise<void> | undefined;
  let stopped = false;
  const sweep = () => {
    if (running) return; // the previous sweep is still going
    running = expireOverdueRequests(deps)
      .then(
        (ids) => {
          if (ids.length > 0) deps.log.info({ count: ids.length, ids }, 'expired overdue requests');
        },
        (error: unknown) => {
          // An outage is expected now and then; the next sweep catches up on what this one missed.
          if (isDatabaseUnavailable(error))
            deps.log.warn({ err: error }, 'expiry sweep: database unavailable');
          else deps.log.error({ err: error }, 'expiry sweep failed');
        },
      )
      .finally(() => {
        running = undefined;
      });
  };
  sweep();
  const timer = setInterval(() => {
    if (!stopped) sweep();
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
