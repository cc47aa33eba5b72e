// One flush at a time per channel, across workers and replicas. The queue runs one flush job per
// channel, but a job that outlives its deadline (a platform call hanging up to its timeout) is
// handed to a fresh attempt while the old handler may still be running; two loops over one
// channel could then both post a card that has no message yet. The session-level advisory lock,
// held on its own pooled connection for the length of the flush, leaves the second attempt to wait
// its turn; it ends with the flush or with the connection.
import type pg from 'pg';

/** The flush ran (its result), or another holds the channel's flush and this one did nothing. */
export type FlusherLockOutcome<T> = { ran: true; result: T } | { ran: false };

export async function withFlusherLock<T>(
  pool: pg.Pool,
  channel: string,
  work: () => Promise<T>,
): Promise<FlusherLockOutcome<T>> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(${FLUSHER_LOCK_KEY_SQL}) AS locked`,
      [channel],
    );
    if (rows[0]?.locked !== true) return { ran: false };
    try {
      return { ran: true, result: await work() };
    } finally {
      await client
        .query(`SELECT pg_advisory_unlock(${FLUSHER_LOCK_KEY_SQL})`, [channel])
        .catch((error: unknown) => {
          // The lock goes with the connection, which is discarded below.
          broken = error instanceof Error ? error : new Error(String(error));
        });
    }
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(broken);
  }
}

export const FLUSHER_LOCK_KEY_SQL = "hashtextextended('countersign.chat-flusher:' || $1, 0)";
