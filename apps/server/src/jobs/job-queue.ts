// The durable job queue: pg-boss in its own `pgboss` schema of the same database. Jobs are
// enqueued inside the caller's transaction, so a job exists exactly when the state change
// that asked for it committed. pg-boss fetches with SKIP LOCKED: several replicas never run one
// job at the same time. Sending a job also NOTIFYs its queue's name, which Postgres delivers at
// commit: every replica's workers for that queue wake at once instead of at their next poll.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { runSql, type Transaction } from '../db/transaction.ts';
import { isDatabaseUnavailable } from '../db/database-outage.ts';
import { listenForNotifications, type NotificationListener } from '../db/listen-for-notifications.ts';
import type { Logger } from '../observability/logger.ts';
import { startJobWorker, type JobHandler, type JobWorker } from './run-job-worker.ts';

export const CALLBACK_QUEUE = 'callback-delivery';
/** One job per chat channel posts and updates that channel's cards in order ("stately": at most
 * one queued and one running per channel). */
export const CHAT_FLUSH_QUEUE = 'chat-flush';
/** Reminders, escalations and the requester's notice, each due at its time (approvals/follow-up/). */
export const FOLLOW_UP_QUEUE = 'request-follow-up';
/** One job per break-glass use, due when its review is: announces a review nobody made. */
export const BREAK_GLASS_REVIEW_QUEUE = 'break-glass-review';
/** One job per delegation, due at its end: records its expiry in the audit trail. */
export const DELEGATION_EXPIRY_QUEUE = 'delegation-expiry';
/** NOTIFY channel whose payload is the name of a queue that was sent a job. */
export const JOBS_SENT_CHANNEL = 'countersign_jobs_sent';

/** Arbitrary constant naming the queue set-up lock among the database's advisory locks. */
const QUEUE_SETUP_LOCK_KEY = 4_176_221_902;

async function withSessionLock(url: string, key: number, work: () => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [key]);
    await work();
  } finally {
    await client.end();
  }
}

export interface RetryPolicy {
  retryLimit: number;
  /** Seconds before the first retry; pg-boss doubles it each time, with jitter. */
  retryDelaySeconds: number;
  /** How long one attempt may run before pg-boss considers its worker dead and retries. */
  expireInSeconds: number;
}

export interface JobQueue {
  /** Creates pg-boss's schema and the queues (idempotent); needed before work(). */
  start(): Promise<void>;
  /** Enqueues inside the given transaction. */
  send(
    tx: Transaction,
    queue: string,
    data: object,
    options?: { startAfterSeconds?: number; singletonKey?: string },
  ): Promise<void>;
  /**
   * Runs the handler for each job, `concurrency` at a time (fetched in batches); a thrown error makes
   * pg-boss retry it. A failure because the database is away pauses the job instead (see
   * run-job-worker.ts).
   */
  work(queue: string, concurrency: number, handler: JobHandler): Promise<void>;
  /** Stops taking jobs and waits up to `timeoutMs` for those in hand; the rest are failed for a retry. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * pg-boss runs its SQL through this adapter to take part in the caller's transaction. Its job
 * insert (a plain INSERT … RETURNING id) is wrapped so the same statement NOTIFYs the queue's name
 * when a row was inserted: no extra round trip, and no wake-up for a singleton that was already
 * queued. Any other statement runs as given, followed by its own NOTIFY.
 */
function transactionAdapter(tx: Transaction, queue: string): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      const queueParam = `$${values.length + 1}::text`;
      if (/^\s*INSERT\b/i.test(text) && /\bRETURNING\b/i.test(text)) {
        // pg_notify returns void, which is kept out of the result.
        const wrapped = `WITH sent AS (${text})
          SELECT sent.* FROM sent
           CROSS JOIN LATERAL (SELECT pg_notify('${JOBS_SENT_CHANNEL}', ${queueParam}) WHERE sent.id IS NOT NULL) AS n`;
        return { rows: await runSql<unknown>(tx, wrapped, [...values, queue]) };
      }
      const rows = await runSql<unknown>(tx, text, values);
      await runSql(tx, `SELECT 1 FROM (SELECT pg_notify('${JOBS_SENT_CHANNEL}', $1::text)) AS n`, [queue]);
      return { rows };
    },
  };
}

export interface StartJobQueueOptions {
  url: string;
  log: Logger;
  callbackRetry: RetryPolicy;
  pollingIntervalSeconds: number;
  /** How long one chat flush job may run before pg-boss takes its worker for dead (default 15 min). */
  chatFlushExpireSeconds?: number;
}

