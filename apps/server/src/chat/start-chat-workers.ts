// Registers the card flush workers: each job brings one channel's cards up to date through the
// transport of its platform. A flush that runs out of its time budget (or must wait out a long
// Retry-After) hands the rest of the channel to a fresh job. One flush runs per channel at a time
// (card-store.ts, withFlusherLock).
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { inTransaction } from '../db/transaction.ts';
import { CHAT_FLUSH_QUEUE } from '../jobs/job-queue.ts';
import { queueFlush } from '../approvals/outbox/card-outbox.ts';
import { platformOf } from '../approvals/channels.ts';
import type { ChatIntegration } from './chat-integration.ts';
import { flushChannel, type FlushDeps } from './flush-channel.ts';
import { withFlusherLock } from './card-store.ts';

const jobData = z.object({ channel: z.string().min(1) });

/** When the channel's flush is held elsewhere: look again after this long (the holder may be gone). */
const BUSY_RETRY_SECONDS = 2;

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
    const channel = parsed.data.channel;
    const locked = await withFlusherLock(deps.db, channel, () =>
      flushChannel(deps, integration.transport, integration.flush, channel, integration.link),
    );
    if (!locked.ran) {
      deps.log.info({ channel }, 'another worker is flushing this channel: trying again shortly');
    }
    const resumeAfterSeconds = locked.ran
      ? locked.result.done
        ? undefined
        : locked.result.resumeAfterSeconds
      : BUSY_RETRY_SECONDS;
    if (resumeAfterSeconds !== undefined) {
      await inTransaction(deps.db, (tx) => queueFlush(tx, deps.jobs, channel, resumeAfterSeconds));
    }
  });
}
