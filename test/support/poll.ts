// Bounded polling for tests that wait on background work (job queue, sweeper): checks a condition
// every `intervalMs` until it holds or `timeoutMs` passes, then fails with a message saying what
// was awaited and what was last seen. No timing is asserted; the bound only keeps a hang finite.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the failure message. */
  what?: string;
}

/** Calls `read` until `done(value)` holds; returns that value. */
export async function pollUntil<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 100, what = 'condition' }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      const seen = JSON.stringify(value) ?? String(value);
      throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}; last seen: ${seen.slice(0, 2000)}`);
    }
    await sleep(intervalMs);
  }
}