export function createJobQueue(options: StartJobQueueOptions): JobQueue {
  // No cron schedules are used: without the timekeeper pg-boss runs no boss.work() loop of its own.
  const boss = new PgBoss({ connectionString: options.url, schema: 'pgboss', max: 4, schedule: false });
  // pg-boss reports its pool's lost connections and failed maintenance runs here; an outage is
  // expected now and then and pg-boss tries again by itself.
  boss.on('error', (error: unknown) => {
    if (isDatabaseUnavailable(error)) options.log.warn({ err: error }, 'job queue: database unavailable');
    else options.log.error({ err: error }, 'job queue error');
  });
  const stopping = new AbortController();
  const workers: { queue: string; worker: JobWorker }[] = [];
  let listener: NotificationListener | undefined;
  const wake = (queueName?: string) => {
    for (const w of workers) if (queueName === undefined || w.queue === queueName) w.worker.wake();
  };
  const { retryLimit, retryDelaySeconds, expireInSeconds } = options.callbackRetry;
  const queue = {
    name: CALLBACK_QUEUE,
    retryLimit,
    retryDelay: retryDelaySeconds,
    retryBackoff: true,
    expireInSeconds,
    retentionDays: 30,
  };
  const chatQueue = {
    name: CHAT_FLUSH_QUEUE,
    policy: 'stately' as const,
    retryLimit: 1000,
    retryDelay: 5,
    retryBackoff: true,
    expireInSeconds: options.chatFlushExpireSeconds ?? 15 * 60,
    retentionDays: 7,
  };
  const followUpQueue = {
    name: FOLLOW_UP_QUEUE,
    // A card not yet posted, or a platform hiccup: try again every few seconds for a few minutes.
    retryLimit: 60,
    retryDelay: 5,
    retryBackoff: false,
    expireInSeconds: 120,
    retentionDays: 7,
  };
  let started = false;

  return {
    async start() {
      await boss.start();
      started = true;
      // Replicas starting together deadlock inside pg-boss's createQueue: take turns.
      await withSessionLock(options.url, QUEUE_SETUP_LOCK_KEY, async () => {
        // createQueue is idempotent for an existing queue; updateQueue applies a changed retry policy.
        await boss.createQueue(CALLBACK_QUEUE, queue);
        await boss.updateQueue(CALLBACK_QUEUE, queue);
        await boss.createQueue(CHAT_FLUSH_QUEUE, chatQueue);
        await boss.updateQueue(CHAT_FLUSH_QUEUE, chatQueue);
        await boss.createQueue(FOLLOW_UP_QUEUE, followUpQueue);
        await boss.updateQueue(FOLLOW_UP_QUEUE, followUpQueue);
        for (const name of [BREAK_GLASS_REVIEW_QUEUE, DELEGATION_EXPIRY_QUEUE]) {
          const timerQueue = { name, retryLimit: 1000, retryDelay: 5, retryBackoff: true, retentionDays: 30 };
          await boss.createQueue(name, timerQueue);
          await boss.updateQueue(name, timerQueue);
        }
      });
      listener = await listenForNotifications({
        url: options.url,
        channel: JOBS_SENT_CHANNEL,
        log: options.log,
        onNotification: (queueName) => wake(queueName),
        // Jobs sent while the listener was away announced themselves to nobody: look for them.
        onConnected: () => wake(),
      });
    },
    async send(tx, name, data, sendOptions = {}) {
      const id = await boss.send(name, data, {
        db: transactionAdapter(tx, name),
        ...(sendOptions.startAfterSeconds ? { startAfter: sendOptions.startAfterSeconds } : {}),
        ...(sendOptions.singletonKey ? { singletonKey: sendOptions.singletonKey } : {}),
      });
      // A singleton job that is already queued covers this one; anything else must be stored.
      if (!id && !sendOptions.singletonKey) throw new Error(`job queue refused a job for ${name}`);
    },
    async work(name, concurrency, handler) {
      if (stopping.signal.aborted) throw new Error('the job queue is stopped');
      workers.push({
        queue: name,
        worker: startJobWorker({
          boss,
          queue: name,
          concurrency,
          pollingIntervalMs: options.pollingIntervalSeconds * 1000,
          log: options.log,
          handler,
          signal: stopping.signal,
        }),
      });
      return Promise.resolve();
    },
    async stop(timeoutMs = 15_000) {
      stopping.abort();
      await listener?.close();
      const allDone = Promise.all(workers.map((w) => w.worker.done));
      const late = await Promise.race([allDone.then(() => false), sleep(timeoutMs, true, { ref: false })]);
      if (late) {
        // As pg-boss's own graceful stop does: fail what is still running so it is retried soon.
        const running = workers.flatMap((w) => w.worker.running());
        for (const job of running) {
          await boss
            .fail(job.name, job.id, { error: 'the server shut down while this job ran' })
            .catch((error: unknown) =>
              options.log.warn({ err: error, jobId: job.id }, 'could not fail a job'),
            );
        }
      }
      if (started) await boss.stop({ graceful: false, close: true });
    },
  };
}
