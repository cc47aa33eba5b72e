// One worker loop over a pg-boss queue, used instead of boss.work(). pg-boss 10's own loop calls
// complete()/fail() without awaiting them, so when Postgres went away mid-job the rejection was
// unhandled and the process exited. Here every database step is awaited and guarded: a job whose
// handler fails because the database is away is run again once it is back, and its completion is
// retried, all while the job is still ours (before its pg-boss expiry); past that, pg-boss's own
// expiry hands it to another attempt. The loop keeps up to `concurrency` jobs in hand, fetched in
// batches, and looks again as soon as it is woken (a job was sent, or one of its own finished)
// rather than only at the next poll.
import { setTimeout as sleep } from 'node:timers/promises';
import type PgBoss from 'pg-boss';
import { isDatabaseUnavailable } from '../db/database-outage.ts';
import type { Logger } from '../observability/logger.ts';

/** How long before its pg-boss expiry a worker lets go of a job it cannot finish. */
const EXPIRY_MARGIN_MS = 5_000;
const FIRST_PAUSE_MS = 250;
const LONGEST_PAUSE_MS = 4_000;

export interface JobContext {
  /** performance.now() instant by which the job must be finished (its expiry, less a margin). */
  deadline: number;
  /** Aborts when the worker is told to stop. */
  signal: AbortSignal;
}

export type JobHandler = (job: PgBoss.JobWithMetadata<unknown>, context: JobContext) => Promise<void>;

export type JobBoss = Pick<PgBoss, 'fetch' | 'complete' | 'fail'>;

export interface JobWorkerOptions {
  boss: JobBoss;
  queue: string;
  /** Jobs run at once (1 unless given); one fetch asks for as many as there are free slots. */
  concurrency?: number;
  /** How long an idle loop waits for a wake-up before it looks for jobs anyway. */
  pollingIntervalMs: number;
  log: Logger;
  handler: JobHandler;
  signal: AbortSignal;
}

export interface JobWorker {
  /** Resolves when the loop has ended (after stop, once the jobs in hand are settled). */
  done: Promise<void>;
  /** The jobs being worked on. */
  running(): PgBoss.JobWithMetadata<unknown>[];
  /** Look for jobs now instead of at the next poll (e.g. a NOTIFY said one was sent). */
  wake(): void;
}

/** Waits, but no longer than the signal allows; never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

class JobTimedOut extends Error {
  override name = 'JobTimedOut';
}

/** The handler's promise, or a rejection at the deadline (the handler's later failure is only logged). */
function withinDeadline(work: Promise<void>, deadline: number, log: Logger): Promise<void> {
  const timeoutMs = Math.max(0, deadline - performance.now());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      work.catch((error: unknown) => log.warn({ err: error }, 'job handler failed after its deadline'));
      reject(new JobTimedOut(`job ran past its deadline (${Math.round(timeoutMs)} ms)`));
    }, timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function startJobWorker(options: JobWorkerOptions): JobWorker {
  const { boss, queue, log, handler, signal } = options;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const running = new Map<string, PgBoss.JobWithMetadata<unknown>>();
  const settling = new Set<Promise<void>>();
  // A wake-up that arrives while the loop is busy is kept, so the loop looks again right after.
  let woken = false;
  let interrupt: (() => void) | undefined;
  const wake = () => {
    woken = true;
    interrupt?.();
  };

  /** Waits for a wake-up (one already pending counts), the poll interval or the stop signal. */
  const waitForWake = (ms: number): Promise<void> => {
    if (woken || signal.aborted) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        interrupt = undefined;
        signal.removeEventListener('abort', done);
        woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      interrupt = done;
      signal.addEventListener('abort', done);
    });
  };

  /** Runs the handler, again after a pause each time it fails because the database is away. */
  const runHandler = async (
    job: PgBoss.JobWithMetadata<unknown>,
    deadline: number,
  ): Promise<Error | undefined> => {
    let pauseMs = FIRST_PAUSE_MS;
    for (;;) {
      try {
        await withinDeadline(handler(job, { deadline, signal }), deadline, log);
        return undefined;
      } catch (error) {
        const canWait = !signal.aborted && performance.now() + pauseMs < deadline;
        if (!isDatabaseUnavailable(error) || !canWait)
          return error instanceof Error ? error : new Error(`job failed: ${JSON.stringify(error)}`);
        log.warn({ queue, jobId: job.id, pauseMs }, 'database unavailable: job paused');
        await pause(pauseMs, signal);
        pauseMs = Math.min(pauseMs * 2, LONGEST_PAUSE_MS);
      }
    }
  };

  /** complete() or fail(), retried while the database is away and the job is still ours. */
  const settle = async (
    job: PgBoss.JobWithMetadata<unknown>,
    failure: Error | undefined,
    deadline: number,
  ) => {
    let pauseMs = FIRST_PAUSE_MS;
    for (;;) {
      try {
        if (failure === undefined) await boss.complete(queue, job.id);
        else await boss.fail(queue, job.id, failure);
        return;
      } catch (error) {
        if (!isDatabaseUnavailable(error) || performance.now() + pauseMs >= deadline) {
          // Left active: pg-boss's expiry retries it; a handler that had finished finds its work done.
          log.warn({ err: error, queue, jobId: job.id }, 'could not settle a job; its expiry will retry it');
          return;
        }
        await sleep(pauseMs);
        pauseMs = Math.min(pauseMs * 2, LONGEST_PAUSE_MS);
      }
    }
  };

  const run = (job: PgBoss.JobWithMetadata<unknown>) => {
    running.set(job.id, job);
    const deadline = performance.now() + job.expireInSeconds * 1000 - EXPIRY_MARGIN_MS;
    const settled = runHandler(job, deadline)
      .then((failure) => settle(job, failure, deadline))
      .finally(() => {
        running.delete(job.id);
        settling.delete(settled);
        // A slot is free, and a job held back behind this one (one per key) may be ready now.
        wake();
      });
    settling.add(settled);
  };

  const loop = async () => {
    while (!signal.aborted) {
      const free = concurrency - running.size;
      if (free > 0) {
        woken = false; // this fetch covers every job announced so far
        let jobs: PgBoss.JobWithMetadata<unknown>[] = [];
        try {
          // pg-boss 10's fetch answers [] when the database is away; the next look tries again.
          jobs = await boss.fetch<unknown>(queue, { batchSize: free, includeMetadata: true });
        } catch (error) {
          log.warn({ err: error, queue }, 'job fetch failed');
        }
        for (const job of jobs.slice(0, free)) run(job);
        // A full batch: there may be more, to be fetched as soon as a slot frees up.
        if (jobs.length > 0 && jobs.length >= free) continue;
      }
      await waitForWake(options.pollingIntervalMs);
    }
    await Promise.all([...settling]);
  };

  const done = loop().catch((error: unknown) => {
    // Nothing above rethrows; this only keeps a programming error from ending the process.
    log.error({ err: error, queue }, 'job worker stopped unexpectedly');
  });
  return { done, running: () => [...running.values()], wake };
}
