// Registers the callback workers on the job queue: each job is one delivery attempt.
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { CALLBACK_QUEUE } from '../jobs/job-queue.ts';
import { attemptDelivery } from './deliver-callback.ts';

const jobData = z.object({ deliveryId: z.uuid() });

export async function startCallbackWorkers(deps: Deps, concurrency: number): Promise<void> {
  if (concurrency <= 0) return;
  await deps.jobs.work(CALLBACK_QUEUE, concurrency, async (job, { deadline }) => {
    const parsed = jobData.safeParse(job.data);
    if (!parsed.success) {
      deps.log.error({ jobId: job.id }, 'callback job without a valid delivery id: dropped');
      return;
    }
    await attemptDelivery(deps, {
      deliveryId: parsed.data.deliveryId,
      isLastAttempt: job.retryCount >= job.retryLimit,
      recordDeadline: deadline,
    });
  });
}
