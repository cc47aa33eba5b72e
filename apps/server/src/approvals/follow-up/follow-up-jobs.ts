// The follow-up jobs of a request: its reminders and escalation, queued in the transaction that
// creates it (each due at its time, so nothing waits in memory), and the requester's notice, queued
// in the transaction that reaches the verdict. Each carries a singleton key, so a job queued twice
// is one job; the worker (chat/follow-up/) does nothing for a request that is no longer pending.
import { z } from 'zod';
import type { FollowUpPlan } from '../../audit/event-types.ts';
import type { Transaction } from '../../db/transaction.ts';
import { FOLLOW_UP_QUEUE, type JobQueue } from '../../jobs/job-queue.ts';

export const followUpJobSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('remind'), requestId: z.uuid(), step: z.number().int().min(1) }),
  z.object({ kind: z.literal('escalate'), requestId: z.uuid() }),
  z.object({ kind: z.literal('notify-requester'), requestId: z.uuid() }),
]);
export type FollowUpJob = z.infer<typeof followUpJobSchema>;

export interface FollowUpDeps {
  jobs: JobQueue;
  /** Platforms with credentials configured: without one, nobody can be reminded or told in chat. */
  chatPlatforms: ReadonlySet<string>;
}

function singletonKey(job: FollowUpJob): string {
  return job.kind === 'remind' ? `${job.requestId}:remind:${job.step}` : `${job.requestId}:${job.kind}`;
}

async function send(tx: Transaction, jobs: JobQueue, job: FollowUpJob, afterSeconds?: number) {
  await jobs.send(tx, FOLLOW_UP_QUEUE, job, {
    singletonKey: singletonKey(job),
    ...(afterSeconds ? { startAfterSeconds: afterSeconds } : {}),
  });
}

/** Whether creating the request queues any job (so it needs a transaction of its own). */
export function hasTimedFollowUps(deps: FollowUpDeps, plan: FollowUpPlan | undefined): boolean {
  if (!plan) return false;
  // An escalation adds approvers, which matters in the console and the API too.
  return plan.escalate !== null || (plan.remindSeconds.length > 0 && deps.chatPlatforms.size > 0);
}

/** Queues the reminders (when a chat platform can carry them) and the escalation, each at its time. */
export async function scheduleFollowUps(
  tx: Transaction,
  deps: FollowUpDeps,
  requestId: string,
  plan: FollowUpPlan | undefined,
): Promise<void> {
  if (!plan) return;
  if (deps.chatPlatforms.size > 0) {
    for (const [index, seconds] of plan.remindSeconds.entries()) {
      await send(tx, deps.jobs, { kind: 'remind', requestId, step: index + 1 }, seconds);
    }
  }
  if (plan.escalate) await send(tx, deps.jobs, { kind: 'escalate', requestId }, plan.escalate.afterSeconds);
}

/**
 * At the verdict (approved, denied, expired, cancelled): the requester is to be told. Whether the
 * rule wants it is read from the chain when the job runs; without a chat platform there is no way.
 */
export async function queueRequesterNotice(
  tx: Transaction,
  deps: FollowUpDeps,
  requestId: string,
): Promise<void> {
  if (deps.chatPlatforms.size === 0) return;
  await send(tx, deps.jobs, { kind: 'notify-requester', requestId });
}
