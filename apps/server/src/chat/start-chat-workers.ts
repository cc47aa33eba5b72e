// Registers the card flush workers: each job brings one channel's cards up to date through the
// adapter of its platform. A flusher that runs out of its time budget (or must wait out a long
// Retry-After) hands the rest of the channel to a fresh job.
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { CHAT_FLUSH_QUEUE } from '../jobs/job-queue.ts';
import { platformOf, queueFlush } from './card-outbox.ts';

const jobData = z.object({ channel: z.string().min(1) });

/** `done`, or the channel still has cards to show: resume in a new job after `resumeAfterSeconds`. */
export type FlushOutcome = { done: true } | { done: false; resumeAfterSeconds: number };

export type ChannelFlusher = (channel: string) => Promise<FlushOutcome>;

export async function startChatWorkers(
  deps: Pick<Deps, 'jobs' | 'log' | 'db'>,
  flushers: ReadonlyMap<string, ChannelFlusher>,
  concurrency: number,
): Promise<void> {
  if (concurrency <= 0 || flushers.size === 0) return;
  await deps.jobs.work(CHAT_FLUSH_QUEUE, concurrency, async (job) => {
    const parsed = jobData.safeParse(job.data);
    if (!parsed.success) {
      deps.log.error({ jobId: job.id }, 'chat flush job without a channel: dropped');
      return;
    }
    const flush = flushers.get(platformOf(parsed.data.channel));
    if (!flush) {
      deps.log.warn({ channel: parsed.data.channel }, 'no chat adapter configured for this channel');
      return;
    }
    const outcome = await flush(parsed.data.channel);
    if (!outcome.done) {
      await deps.db.prisma.$transaction((tx) =>
        queueFlush(tx, deps.jobs, parsed.data.channel, outcome.resumeAfterSeconds),
      );
    }
  });
}
