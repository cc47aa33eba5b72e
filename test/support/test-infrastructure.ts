// The job queue and callback settings for use-case tests: a real pg-boss queue on the test
// database (started only by tests that deliver), and a URL guard that lets callbacks reach
// loopback test receivers.
import { parseAllowList, systemLookup } from '../../apps/server/src/approvals/outbox/url-guard.ts';
import type { CallbackSettings } from '../../apps/server/src/deps.ts';
import type { Database } from '../../apps/server/src/db/client.ts';
import { createJobQueue, type JobQueue } from '../../apps/server/src/jobs/job-queue.ts';
import { silentLogger } from './logging.ts';

export function testJobQueue(db: Pick<Database, 'url'>): JobQueue {
  return createJobQueue({
    url: db.url,
    log: silentLogger(),
    pollingIntervalSeconds: 0.5,
    callbackRetry: { retryLimit: 3, retryDelaySeconds: 1, expireInSeconds: 30 },
  });
}

export const testCallbackSettings: CallbackSettings = {
  allow: parseAllowList('127.0.0.0/8,::1'),
  lookupAll: systemLookup,
  timeoutMs: 2000,
};
