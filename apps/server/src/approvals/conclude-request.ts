// The one way a request leaves pending, whatever concludes it (a quorum of approvals or denials,
// an auto-approving rule, expiry, the client's cancel): its status and decided_at, and its verdict
// callback queued in the same transaction. The caller has locked or just written the row, and
// appends its own audit event and refreshes its cards.
import type { Transaction } from '../db/transaction.ts';
import { enqueueVerdictCallback } from './outbox/enqueue-verdict-callback.ts';
import type { ApprovalStatus } from '../generated/prisma/enums.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { markRequestConcluded } from './store/request-store.ts';

export type Conclusion = Exclude<ApprovalStatus, 'pending'>;

export async function concludeRequest(
  tx: Transaction,
  jobs: JobQueue,
  request: { id: string; callbackUrl: string | null },
  status: Conclusion,
  now: Date,
): Promise<void> {
  await markRequestConcluded(tx, request.id, status, now);
  await enqueueVerdictCallback(tx, jobs, request, status);
}
