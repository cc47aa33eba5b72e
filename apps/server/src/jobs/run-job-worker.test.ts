// The worker loop against a scripted pg-boss: a database outage in the handler or in complete()
// pauses and retries instead of rejecting unhandled (what pg-boss 10's own loop did), other
// failures fail the job, and a handler that outlives the job's deadline is failed. Jobs are
// fetched in batches of the free slots, and a wake-up makes the loop look before its next poll.
import type PgBoss from 'pg-boss';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.ts';
import { startJobWorker, type JobBoss, type JobHandler, type JobWorker } from './run-job-worker.ts';

const outage = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

function job(expireInSeconds = 60, id = 'job-1'): PgBoss.JobWithMetadata<unknown> {
  return { id, name: 'q', data: {}, expireInSeconds } as PgBoss.JobWithMetadata<unknown>;
}

interface Script {
  jobs: PgBoss.JobWithMetadata<unknown>[];
  completeFailures?: number;
}

function scriptedBoss(script: Script) {
  const calls = { complete: 0, fail: [] as unknown[], batchSizes: [] as number[] };
  let completeFailures = script.completeFailures ?? 0;
  const boss = {
    fetch: (_name: string, options: { batchSize: number }) => {
      calls.batchSizes.push(options.batchSize);
      return Promise.resolve(script.jobs.splice(0, options.batchSize));
    },
    complete: () => {
      calls.complete += 1;
      if (completeFailures > 0) {
        completeFailures -= 1;
        return Promise.reject(outage());
      }
      return Promise.resolve({ jobs: ['job-1'], requested: 1, affected: 1 });
    },
    fail: (_name: string, _id: string, data: unknown) => {
      calls.fail.push(data);
      return Promise.resolve({ jobs: ['job-1'], requested: 1, affected: 1 });
    },
  } as unknown as JobBoss;
  return { boss, calls };
}

const stops: AbortController[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop.abort();
});

async function runUntil(
  boss: JobBoss,
  handler: JobHandler,
  done: () => boolean,
  options: { concurrency?: number; pollingIntervalMs?: number; started?: (worker: JobWorker) => void } = {},
): Promise<void> {
  const stop = new AbortController();
  stops.push(stop);
  const worker = startJobWorker({
    boss,
    queue: 'q',
    concurrency: options.concurrency ?? 1,
    pollingIntervalMs: options.pollingIntervalMs ?? 20,
    log: createLogger('silent'),
    handler,
    signal: stop.signal,
  });
  options.started?.(worker);
  const deadline = Date.now() + 10_000;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  stop.abort();
  await worker.done;
}

describe('startJobWorker', () => {
  it('retries complete() while the database is away, and completes the job once it is back', async () => {
    const { boss, calls } = scriptedBoss({ jobs: [job()], completeFailures: 2 });
    let handled = 0;
    await runUntil(
      boss,
      () => {
        handled += 1;
        return Promise.resolve();
      },
      () => calls.complete === 3,
    );
    expect(handled).toBe(1);
    expect(calls.complete).toBe(3);
    expect(calls.fail).toEqual([]);
  });

  it('runs a handler again when it failed because the database was away, without failing the job', async () => {
    const { boss, calls } = scriptedBoss({ jobs: [job()] });
    let handled = 0;
    await runUntil(
      boss,
      () => {
        handled += 1;
        return handled < 3 ? Promise.reject(outage()) : Promise.resolve();
      },
      () => calls.complete === 1,
    );
    expect(handled).toBe(3);
    expect(calls.fail).toEqual([]);
  });

  it('fails the job with the error of a handler that failed for another reason', async () => {
    const { boss, calls } = scriptedBoss({ jobs: [job()] });
    const refused = new Error('receiver answered 500');
    let handled = 0;
    await runUntil(
      boss,
      () => {
        handled += 1;
        return Promise.reject(refused);
      },
      () => calls.fail.length === 1,
    );
    expect(handled).toBe(1);
    expect(calls.fail).toEqual([refused]);
    expect(calls.complete).toBe(0);
  });

  it('fails a job whose handler runs past the deadline before its pg-boss expiry', async () => {
    // expireIn 5.3 s less the worker's 5 s margin: a 300 ms deadline.
    const { boss, calls } = scriptedBoss({ jobs: [job(5.3)] });
    await runUntil(
      boss,
      () => new Promise<void>(() => undefined),
      () => calls.fail.length === 1,
    );
    expect(calls.fail).toHaveLength(1);
    expect(calls.fail[0]).toMatchObject({ name: 'JobTimedOut' });
    expect(calls.complete).toBe(0);
  });

  it('fetches as many jobs as it has free slots in one batch and runs them at once', async () => {
    const { boss, calls } = scriptedBoss({ jobs: [1, 2, 3, 4].map((n) => job(60, `job-${n}`)) });
    let inFlight = 0;
    let mostAtOnce = 0;
    let finished = 0;
    await runUntil(
      boss,
      async () => {
        inFlight += 1;
        mostAtOnce = Math.max(mostAtOnce, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 50));
        inFlight -= 1;
        finished += 1;
      },
      () => finished === 4 && calls.complete === 4,
      { concurrency: 3 },
    );
    expect(calls.batchSizes[0]).toBe(3);
    expect(mostAtOnce).toBe(3);
    expect(calls.complete).toBe(4);
  });

  it('looks for jobs as soon as it is woken, not at its next poll', async () => {
    const script: Script = { jobs: [] };
    const { boss, calls } = scriptedBoss(script);
    let handled = 0;
    await runUntil(
      boss,
      () => {
        handled += 1;
        return Promise.resolve();
      },
      () => calls.complete === 1,
      {
        pollingIntervalMs: 600_000,
        started: (worker) => {
          setTimeout(() => {
            script.jobs.push(job());
            worker.wake();
          }, 100);
        },
      },
    );
    expect(handled).toBe(1);
    expect(calls.complete).toBe(1);
  });
});
