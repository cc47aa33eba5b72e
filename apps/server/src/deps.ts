// What use cases receive instead of importing globals: the database, a clock and a logger.
import type { Database } from './db/client.ts';
import type { Policy } from './approvals/policy/policy.ts';
import type { CallbackAllowList, LookupAll } from './approvals/outbox/url-guard.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import type { Logger } from './observability/logger.ts';
import type { ReceiptSigner } from './receipts/sign-receipt.ts';
import type { EventSigner } from './audit/event-key.ts';
import type { SecretReader } from './secrets/resolve-secret.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** How verdict callbacks are sent: which private addresses are allowed, name lookup, timeout. */
export interface CallbackSettings {
  allow: CallbackAllowList;
  lookupAll: LookupAll;
  timeoutMs: number;
}

/** What chat adapters count: one call to a platform's API, by its outcome. */
export interface ChatApiCallCounter {
  inc(labels: { platform: string; method: string; result: 'ok' | 'rate_limited' | 'error' }): void;
}

export interface Deps {
  db: Database;
  clock: Clock;
  log: Logger;
  policy: Policy;
  jobs: JobQueue;
  /** Chat platforms with credentials configured ("slack", "teams"). */
  chatPlatforms: ReadonlySet<string>;
  callbacks: CallbackSettings;
  /** Signs verdict receipts; holds the private key out of reach of anything that logs. */
  receipts: ReceiptSigner;
  /** Signs every audit event that changes a request's state; its key is never in the database. */
  events: EventSigner;
  /** Reads the policy's secret references (`env:`, `file:`); absent: no policy secret can be handed out. */
  secrets?: SecretReader;
  /** Counters adapters increment; absent in tests that do not scrape. */
  metrics?: { chatApiCalls: ChatApiCallCounter };
}
