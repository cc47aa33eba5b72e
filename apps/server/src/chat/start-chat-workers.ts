// Registers the card flush workers: each job brings one channel's cards up to date through the
// transport of its platform. A flush that runs out of its time budget (or must wait out a long
// Retry-After) hands the rest of the channel to a fresh job.
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { CHAT_FLUSH_QUEUE } from '../jobs/job-queue.ts';
import { queueFlush } from '../approvals/outbox/card-outbox.ts';
import { platformOf } from '../approvals/channels.ts';
import type { ChatIntegration } from './chat-integration.ts';
import { flushChannel, type FlushDeps } from './flush-channel.ts';

const jobData = z.object({ channel: z.string().min(1) });

export async function startChatWorkers(
  deps: Pick<Deps, 'jobs' | 'log' | 'db' | 'clock' | 'receipts'> & FlushDeps,
  integrations: readonly ChatIntegration[],
  concurrency: number,
): Promise<void> {
  if (concurrency <= 0 || integrations.length === 0) return;
  const byPlatform = new Map(integrations.map((i) => [i.platform as string, i]));
  await deps.jobs.work(CHAT_FLUSH_QUEUE, concurrency, async (job) => {
    const parsed = jobData.safeParse(job.data);
    if (!parsed.success) {
      deps.log.error({ jobId: job.id }, 'chat flush job without a channel: dropped');
      return;
    }
    const integration = byPlatform.get(platformOf(parsed.data.channel));
    if (!integration) {
      deps.log.warn({ channel: parsed.data.channel }, 'no chat adapter configured for this channel');
      return;
    }
    const outcome = await flushChannel(
      deps,
      integration.transport,
      integration.flush,
      parsed.data.channel,
      integration.link,
    );
    if (!outcome.done) {
      await deps.db.prisma.$transaction((tx) =>
        queueFlush(tx, deps.jobs, parsed.data.channel, outcome.resumeAfterSeconds),
      );
    }
  });
}
