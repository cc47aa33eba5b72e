// Runs the follow-up jobs (approvals/follow-up/follow-up-jobs.ts): each reminder step, the
// escalation and the requester's notice, when due. pg-boss hands a job to one worker of one replica;
// each handler also looks for its own audit event under a lock, so a retried job does its work once.
import type { Deps } from '../../deps.ts';
import { escalateRequest } from '../../approvals/follow-up/escalate-request.ts';
import { followUpJobSchema } from '../../approvals/follow-up/follow-up-jobs.ts';
import { FOLLOW_UP_QUEUE } from '../../jobs/job-queue.ts';
import type { ChatIntegration } from '../chat-integration.ts';
import type { ChatNotifier } from './chat-notifier.ts';
import { notifyRequester } from './notify-requester.ts';
import { remindApprovers } from './remind-approvers.ts';

export async function startFollowUpWorkers(
  deps: Deps & { publicUrl?: string | undefined },
  integrations: readonly ChatIntegration[],
  concurrency: number,
): Promise<void> {
  if (concurrency <= 0) return;
  // A platform that revoked the app gets no more calls, nudges included (as its cards get none).
  const liveNotifiers = () => {
    const notifiers = new Map<string, ChatNotifier>();
    for (const integration of integrations)
      if (integration.notifier && !integration.link.revoked())
        notifiers.set(integration.platform, integration.notifier);
    return notifiers;
  };
  await deps.jobs.work(FOLLOW_UP_QUEUE, concurrency, async (job) => {
    const parsed = followUpJobSchema.safeParse(job.data);
    if (!parsed.success) {
      deps.log.error({ jobId: job.id }, 'follow-up job of unknown shape: dropped');
      return;
    }
    const data = parsed.data;
    const outcome =
      data.kind === 'escalate'
        ? await escalateRequest(deps, data.requestId)
        : data.kind === 'remind'
          ? await remindApprovers(deps, liveNotifiers(), data.requestId, data.step)
          : await notifyRequester(deps, liveNotifiers(), data.requestId);
    deps.log.info({ requestId: data.requestId, kind: data.kind, outcome }, 'follow-up done');
  });
}
